//! Camera audio in live view, in a real browser: GStreamer RTSP cameras
//! with a 440 Hz tone in Opus, in G.711 µ-law and in AAC → `argus-relay` →
//! the api's SFU → headless Chromium (`/live-test`). Opus and G.711 must
//! play (the tab's audio track decodes samples at the codec's pace, and
//! hears the tone, not silence) beside the video; AAC, which browsers'
//! WebRTC lacks, must be left out with a note in the camera's status while
//! its video plays on.

mod common;

use common::browser::{live_viewer, watch, Audio, Watch};
use common::camera::{Camera, CameraOpts};
use common::rest::Admin;
use common::stack::{s3_endpoint, start_relay, Api};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use uuid::Uuid;

/// Seconds each watch measures over.
const WINDOW_SECS: u32 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opus_and_g711_play_in_chromium_and_aac_is_left_out_with_a_note() {
    let dir = common::scratch("chromium-audio");
    let cams: Vec<Camera> = ["opus", "pcmu", "aac"]
        .map(|codec| {
            Camera::start(CameraOpts {
                audio: Some(codec),
                ..CameraOpts::default()
            })
        })
        .into();
    let api = Api::start(&dir, &s3_endpoint()).await;
    let admin = Admin::new_tenant(&api.url, "listeners").await;
    let site = admin.site("gate").await;
    let (relay, code) = admin.relay(site, "gate relay").await;
    let relay_proc = start_relay(&dir.join("relay"), &api.url, Some(&code));
    admin.wait_enrolled(relay).await;
    let mut ids = vec![];
    for cam in &cams {
        ids.push(admin.camera(site, relay, &cam.url, json!({})).await);
    }
    let token = live_viewer(&admin, site, "ears@listeners.test", "listeners").await;

    for (id, mime, rate) in [
        (ids[0], "audio/opus", 48_000.0),
        (ids[1], "audio/PCMU", 8000.0),
    ] {
        let c = online(&admin, id).await;
        assert!(c["audio_note"].is_null(), "{mime} is played: no note ({c})");
        let w = watch_one(&api.url, id, &token, &dir, mime).await;
        let a = &w.viewers[0].audio;
        eprintln!("{mime}: {a:?}");
        assert_eq!(a.mime.as_deref(), Some(mime), "the codec Chromium decoded");
        assert_plays(a, mime, rate);
    }

    let aac = online(&admin, ids[2]).await;
    assert_eq!(aac["audio_codec"], "mpeg4-generic", "{aac}");
    let note = aac["audio_note"].as_str().unwrap_or("");
    assert!(
        note.starts_with("AAC audio is not played in live view"),
        "{aac}"
    );
    let w = watch_one(&api.url, ids[2], &token, &dir, "aac").await;
    let a = &w.viewers[0].audio;
    assert!(
        a.packets_per_sec == 0.0 && a.mime.is_none(),
        "AAC reached the browser: {a:?}"
    );

    let logs = format!("{}{}", api.logs(), relay_proc.output());
    assert!(!logs.contains(&token), "a log line shows the access token");
    // With an audio track the relay's connection has two senders: the push
    // must find the video's payload type whichever comes first.
    let bad: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("has no H.264"))
        .collect();
    assert!(
        bad.is_empty(),
        "a push with audio failed to find H.264: {bad:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Samples decode at about the codec's rate (`rate` per second), few of
/// them made up, and the tone is heard, not silence.
fn assert_plays(a: &Audio, mime: &str, rate: f64) {
    // A stalled track decodes nothing; a quarter of the rate allows for a
    // loaded 2-core machine.
    assert!(a.samples_per_sec > rate / 4.0, "{mime}: {a:?}");
    assert!(a.packets_per_sec > 2.0, "{mime}: {a:?}");
    assert!(a.concealed_share < 0.5, "{mime}: mostly concealed ({a:?})");
    // The camera's tone measures 0.6 or so here; silence is 0.
    assert!(
        a.power > 0.01,
        "{mime}: silence instead of the tone ({a:?})"
    );
}

/// One viewer watches `camera`; its video must play as in any live view.
async fn watch_one(api: &str, camera: Uuid, token: &str, dir: &Path, name: &str) -> Watch {
    let shot = dir.join(format!("{}.png", name.replace('/', "-")));
    let w = watch(api, camera, token, (WINDOW_SECS, 1), &shot).await;
    assert!(w.success, "watch.mjs failed for {name}: {}", w.stderr);
    let v = &w.viewers[0];
    assert_eq!(v.error, None, "{name}");
    assert_eq!(v.size, (640, 360), "{name}: frame size");
    assert!(v.fps >= 25.0 * 0.3, "{name}: video at {} fps", v.fps);
    w
}

/// The camera once its relay reports it online with its audio (60 s at most).
async fn online(admin: &Admin, camera: Uuid) -> Value {
    let path = format!("/api/v1/cameras/{camera}");
    for _ in 0..600 {
        let v = admin.req("get", &path, None, 200).await;
        if v["health_state"] == "online" && v["audio_codec"].is_string() {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("camera {camera} did not come online with its audio");
}

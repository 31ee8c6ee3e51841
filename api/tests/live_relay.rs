//! Live view through the real relay (`argus_relay::run` in this process,
//! recording its simulated camera) and the api's SFU: the relay pushes over
//! WHIP only once someone watches, three viewers share its one ingest
//! (`GET /api/v1/live/sessions` shows it), the push stops after the last
//! viewer left and does not come back by itself, and a relay killed during
//! a view comes back, is asked again, and the viewer's stream resumes; a
//! camera with no video to show (relay not connected, camera unreachable)
//! is a clear 503 that starts no push; every cold start begins at once.

mod common;
#[path = "live/peers.rs"]
mod peers;
#[path = "live/viewing.rs"]
mod viewing;
#[path = "live/with_relay.rs"]
mod with_relay;

use common::TestApp;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use viewing::watch;
use with_relay::{camera_stats, end, start_relay, wait_camera, Shared, Site};

struct Scene {
    app: TestApp,
    site: Site,
    dir: PathBuf,
    relay: JoinHandle<anyhow::Result<()>>,
}

async fn scene(slug: &str) -> Scene {
    scene_with(slug, |_| {}).await
}

async fn scene_with(slug: &str, tweak: impl FnOnce(&mut argus_api::Config)) -> Scene {
    scene_of(slug, with_relay::SIM, tweak).await
}

/// A tenant whose relay records one camera of `source` (a `sim://` URL).
async fn scene_of(slug: &str, source: &str, tweak: impl FnOnce(&mut argus_api::Config)) -> Scene {
    let shared = Shared::new();
    let app = TestApp::start_with(|c| {
        shared.apply(c);
        tweak(c);
    })
    .await;
    let site = with_relay::site_with(&app, slug, source).await;
    let dir = with_relay::relay_dir();
    let relay = start_relay(&app.base, &dir, Some(site.claim_code.clone()));
    with_relay::wait_online(&app, &site).await;
    Scene {
        app,
        site,
        dir,
        relay,
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        self.relay.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_relay_pushes_on_demand_to_one_ingest_for_three_viewers_and_stops_after() {
    let s = scene("live-relay-a").await;
    let (app, base, site) = (&s.app, s.app.base.as_str(), &s.site);
    let idle = camera_stats(app, base, site).await;
    assert!(
        idle.is_null() || idle["ingest_id"].is_null(),
        "an ingest before any viewer: {idle}"
    );

    let mut first = watch(app, &site.token, site.camera).await;
    first.peer.connected().await;
    let got = first.receive(60).await;
    let mut stamps: Vec<u32> = got.iter().map(|p| p.1).collect();
    stamps.dedup();
    assert!(
        stamps.len() >= 3,
        "whole frames flow, not one picture: {}",
        stamps.len()
    );
    let cam = wait_camera(app, base, site, "pushed", |c| c["ingest_id"].is_string()).await;
    let ingest = cam["ingest_id"].clone();

    let mut more = vec![];
    for _ in 0..2 {
        more.push(watch(app, &site.token, site.camera).await);
    }
    for v in &mut more {
        v.peer.connected().await;
        v.receive(60).await;
    }
    let cam = camera_stats(app, base, site).await;
    assert_eq!(cam["viewers"], 3, "{cam}");
    let count = |k: &str| cam[k].as_u64().unwrap_or_else(|| panic!("no {k}: {cam}"));
    assert!(
        count("packets_lost") + count("packets_late") < count("packets_received"),
        "{cam}"
    );
    assert_eq!(
        cam["ingest_id"], ingest,
        "a second ingest for the same camera: {cam}"
    );
    let stats = with_relay::stats(app, base, site).await;
    let sessions = stats["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3, "{stats}");
    assert!(
        sessions
            .iter()
            .all(|x| x["packets_sent"].as_u64() > Some(0)),
        "{stats}"
    );

    for v in std::iter::once(&first).chain(&more) {
        end(app, base, site, &v.session).await;
    }
    let stopped = |c: &serde_json::Value| c["ingest_id"].is_null() && c["push_requested"] == false;
    let cam = wait_camera(app, base, site, "stopped", stopped).await;
    assert_eq!(cam["viewers"], 0, "{cam}");

    // Nobody watches: the relay does not start again, nothing more arrives.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = camera_stats(app, base, site).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = camera_stats(app, base, site).await;
    assert!(
        after["ingest_id"].is_null(),
        "the relay pushed again: {after}"
    );
    assert_eq!(
        before["packets_received"], after["packets_received"],
        "{after}"
    );
    let sessions = with_relay::stats(app, base, site).await["sessions"].clone();
    assert_eq!(sessions, json!([]), "leaked sessions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_relay_killed_during_live_view_comes_back_and_the_view_resumes() {
    let mut s = scene("live-relay-b").await;
    let base = s.app.base.clone();
    let mut viewer = watch(&s.app, &s.site.token, s.site.camera).await;
    viewer.peer.connected().await;
    viewer.receive(30).await;
    let pushed = |c: &serde_json::Value| c["ingest_id"].is_string();
    let cam = wait_camera(&s.app, &base, &s.site, "pushed", pushed).await;
    let old_ingest = cam["ingest_id"].clone();

    // As kill -9 would: every task of the relay dies at once.
    s.relay.abort();
    let _ = (&mut s.relay).await;
    s.relay = start_relay(&base, &s.dir, None);

    let again = |c: &serde_json::Value| c["ingest_id"].is_string() && c["ingest_id"] != old_ingest;
    let cam = wait_camera(&s.app, &base, &s.site, "pushed again", again).await;
    assert_eq!(cam["viewers"], 1, "{cam}");
    viewer.drain();
    let mut fresh = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while fresh < 50 {
        let left = deadline.saturating_duration_since(Instant::now());
        let pkt = timeout(left, viewer.packets.recv()).await;
        assert!(
            pkt.is_ok(),
            "the view did not resume after the relay came back ({fresh} packets)"
        );
        fresh += 1;
    }

    end(&s.app, &base, &s.site, &viewer.session).await;
    wait_camera(&s.app, &base, &s.site, "stopped", |c| {
        c["ingest_id"].is_null()
    })
    .await;
    let sessions = with_relay::stats(&s.app, &base, &s.site).await["sessions"].clone();
    assert_eq!(sessions, json!([]), "leaked sessions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_cold_start_begins_at_the_keyframe_the_relay_asked_for() {
    // A keyframe every 10 s: a start that lost the relay's first keyframe
    // (its packets raced the cloud's SRTP keys) would wait for the next.
    let source = "sim://live-relay-cold?fps=25&size=320x240&gop=250";
    let s = scene_of("live-relay-e", source, |_| {}).await;
    let (app, base, site) = (&s.app, s.app.base.as_str(), &s.site);
    let stopped = |c: &serde_json::Value| c.is_null() || c["ingest_id"].is_null();
    let mut waits = vec![];
    for _ in 0..8 {
        let mut v = watch(app, &site.token, site.camera).await;
        v.peer.connected().await;
        let first = v.receive(1).await;
        waits.push(first[0].0 - v.joined);
        end(app, base, site, &v.session).await;
        wait_camera(app, base, site, "stopped", stopped).await;
    }
    eprintln!("first packet after a cold start: {waits:?}");
    // The relay asks the camera for a keyframe; the sim sends one at once.
    assert!(
        waits.iter().all(|w| *w < Duration::from_secs(3)),
        "a cold start waited for the camera's next keyframe: {waits:?}"
    );
}

/// A user of the tenant with the built-in `viewer` role; their token and binding.
async fn viewer_user(s: &Scene) -> (String, String) {
    let (app, t) = (&s.app, &s.site.token);
    let body = json!({ "email": "watcher@live-relay-c.test", "password": common::PASSWORD });
    let user = app.ok("post", "/api/v1/users", t, Some(body), 201).await;
    let roles = app.ok("get", "/api/v1/roles", t, None, 200).await;
    let roles = roles.as_array().cloned().unwrap_or_default();
    let role = roles
        .iter()
        .find(|r| r["name"] == "viewer")
        .expect("built-in viewer role");
    let body = json!({ "user_id": user["id"], "role_id": role["id"] });
    let binding = app
        .ok("post", "/api/v1/role-bindings", t, Some(body), 201)
        .await;
    let login = app
        .login(
            "watcher@live-relay-c.test",
            common::PASSWORD,
            Some("live-relay-c"),
        )
        .await;
    let token = login["access_token"].as_str().unwrap().to_string();
    (token, binding["id"].as_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revoking_access_ends_a_playing_view_and_session_limits_hold() {
    let s = scene_with("live-relay-c", |c| c.live.max_sessions_per_user = 2).await;
    let base = s.app.base.clone();
    let (token, binding) = viewer_user(&s).await;
    let mut viewer = watch(&s.app, &token, s.site.camera).await;
    viewer.peer.connected().await;
    viewer.receive(30).await;

    // The admin takes the role away while the video plays: the view ends.
    let path = format!("/api/v1/role-bindings/{binding}");
    s.app.ok("delete", &path, &s.site.token, None, 204).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let sessions = with_relay::stats(&s.app, &base, &s.site).await["sessions"].clone();
        if sessions == json!([]) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the view outlived its access: {sessions}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let audit = "/api/v1/audit?action=live.view.end";
    let audit = s.app.ok("get", audit, &s.site.token, None, 200).await;
    assert!(audit.to_string().contains("access_revoked"), "{audit}");

    // A viewer's offer that only sends, and a trickle without candidates: 400.
    let (mut peer, _rx) = peers::viewer().await;
    let offer = peer.offer().await.replace("a=recvonly", "a=sendonly");
    let whep = format!("/api/v1/cameras/{}/whep", s.site.camera);
    let ctype = "application/sdp";
    let (status, _, body) = viewing::post_sdp(&s.app, &whep, &s.site.token, ctype, offer).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("sendonly"), "{body}");

    // Two sessions per user here; the third is refused with 429.
    let mut held = vec![];
    for _ in 0..2 {
        held.push(watch(&s.app, &s.site.token, s.site.camera).await);
    }
    let res = s
        .app
        .http
        .patch(format!("{base}{}", held[0].session))
        .bearer_auth(&s.site.token)
        .header("content-type", "application/trickle-ice-sdpfrag")
        .body("garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    let (mut peer, _rx) = peers::viewer().await;
    let offer = peer.offer().await;
    let (status, _, body) = viewing::post_sdp(&s.app, &whep, &s.site.token, ctype, offer).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("\"error\""), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_video_to_show_is_a_clear_503_and_starts_no_push() {
    let shared = Shared::new();
    let app = TestApp::start_with(|c| shared.apply(c)).await;
    let site = with_relay::site(&app, "live-relay-d").await;
    let base = app.base.clone();
    let whep = format!("/api/v1/cameras/{}/whep", site.camera);
    let ctype = "application/sdp";

    // The relay never connected: nothing could be shown.
    let (mut peer, _rx) = peers::viewer().await;
    let offer = peer.offer().await;
    let (status, _, body) = viewing::post_sdp(&app, &whep, &site.token, ctype, offer).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("relay is not connected"), "{body}");
    let live = with_relay::stats(&app, &base, &site).await;
    assert_eq!(
        live["cameras"],
        json!([]),
        "a refused viewer started a push: {live}"
    );

    // The relay is up, but a camera it cannot reach says why.
    let dir = with_relay::relay_dir();
    let relay = start_relay(&base, &dir, Some(site.claim_code.clone()));
    with_relay::wait_online(&app, &site).await;
    let cam_path = format!("/api/v1/cameras/{}", site.camera);
    let cam = app.ok("get", &cam_path, &site.token, None, 200).await;
    let body = json!({ "site_id": cam["site_id"], "name": "unplugged",
        "relay_id": cam["relay_id"], "source_url": "rtsp://127.0.0.1:9/nothing" });
    let dead = app
        .ok("post", "/api/v1/cameras", &site.token, Some(body), 201)
        .await;
    let dead_path = format!("/api/v1/cameras/{}", dead["id"].as_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.ok("get", &dead_path, &site.token, None, 200).await["health_state"] != "offline" {
        assert!(
            Instant::now() < deadline,
            "the unreachable camera was never reported offline"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (mut peer, _rx) = peers::viewer().await;
    let offer = peer.offer().await;
    let dead_whep = format!("{dead_path}/whep");
    let (status, _, body) = viewing::post_sdp(&app, &dead_whep, &site.token, ctype, offer).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("cannot reach the camera"), "{body}");

    // The camera that can be shown is: the same request now gets its answer.
    let mut viewer = watch(&app, &site.token, site.camera).await;
    viewer.peer.connected().await;
    viewer.receive(10).await;
    relay.abort();
    let _ = std::fs::remove_dir_all(&dir);
}

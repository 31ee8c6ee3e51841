//! A real RTSP camera (GStreamer, `tests/camera/rtsp_camera.py`) through
//! retina and the recorder: H.264 with several slices per frame, H.265,
//! parameter sets only in-band, Basic auth whose password never reaches a
//! log line, and a camera that dies and comes back.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use argus_relay::segment::RecorderEvent;
use common::*;

/// Everything any test in this binary logged, at every level.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buf.clone());
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .init();
        buf
    })
    .clone()
}

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Records `n` segments from a camera started with `args`, checks the
/// invariants and returns what ffprobe says of the concatenation.
async fn record_and_probe(args: &[&str], creds: Option<&str>, n: usize) -> (Probe, Recording) {
    let cam = RtspCamera::start(args).await;
    let mut rec = start(camera(&cam.url, 1), creds, fast_options());
    rec.until(Duration::from_secs(30), |ev| media_count(ev) >= n)
        .await;
    rec.task.abort();

    check_invariants(&rec.events);
    let dir = tempfile::tempdir().unwrap();
    let segs = rec.media();
    let path = write_run(dir.path(), rec.inits()[0], &segs);
    let p = probe(&path);
    let recorded = recorded_secs(&segs);
    assert!(
        (p.duration - recorded).abs() < 0.15,
        "plays {} s of {recorded} s",
        p.duration
    );
    (p, rec)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_multi_slice_camera_records_playable_segments() {
    captured_logs();
    let args = [
        "--port", "0", "--codec", "h264", "--size", "640x360", "--gop", "25", "--slices", "4",
    ];
    let (p, _) = record_and_probe(&args, None, 3).await;
    assert_eq!((p.codec.as_str(), p.width, p.height), ("h264", 640, 360));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h265_camera_records_playable_segments_cut_at_irap_frames() {
    captured_logs();
    let args = [
        "--port", "0", "--codec", "h265", "--size", "320x240", "--gop", "25",
    ];
    let (p, rec) = record_and_probe(&args, None, 3).await;
    assert_eq!((p.codec.as_str(), p.width, p.height), ("hevc", 320, 240));
    for s in rec.media() {
        let ms = (s.end - s.start).num_milliseconds();
        assert!(
            ms < 2_500,
            "keyframes recognised every second, segment of {ms} ms"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameters_only_in_band_still_record() {
    captured_logs();
    let args = [
        "--port",
        "0",
        "--codec",
        "h264",
        "--size",
        "320x240",
        "--gop",
        "25",
        "--no-sprop",
    ];
    let (p, _) = record_and_probe(&args, None, 2).await;
    assert_eq!((p.codec.as_str(), p.width, p.height), ("h264", 320, 240));
    let text = String::from_utf8_lossy(&captured_logs().lock().unwrap()).to_string();
    assert!(
        text.contains("waiting for in-band"),
        "the SDP really had no parameter sets"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_protected_camera_records_and_never_logs_the_password() {
    let logs = captured_logs();
    let password = "Xy9-s3cret:p@ss";
    let args = [
        "--port",
        "0",
        "--size",
        "320x240",
        "--gop",
        "25",
        "--user",
        "admin",
        "--password",
        password,
    ];

    // Wrong password first: refused, retried, reported, never logged.
    let cam = RtspCamera::start(&args).await;
    let bad = start(camera(&cam.url, 1), Some("admin:wrong-Zq7"), fast_options());
    let mut health = bad.health.clone();
    let offline = health.wait_for(|h| h.error.as_deref().is_some_and(|e| e.contains("401")));
    tokio::time::timeout(Duration::from_secs(15), offline)
        .await
        .expect("401 reported")
        .unwrap();
    bad.task.abort();
    drop(cam);

    let (p, _) = record_and_probe(&args, Some(&format!("admin:{password}")), 2).await;
    assert_eq!(p.codec, "h264");

    // Credentials percent-encoded in the URL itself work too; a dead camera
    // with such a URL is logged with the userinfo redacted.
    let cam = RtspCamera::start(&args).await;
    let url = cam
        .url
        .replace("rtsp://", "rtsp://admin:Xy9-s3cret%3Ap%40ss@");
    let mut rec = start(camera(&url, 1), None, fast_options());
    rec.until(Duration::from_secs(20), |ev| media_count(ev) >= 1)
        .await;
    drop(cam);
    let mut health = rec.health.clone();
    let offline = health.wait_for(|h| h.state == argus_core::wire::control::CameraState::Offline);
    tokio::time::timeout(Duration::from_secs(20), offline)
        .await
        .expect("offline seen")
        .unwrap();
    rec.task.abort();

    let text = String::from_utf8_lossy(&logs.lock().unwrap()).to_string();
    assert!(
        text.contains("camera online"),
        "the layer captured the recorder's logs"
    );
    assert!(
        text.contains("rtsp://[redacted]@127.0.0.1"),
        "the offline line shows a redacted url"
    );
    for needle in [password, "Xy9-s3cret", "Xy9-s3cret%3Ap%40ss", "wrong-Zq7"] {
        assert!(!text.contains(needle), "{needle} leaked into the logs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camera_restart_reconnects_with_a_gap_and_a_new_run() {
    captured_logs();
    let cam = RtspCamera::start(&["--port", "0", "--size", "320x240", "--gop", "25"]).await;
    let port = cam.port();
    let mut rec = start(camera(&cam.url, 1), None, fast_options());
    rec.until(Duration::from_secs(20), |ev| media_count(ev) >= 2)
        .await;

    cam.kill().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _cam = RtspCamera::start(&["--port", &port, "--size", "320x240", "--gop", "25"]).await;
    let before = rec.events.len();
    rec.until(Duration::from_secs(30), |ev| {
        media_count(&ev[before.min(ev.len())..]) >= 2
    })
    .await;
    rec.task.abort();

    check_invariants(&rec.events);
    let gaps = rec.gaps();
    assert_eq!(gaps.len(), 1, "one outage, one gap");
    assert_eq!(gaps[0].reason, "camera_offline");
    assert!((gaps[0].end - gaps[0].start).num_milliseconds() >= 1_500);
    let runs: std::collections::HashSet<_> = rec.media().iter().map(|m| m.run_id).collect();
    assert_eq!(runs.len(), 2, "the reconnect starts a new run");
    let first_after = rec.events[before..]
        .iter()
        .position(|e| matches!(e, RecorderEvent::Media(_)));
    assert!(first_after.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camera_with_audio_records_its_video() {
    captured_logs();
    let args = ["--port", "0", "--size", "320x240", "--gop", "25", "--audio"];
    let (p, _) = record_and_probe(&args, None, 2).await;
    assert_eq!((p.codec.as_str(), p.width, p.height), ("h264", 320, 240));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtp_over_udp_records() {
    captured_logs();
    let cam = RtspCamera::start(&["--port", "0", "--size", "320x240", "--gop", "25"]).await;
    let url = cam.url.replace("rtsp://", "rtspu://");
    let mut rec = start(camera(&url, 1), None, fast_options());
    rec.until(Duration::from_secs(20), |ev| media_count(ev) >= 2)
        .await;
    rec.task.abort();

    check_invariants(&rec.events);
    let dir = tempfile::tempdir().unwrap();
    let p = probe(&write_run(dir.path(), rec.inits()[0], &rec.media()));
    assert_eq!(p.codec, "h264");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_without_video_is_reported_and_retried() {
    captured_logs();
    let cam = RtspCamera::start(&["--port", "0", "--no-video"]).await;
    let mut rec = start(camera(&cam.url, 1), None, fast_options());
    let mut health = rec.health.clone();
    let reported = health.wait_for(|h| h.error.as_deref().is_some_and(|e| e.contains("no H.264")));
    tokio::time::timeout(Duration::from_secs(15), reported)
        .await
        .expect("reported")
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    rec.task.abort();

    while let Ok(ev) = rec.rx.try_recv() {
        rec.events.push(ev);
    }
    assert!(
        rec.events.is_empty(),
        "nothing recorded from an audio-only stream"
    );
    let text = String::from_utf8_lossy(&captured_logs().lock().unwrap()).to_string();
    assert!(
        text.matches("offered: audio/pcmu").count() >= 2,
        "retried with backoff"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camera_not_up_at_start_is_retried_until_it_is() {
    captured_logs();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("rtsp://127.0.0.1:{port}/cam");
    let mut rec = start(camera(&url, 1), None, fast_options());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        rec.health.borrow().state,
        argus_core::wire::control::CameraState::Offline
    );

    let port = port.to_string();
    let _cam = RtspCamera::start(&["--port", &port, "--size", "320x240", "--gop", "25"]).await;
    rec.until(Duration::from_secs(20), |ev| media_count(ev) >= 1)
        .await;
    rec.task.abort();

    check_invariants(&rec.events);
    let gaps = rec.gaps();
    assert_eq!(
        gaps.len(),
        1,
        "the time before the first connection is a gap"
    );
    assert_eq!(gaps[0].reason, "camera_offline");
}

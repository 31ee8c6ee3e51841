//! The recording path end to end, every part real and in its own
//! process: a GStreamer RTSP camera with a password → `argus-relay` →
//! `argus api` on PostgreSQL → an S3 server. The catalog must list
//! contiguous segments that ffprobe reads as the camera's video, the
//! bucket must hold only ciphertext, and no log line may show the camera
//! password or the claim code.

mod common;

use common::camera::{Camera, CameraOpts};
use common::catalog::{assert_no_overlap_or_duplicate, holes, segments, Seg};
use common::media::{decode_frames, get_object, list_objects, looks_like_mp4, probe, strip_init};
use common::rest::Admin;
use common::stack::{s3_endpoint, start_relay, Api};
use serde_json::json;
use std::time::{Duration, Instant};
use uuid::Uuid;

const CAMERA_PASSWORD: &str = "pa ss/wörd@123";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_camera_is_recorded_encrypted_into_s3() {
    let dir = common::scratch("e2e");
    let opts = CameraOpts {
        user: Some(("operator", CAMERA_PASSWORD)),
        ..CameraOpts::default()
    };
    let cam = Camera::start(opts);
    let api = Api::start(&dir, &s3_endpoint()).await;
    let admin = Admin::new_tenant(&api.url, "acme").await;

    let site = admin.site("hq").await;
    let (relay, code) = admin.relay(site, "hq relay").await;
    let relay_proc = start_relay(&dir.join("relay"), &api.url, Some(&code));
    admin.wait_enrolled(relay).await;
    let creds = json!({ "username": "operator", "password": CAMERA_PASSWORD });
    let camera = admin.camera(site, relay, &cam.url, creds).await;

    let segs = wait_for_segments(&admin, camera, 6, Duration::from_secs(90)).await;
    assert_no_overlap_or_duplicate(&segs);
    assert!(holes(&segs, 1).is_empty(), "holes in {segs:#?}");
    assert!(
        segs.iter().all(|s| s.run_id == segs[0].run_id),
        "one run expected"
    );

    check_video(&admin, camera, &segs, &dir).await;
    check_bucket_is_ciphertext(&api).await;

    let logs = format!("{}{}", api.logs(), relay_proc.output());
    for secret in [CAMERA_PASSWORD, "pa%20ss", &code] {
        assert!(!logs.contains(secret), "a log line shows {secret:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Polls the catalog until it lists `n` segments.
async fn wait_for_segments(admin: &Admin, camera: Uuid, n: usize, within: Duration) -> Vec<Seg> {
    let deadline = Instant::now() + within;
    loop {
        let segs = segments(&admin.catalog(camera).await);
        if segs.len() >= n {
            return segs;
        }
        assert!(
            Instant::now() < deadline,
            "only {} segments after {within:?}",
            segs.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Each segment is an MP4 of the camera's codec and size; all of them
/// together decode for as long as the catalog says they cover.
async fn check_video(admin: &Admin, camera: Uuid, segs: &[Seg], dir: &std::path::Path) {
    let mut joined = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        let mp4 = admin.segment_mp4(camera, &s.id).await;
        let file = dir.join(format!("seg{i}.mp4"));
        std::fs::write(&file, &mp4).unwrap();
        let p = probe(&file);
        assert_eq!((p.codec.as_str(), p.width, p.height), ("h264", 640, 360));
        if i == 0 {
            joined.extend_from_slice(&mp4);
        } else {
            joined.extend_from_slice(strip_init(&mp4));
        }
    }

    let file = dir.join("all.mp4");
    std::fs::write(&file, &joined).unwrap();
    let covered = (segs.last().unwrap().end - segs[0].start).num_milliseconds() as f64 / 1000.0;
    let frames = decode_frames(&file) as f64;
    assert!(
        (frames / 25.0 - covered).abs() < 0.5,
        "{frames} frames for {covered} s"
    );
    let p = probe(&file);
    assert!(
        (p.duration - covered).abs() < 0.5,
        "plays {} s, catalog says {covered} s",
        p.duration
    );
}

/// Every object in the bucket is ciphertext: nothing an MP4 parser reads.
async fn check_bucket_is_ciphertext(api: &Api) {
    let keys = list_objects(&s3_endpoint(), &api.bucket).await;
    assert!(
        keys.iter().any(|k| k.contains("/init/")),
        "no init segment in {keys:?}"
    );
    assert!(keys.iter().filter(|k| k.contains("/media/")).count() >= 6);
    for key in keys {
        let raw = get_object(&s3_endpoint(), &api.bucket, &key).await;
        assert!(!looks_like_mp4(&raw), "{key} is readable as MP4");
    }
}

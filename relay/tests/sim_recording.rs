//! The simulated camera through the recorder: the segments on disk are real
//! H.264 fMP4 that ffprobe reads and ffmpeg decodes for the recorded
//! duration; a wall-clock step ends the run and opens a new one after a gap,
//! never overlapping.

mod common;

use std::time::Duration;

use argus_relay::recorder::RecorderOptions;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_camera_records_playable_contiguous_h264() {
    let cam = camera("sim://lobby?fps=25&size=320x240&gop=25", 1);
    let mut rec = start(cam.clone(), None, RecorderOptions::default());
    rec.until(Duration::from_secs(20), |ev| media_count(ev) >= 5)
        .await;
    rec.task.abort();

    check_invariants(&rec.events);
    let inits = rec.inits();
    assert_eq!(inits.len(), 1, "one run, one init");
    assert_eq!(inits[0].info.width, 320);
    let segs = rec.media();
    assert!(segs.iter().all(|s| s.run_id == segs[0].run_id));
    for s in &segs {
        let secs = (s.end - s.start).num_milliseconds();
        assert!(
            (1000..=1100).contains(&secs),
            "a 1 s target at gop 1 s: {secs} ms"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let path = write_run(dir.path(), inits[0], &segs);
    let p = probe(&path);
    assert_eq!((p.codec.as_str(), p.width, p.height), ("h264", 320, 240));
    let recorded = recorded_secs(&segs);
    assert!(
        (p.duration - recorded).abs() < 0.1,
        "plays {} s of {recorded} s",
        p.duration
    );

    let h = rec.health.borrow().clone();
    assert_eq!(h.state, argus_core::wire::control::CameraState::Online);
    assert_eq!(h.codec.as_deref(), Some("h264"));
    assert!(h.bitrate_bps > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wall_clock_step_starts_a_new_run_after_a_gap() {
    let cam = camera("sim://clock?fps=25&size=320x240&gop=25", 1);
    let opts = RecorderOptions::default();
    let clock = opts.clock.clone();
    let mut rec = start(cam, None, opts);
    rec.until(Duration::from_secs(20), |ev| media_count(ev) >= 2)
        .await;

    clock.step(3_600_000_000);
    rec.until(Duration::from_secs(20), |ev| {
        ev.iter()
            .any(|e| matches!(e, argus_relay::segment::RecorderEvent::Gap(_)))
            && media_count(ev) >= 5
    })
    .await;
    rec.task.abort();

    check_invariants(&rec.events);
    let gaps = rec.gaps();
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0].reason, "clock_jump");
    assert!((gaps[0].end - gaps[0].start).num_minutes() >= 59);
    let runs: std::collections::HashSet<_> = rec.media().iter().map(|m| m.run_id).collect();
    assert_eq!(runs.len(), 2);
    assert_eq!(rec.inits().len(), 2, "every run announces its init");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segment_ids_are_deterministic_from_camera_and_start() {
    let cam = camera("sim://ids?fps=25&size=320x240&gop=25", 1);
    let mut rec = start(cam.clone(), None, RecorderOptions::default());
    rec.until(Duration::from_secs(20), |ev| media_count(ev) >= 2)
        .await;
    rec.task.abort();

    let segs = rec.media();
    let again = argus_core::wire::ids::segment_id(cam.id, segs[1].start_us());
    assert_eq!(segs[1].id, again);
    assert_ne!(segs[0].id, segs[1].id);
    let init_again = argus_relay::segment::InitSegment::new(
        cam.id,
        rec.inits()[0].info,
        rec.inits()[0].bytes.clone(),
    );
    assert_eq!(
        init_again.id,
        rec.inits()[0].id,
        "same parameters, same init id"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camera_timestamp_jumps_keep_one_contiguous_playable_run() {
    for jump in ["-3600", "7200"] {
        let url = format!("sim://tsjump?fps=25&size=320x240&gop=25&ts_jump={jump}");
        let mut rec = start(camera(&url, 1), None, RecorderOptions::default());
        rec.until(Duration::from_secs(20), |ev| media_count(ev) >= 4)
            .await;
        rec.task.abort();

        check_invariants(&rec.events);
        assert!(rec.gaps().is_empty(), "a camera clock jump is no outage");
        let segs = rec.media();
        assert!(segs.iter().all(|s| s.run_id == segs[0].run_id), "one run");
        let dir = tempfile::tempdir().unwrap();
        let p = probe(&write_run(dir.path(), rec.inits()[0], &segs));
        let recorded = recorded_secs(&segs);
        assert!(
            (p.duration - recorded).abs() < 0.1,
            "jump {jump}: plays {} s of {recorded} s",
            p.duration
        );
        assert!(
            recorded < 6.0,
            "jump {jump}: media time did not follow the jump"
        );
    }
}

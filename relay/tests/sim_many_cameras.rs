//! Hundreds of simulated cameras in one process all record: the clip is
//! encoded once and replayed. The CPU share is printed for information
//! only (timing is measured by `bench/relay_streams.sh`, never asserted).

mod common;

use std::time::{Duration, Instant};

use argus_relay::recorder::RecorderOptions;
use common::*;

/// CPU time (user + system) this process has used so far.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_sim_cameras_all_record() {
    let n = 500;
    // Encode the shared clip before measuring.
    let mut warm = start(
        camera("sim://bench?fps=25&size=640x360&gop=50", 2),
        None,
        RecorderOptions::default(),
    );
    warm.until(Duration::from_secs(20), |ev| !ev.is_empty())
        .await;

    let (cpu0, wall0) = (cpu_time(), Instant::now());
    let mut recs: Vec<_> = (0..n)
        .map(|i| {
            start(
                camera(&format!("sim://cam{i}?fps=25&size=640x360&gop=50"), 2),
                None,
                RecorderOptions::default(),
            )
        })
        .collect();
    let mut segments = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(7);
    while tokio::time::Instant::now() < deadline {
        for r in recs.iter_mut() {
            while let Ok(ev) = r.rx.try_recv() {
                segments +=
                    usize::from(matches!(ev, argus_relay::segment::RecorderEvent::Media(_)));
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (cpu, wall) = (cpu_time() - cpu0, wall0.elapsed());
    recs.iter().for_each(|r| r.task.abort());

    let share = cpu.as_secs_f64() / wall.as_secs_f64();
    println!(
        "{n} sim cameras: {segments} segments, {:.0}% of one core",
        share * 100.0
    );
    assert!(segments >= n * 2, "every camera cut segments: {segments}");
}

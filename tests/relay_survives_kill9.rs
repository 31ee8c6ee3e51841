//! The relay is killed with SIGKILL while it backfills a backlog, then
//! started again on the same state dir. Every segment that was in its
//! spool reaches the catalog exactly once, the segments around the
//! restart never overlap, and the hole the restart leaves is reported as a
//! `relay_restart` gap.

mod common;

use chrono::Utc;
use common::catalog::{assert_no_overlap_or_duplicate, holes};
use common::setup::Recording;
use std::collections::HashSet;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_relay_loses_and_duplicates_nothing() {
    let mut rec = Recording::start("kill9").await;
    rec.wait_until(Duration::from_secs(60), |s| s.len() >= 2)
        .await;

    // Build a backlog, then kill the relay while it uploads it.
    rec.s3_link.cut();
    tokio::time::sleep(Duration::from_secs(16)).await;
    rec.s3_link.restore();
    tokio::time::sleep(Duration::from_millis(300)).await;
    rec.relay.kill9();
    let spooled: HashSet<String> = rec.spooled_segment_ids().into_iter().collect();
    assert!(
        spooled.len() >= 3,
        "only {} segments spooled",
        spooled.len()
    );

    rec.restart_relay();
    let restarted_at = Utc::now();
    let segs = rec
        .wait_until(Duration::from_secs(90), |s| {
            let ids: HashSet<&str> = s.iter().map(|x| x.id.as_str()).collect();
            spooled.iter().all(|id| ids.contains(id.as_str()))
                && s.last()
                    .is_some_and(|l| l.start > restarted_at + chrono::Duration::seconds(4))
        })
        .await;

    assert_no_overlap_or_duplicate(&segs);
    // The only hole is the restart itself: the segment being recorded at
    // the kill, and the seconds until the camera is pulled again.
    let h = holes(&segs, 1);
    assert_eq!(h.len(), 1, "one hole expected, at the restart: {h:?}");
    if let Some((from, to)) = h.first() {
        assert!(
            (*to - *from).num_seconds() < 20,
            "hole {from}..{to} too long"
        );
    }
    let runs: HashSet<&str> = segs.iter().map(|s| s.run_id.as_str()).collect();
    assert!(runs.len() <= 2, "{} runs for one restart", runs.len());
}

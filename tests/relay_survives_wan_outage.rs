//! The WAN between relay and cloud goes down for two minutes while a
//! camera records (`TEST_OUTAGE_SECS` shortens it for a quick local
//! run). The relay keeps recording into its spool and backfills when the
//! link returns: afterwards the catalog covers the outage with no hole
//! and no gap, in one recording run.

mod common;

use chrono::Utc;
use common::catalog::{assert_no_overlap_or_duplicate, holes};
use common::setup::Recording;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_backfills_every_segment_of_a_wan_outage() {
    let outage: u64 = std::env::var("TEST_OUTAGE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    let rec = Recording::start("wan").await;
    rec.wait_until(Duration::from_secs(60), |s| s.len() >= 3)
        .await;

    rec.cloud_link.cut();
    rec.s3_link.cut();
    let cut_at = Utc::now();
    tokio::time::sleep(Duration::from_secs(outage)).await;
    let during = rec.segments().await;
    assert!(
        during
            .iter()
            .all(|s| s.start < cut_at + chrono::Duration::seconds(3)),
        "segments arrived through a cut link"
    );
    assert!(
        !rec.spooled_segment_ids().is_empty(),
        "nothing spooled during the outage"
    );

    rec.cloud_link.restore();
    rec.s3_link.restore();
    let back_at = Utc::now();
    let segs = rec
        // Backfilling a 2-minute outage takes seconds; minutes on a loaded machine.
        .wait_until(Duration::from_secs(300), |s| {
            s.last()
                .is_some_and(|l| l.start > back_at + chrono::Duration::seconds(4))
                && holes(s, 1).is_empty()
        })
        .await;

    assert_no_overlap_or_duplicate(&segs);
    assert!(
        segs.iter().all(|s| s.run_id == segs[0].run_id),
        "the outage split the run"
    );
    let covering = segs
        .iter()
        .filter(|s| s.start >= cut_at && s.end <= back_at)
        .count();
    assert!(
        covering as u64 >= outage / 2 - 2,
        "{covering} segments cover a {outage} s outage"
    );
    assert!(
        rec.gaps().await.is_empty(),
        "gaps reported: {:?}",
        rec.gaps().await
    );
}

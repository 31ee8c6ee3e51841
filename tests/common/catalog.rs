//! Reading the recording catalog the way an operator would check it:
//! which spans are covered, whether any two segments overlap.

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashSet;

/// One catalog entry.
#[derive(Clone, Debug)]
pub struct Seg {
    pub id: String,
    pub run_id: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The segments of a catalog response, by start time.
pub fn segments(catalog: &Value) -> Vec<Seg> {
    let list = catalog["segments"]
        .as_array()
        .unwrap_or_else(|| panic!("no segments in {catalog}"));
    let mut segs: Vec<Seg> = list
        .iter()
        .map(|s| Seg {
            id: s["id"].as_str().unwrap().to_string(),
            run_id: s["run_id"].as_str().unwrap().to_string(),
            start: s["start"].as_str().unwrap().parse().unwrap(),
            end: s["end"].as_str().unwrap().parse().unwrap(),
        })
        .collect();
    segs.sort_by_key(|s| s.start);
    segs
}

/// Panics if two segments share an id or overlap in time.
pub fn assert_no_overlap_or_duplicate(segs: &[Seg]) {
    let ids: HashSet<&str> = segs.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids.len(), segs.len(), "duplicate segment ids");
    for w in segs.windows(2) {
        assert!(w[0].end > w[0].start, "empty segment {:?}", w[0]);
        assert!(
            w[1].start >= w[0].end,
            "overlapping segments {:?} and {:?}",
            w[0],
            w[1]
        );
    }
}

/// Spans between consecutive segments longer than `tolerance_ms`.
pub fn holes(segs: &[Seg], tolerance_ms: i64) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    segs.windows(2)
        .filter(|w| (w[1].start - w[0].end).num_milliseconds() > tolerance_ms)
        .map(|w| (w[0].end, w[1].start))
        .collect()
}

//! How far each camera has been recorded, kept across relay restarts, so
//! the time a relay was down (crash, kill -9, upgrade, power cut) shows in
//! the catalog as a `relay_restart` gap instead of an unexplained hole.
//!
//! One small file per camera, `<state>/recorded/<camera id>`, holding the
//! end (microseconds since the Unix epoch) of its last spooled media
//! segment. Written tmp + rename after each segment; not fsynced, so a
//! power cut may leave an older value: the gap then starts earlier than
//! it should, which still never hides a hole.
//!
//! Clones share the set of cameras already checked, so the ingest lanes
//! can each hold one.

use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// Reason of the gap a relay restart leaves.
pub const REASON: &str = "relay_restart";

/// Per-camera recording ends, on disk.
#[derive(Clone)]
pub struct Continuity {
    dir: PathBuf,
    /// Cameras already checked since this process started.
    seen: Arc<Mutex<HashSet<Uuid>>>,
}

impl Continuity {
    /// Keeps its files under `state_dir/recorded`.
    pub fn new(state_dir: &std::path::Path) -> Self {
        let dir = state_dir.join("recorded");
        // Created once here; `recorded_until` creates it again if it went.
        let _ = fs::create_dir_all(&dir);
        Self {
            dir,
            seen: Arc::default(),
        }
    }

    /// For the first recording of `camera` in this process, starting at
    /// `start`: the span since its last recording before the restart, if
    /// any. `None` on later calls.
    pub fn restart_gap(
        &self,
        camera: Uuid,
        start: DateTime<Utc>,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.seen.lock().expect("continuity lock").insert(camera) {
            return None;
        }
        let text = fs::read_to_string(self.dir.join(camera.to_string())).ok()?;
        let until = DateTime::from_timestamp_micros(text.trim().parse().ok()?)?;
        (start > until).then_some((until, start))
    }

    /// Records that `camera` has been recorded up to `end`.
    pub fn recorded_until(&self, camera: Uuid, end: DateTime<Utc>) {
        let path = self.dir.join(camera.to_string());
        let tmp = path.with_extension("tmp");
        let text = end.timestamp_micros().to_string();
        let write = || fs::write(&tmp, &text).and_then(|_| fs::rename(&tmp, &path));
        let write = write().or_else(|_| fs::create_dir_all(&self.dir).and_then(|_| write()));
        if let Err(e) = write {
            tracing::warn!(camera.id = %camera, error = %e, "cannot record how far the camera is recorded");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_restart_reports_the_span_since_the_last_segment_once() {
        let dir = std::env::temp_dir().join(format!("argus-cont-{}", Uuid::new_v4()));
        let cam = Uuid::from_u128(9);
        let t = |s: i64| Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap();

        let first = Continuity::new(&dir);
        assert_eq!(first.restart_gap(cam, t(0)), None, "nothing recorded yet");
        first.recorded_until(cam, t(4));

        let again = Continuity::new(&dir);
        assert_eq!(again.restart_gap(cam, t(10)), Some((t(4), t(10))));
        assert_eq!(
            again.restart_gap(cam, t(20)),
            None,
            "only the first recording"
        );

        let contiguous = Continuity::new(&dir);
        assert_eq!(contiguous.restart_gap(cam, t(4)), None);
        let _ = fs::remove_dir_all(&dir);
    }
}

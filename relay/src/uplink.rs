//! The upload loop: spool → slot → PUT → commit → removed from the spool.
//!
//! Order: each camera's newest segment goes first, so live recording never
//! waits behind a backlog; the rest of the backlog drains in parallel,
//! oldest first. An init segment is uploaded before any media that names
//! it, and committed in the same batch or an earlier one. Commits are
//! batched and strictly sequential; a failed call is retried with capped
//! exponential backoff and jitter.
//!
//! Invariant: an entry leaves the spool only after its commit succeeded.
//! Ids are deterministic and the api treats a repeated commit as a no-op,
//! so repeating any step after a crash is harmless.

use crate::cloud::{Cloud, CloudError};
use crate::spool::{Entry, Item, Spool};
use argus_core::wire::recording::{CommitRequest, ObjectKind, SlotRequest};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;
use uuid::Uuid;

/// Longest the loop sleeps without a wake-up (gaps are committed then).
const IDLE: Duration = Duration::from_secs(2);

/// How the uplink works.
#[derive(Clone, Copy, Debug)]
pub struct UplinkOptions {
    /// Uploads in flight at once; 0 picks [`auto_parallel`] of the cameras.
    pub parallel: usize,
    /// Most objects per commit.
    pub commit_batch: usize,
    /// Longest wait between retries.
    pub retry_max: Duration,
}

/// Where an entry the uplink works on stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Uploading,
    /// In object storage, not yet committed.
    Uploaded,
}

/// Uploads in flight for `cameras` cameras when not set: one per 8
/// cameras, at least 4 and at most 64. Each camera adds a segment every
/// few seconds, so this keeps up while one upload (slot, PUT) takes up to
/// about an eighth of the segment length per camera in flight, e.g. half
/// a second with 4 s segments.
pub fn auto_parallel(cameras: usize) -> usize {
    (cameras / 8).clamp(4, 64)
}

/// Uploads and commits what the spool holds, forever; `wake` is notified
/// whenever something is pushed.
pub async fn run(cloud: Cloud, spool: Arc<Spool>, wake: Arc<Notify>, opts: UplinkOptions) {
    let mut uplink = Uplink {
        batch_limit: opts.commit_batch.max(1),
        backoff: Backoff::new(opts.retry_max),
        cloud,
        spool,
        opts,
        states: HashMap::new(),
        tasks: JoinSet::new(),
        paused_until: Instant::now(),
    };
    loop {
        uplink.step(&wake).await;
    }
}

struct Uplink {
    cloud: Cloud,
    spool: Arc<Spool>,
    opts: UplinkOptions,
    states: HashMap<u64, State>,
    tasks: JoinSet<(u64, Result<(), UploadError>)>,
    backoff: Backoff,
    paused_until: Instant,
    batch_limit: usize,
}

impl Uplink {
    async fn step(&mut self, wake: &Notify) {
        let entries = self.spool.entries();
        if Instant::now() >= self.paused_until {
            self.start_uploads(&entries);
        }

        let batch = commit_batch(&entries, &self.states, self.batch_limit);
        let full = batch.len() >= self.batch_limit;
        if !batch.is_empty()
            && (full || self.tasks.is_empty())
            && Instant::now() >= self.paused_until
        {
            return self.commit(&entries, batch).await;
        }

        tokio::select! {
            Some(done) = self.tasks.join_next() => self.finished(done),
            _ = wake.notified() => {}
            _ = tokio::time::sleep_until(self.paused_until.max(Instant::now() + IDLE)) => {}
        }
        // Take every other finished upload too, so the next step (which
        // reads the whole spool index) serves them all at once.
        while let Some(done) = self.tasks.try_join_next() {
            self.finished(done);
        }
    }

    fn start_uploads(&mut self, entries: &[Entry]) {
        let parallel = match self.opts.parallel {
            0 => auto_parallel(self.spool.cameras()),
            n => n,
        };
        let room = parallel.saturating_sub(self.tasks.len());
        if room == 0 {
            return;
        }
        let picked: HashSet<u64> = self
            .spool
            .lease(&plan(entries, &self.states, room))
            .into_iter()
            .collect();
        for entry in entries.iter().filter(|e| picked.contains(&e.seq)) {
            self.states.insert(entry.seq, State::Uploading);
            let (cloud, spool, entry) = (self.cloud.clone(), self.spool.clone(), entry.clone());
            self.tasks
                .spawn(async move { (entry.seq, upload(&cloud, spool, &entry).await) });
        }
    }

    fn finished(&mut self, done: Result<(u64, Result<(), UploadError>), tokio::task::JoinError>) {
        let Ok((seq, result)) = done else { return };
        match result {
            Ok(()) => {
                self.states.insert(seq, State::Uploaded);
            }
            Err(e) if e.is_permanent() => {
                tracing::error!(error = %e, seq, "upload refused for good; dropped from the spool");
                self.states.remove(&seq);
                let _ = self.spool.remove(&[seq]);
            }
            Err(e) => {
                tracing::warn!(error = %e, seq, "upload failed; will retry");
                self.states.remove(&seq);
                self.spool.release(seq);
                self.paused_until = Instant::now() + self.backoff.fail();
            }
        }
    }

    async fn commit(&mut self, entries: &[Entry], batch: Vec<u64>) {
        let request = commit_request(entries, &batch);
        match self.cloud.commit(&request).await {
            Ok(()) => {
                self.backoff.reset();
                self.batch_limit = self.opts.commit_batch.max(1);
                self.states.retain(|seq, _| !batch.contains(seq));
                let spool = self.spool.clone();
                let removed = tokio::task::spawn_blocking(move || spool.remove(&batch)).await;
                if let Ok(Err(e)) = removed {
                    tracing::warn!(error = %e, "spool: could not delete committed entries");
                }
            }
            Err(e) if e.is_permanent() && batch.len() == 1 => {
                tracing::error!(error = %e, "commit refused for good; dropping the entry");
                self.states.remove(&batch[0]);
                let _ = self.spool.remove(&batch);
            }
            Err(e) if e.is_permanent() => {
                tracing::warn!(error = %e, "commit refused; retrying its entries one by one");
                self.batch_limit = 1;
            }
            Err(e) => {
                tracing::warn!(error = %e, objects = batch.len(), "commit failed; will retry");
                self.paused_until = Instant::now() + self.backoff.fail();
            }
        }
    }
}

/// The entries to start uploading now, at most `room`: each camera's newest
/// media segment first (newest camera first), then the backlog oldest
/// first. A media segment waits until its init is uploaded or committed.
pub fn plan(entries: &[Entry], states: &HashMap<u64, State>, room: usize) -> Vec<u64> {
    let init_seq: HashMap<Uuid, u64> = entries
        .iter()
        .filter_map(|e| match &e.item {
            Item::Init(i) => Some((i.id, e.seq)),
            _ => None,
        })
        .collect();
    let idle = |seq: u64| !states.contains_key(&seq);
    let init_of = |init: Uuid| init_seq.get(&init).copied();
    let ready = |init: Uuid| init_of(init).is_none_or(|s| states.get(&s) == Some(&State::Uploaded));

    let mut newest: HashMap<Uuid, &Entry> = HashMap::new();
    for e in entries {
        if let Item::Media(m) = &e.item {
            newest.insert(m.camera_id, e);
        }
    }
    let mut live: Vec<&Entry> = newest.into_values().collect();
    live.sort_by_key(|e| std::cmp::Reverse(e.seq));

    let mut picks = Vec::new();
    let mut picked = HashSet::new();
    let mut take = |seq: u64, picks: &mut Vec<u64>| {
        if idle(seq) && picked.insert(seq) {
            picks.push(seq);
        }
    };
    for e in live {
        let Item::Media(m) = &e.item else { continue };
        match (ready(m.init_id), init_of(m.init_id)) {
            (true, _) => take(e.seq, &mut picks),
            (false, Some(init)) => take(init, &mut picks),
            (false, None) => {}
        }
    }
    for e in entries {
        if picks.len() >= room {
            break;
        }
        match &e.item {
            Item::Init(_) => take(e.seq, &mut picks),
            Item::Media(m) if ready(m.init_id) => take(e.seq, &mut picks),
            _ => {}
        }
    }
    picks.truncate(room);
    picks
}

/// The next commit: gaps and uploaded objects, oldest first, at most
/// `limit` (an init sorts before the media after it).
pub fn commit_batch(entries: &[Entry], states: &HashMap<u64, State>, limit: usize) -> Vec<u64> {
    let committable = |e: &&Entry| match e.item {
        Item::Gap(_) => true,
        _ => states.get(&e.seq) == Some(&State::Uploaded),
    };
    entries
        .iter()
        .filter(committable)
        .map(|e| e.seq)
        .take(limit)
        .collect()
}

fn commit_request(entries: &[Entry], batch: &[u64]) -> CommitRequest {
    let batch: HashSet<u64> = batch.iter().copied().collect();
    let mut request = CommitRequest::default();
    for e in entries.iter().filter(|e| batch.contains(&e.seq)) {
        match &e.item {
            Item::Init(i) => request.inits.push(i.clone()),
            Item::Media(m) => request.segments.push(m.clone()),
            Item::Gap(g) => request.gaps.push(g.clone()),
        }
    }
    request
}

#[derive(Debug, thiserror::Error)]
enum UploadError {
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error("spool: {0}")]
    Io(#[from] std::io::Error),
}

impl UploadError {
    fn is_permanent(&self) -> bool {
        match self {
            UploadError::Cloud(e) => e.is_permanent(),
            UploadError::Io(e) => e.kind() == std::io::ErrorKind::NotFound,
        }
    }
}

async fn upload(cloud: &Cloud, spool: Arc<Spool>, entry: &Entry) -> Result<(), UploadError> {
    let (kind, camera_id, object_id, bytes) = match &entry.item {
        Item::Init(i) => (ObjectKind::Init, i.camera_id, i.id, i.bytes),
        Item::Media(m) => (ObjectKind::Media, m.camera_id, m.id, m.bytes),
        Item::Gap(_) => return Ok(()),
    };
    let seq = entry.seq;
    let body = tokio::task::spawn_blocking(move || spool.read(seq))
        .await
        .map_err(std::io::Error::other)??;

    let slot = cloud
        .slot(&SlotRequest {
            camera_id,
            kind,
            object_id,
            bytes,
        })
        .await?;
    cloud.put(&slot, body).await?;
    Ok(())
}

/// Capped exponential backoff with jitter.
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(500);

    fn new(max: Duration) -> Self {
        Self {
            next: Self::FIRST,
            max,
        }
    }

    fn fail(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        let jitter = u64::from(chrono::Utc::now().timestamp_subsec_micros()) % 250;
        wait.min(self.max) + Duration::from_millis(jitter)
    }

    fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argus_core::wire::recording::{GapReport, InitCommit, SegmentCommit};
    use chrono::{TimeZone, Utc};

    fn init(seq: u64, cam: u128, id: u128) -> Entry {
        let item = Item::Init(InitCommit {
            id: Uuid::from_u128(id),
            camera_id: Uuid::from_u128(cam),
            key_id: Uuid::nil(),
            bytes: 10,
            sha256: String::new(),
            codec: "h264".into(),
            width: 1,
            height: 1,
        });
        Entry { seq, item }
    }

    fn media(seq: u64, cam: u128, init: u128) -> Entry {
        let start = Utc
            .timestamp_opt(1_800_000_000 + seq as i64 * 4, 0)
            .unwrap();
        let item = Item::Media(SegmentCommit {
            id: Uuid::from_u128(1000 + seq as u128),
            camera_id: Uuid::from_u128(cam),
            init_id: Uuid::from_u128(init),
            key_id: Uuid::nil(),
            run_id: Uuid::nil(),
            start,
            end: start + chrono::Duration::seconds(4),
            bytes: 100,
            sha256: String::new(),
        });
        Entry { seq, item }
    }

    fn gap(seq: u64) -> Entry {
        let t = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        let item = Item::Gap(GapReport {
            camera_id: Uuid::from_u128(1),
            start: t,
            end: t,
            reason: "buffer_full".into(),
        });
        Entry { seq, item }
    }

    fn states(list: &[(u64, State)]) -> HashMap<u64, State> {
        list.iter().copied().collect()
    }

    #[test]
    fn the_newest_segment_goes_first_then_the_backlog_oldest_first() {
        let entries: Vec<Entry> = (1..=10).map(|s| media(s, 1, 99)).collect();
        assert_eq!(plan(&entries, &HashMap::new(), 3), vec![10, 1, 2]);

        let busy = states(&[(10, State::Uploading), (1, State::Uploaded)]);
        assert_eq!(
            plan(&entries, &busy, 3),
            vec![2, 3, 4],
            "no second 'live' pick"
        );
        assert_eq!(plan(&entries, &HashMap::new(), 0), Vec::<u64>::new());
    }

    #[test]
    fn each_camera_gets_its_live_segment_before_any_backlog() {
        let mut entries: Vec<Entry> = (1..=4).map(|s| media(s, 1, 99)).collect();
        entries.extend((5..=8).map(|s| media(s, 2, 98)));
        entries.push(media(9, 1, 99));
        assert_eq!(plan(&entries, &HashMap::new(), 4), vec![9, 8, 1, 2]);
    }

    #[test]
    fn media_waits_for_its_init_to_be_uploaded() {
        let entries = vec![
            init(0, 1, 5),
            media(1, 1, 5),
            media(2, 1, 5),
            media(3, 1, 5),
        ];
        assert_eq!(plan(&entries, &HashMap::new(), 4), vec![0]);
        assert!(plan(&entries, &states(&[(0, State::Uploading)]), 4).is_empty());
        assert_eq!(
            plan(&entries, &states(&[(0, State::Uploaded)]), 4),
            vec![3, 1, 2]
        );

        let new_run = vec![media(1, 1, 5), init(2, 1, 6), media(3, 1, 6)];
        assert_eq!(
            plan(&new_run, &HashMap::new(), 4),
            vec![2, 1],
            "old run's init committed"
        );
    }

    #[test]
    fn commits_take_gaps_and_uploaded_objects_in_order() {
        let entries = vec![
            init(0, 1, 5),
            media(1, 1, 5),
            gap(2),
            media(3, 1, 5),
            media(4, 1, 5),
        ];
        let st = states(&[
            (0, State::Uploaded),
            (1, State::Uploading),
            (3, State::Uploaded),
            (4, State::Uploaded),
        ]);
        assert_eq!(commit_batch(&entries, &st, 10), vec![0, 2, 3, 4]);
        assert_eq!(commit_batch(&entries, &st, 2), vec![0, 2]);

        let request = commit_request(&entries, &[0, 2, 3]);
        assert_eq!(
            (
                request.inits.len(),
                request.segments.len(),
                request.gaps.len()
            ),
            (1, 1, 1)
        );
        assert_eq!(request.segments[0].id, Uuid::from_u128(1003));
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let mut b = Backoff::new(Duration::from_secs(2));
        let waits: Vec<u64> = (0..5)
            .map(|_| b.fail().as_millis() as u64 / 250 * 250)
            .collect();
        assert_eq!(waits, vec![500, 1000, 2000, 2000, 2000]);
        b.reset();
        assert!(b.fail() < Duration::from_millis(750));
    }
}

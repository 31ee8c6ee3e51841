//! The bounded on-disk buffer of objects not yet committed to the cloud.
//!
//! Each entry is one small JSON file (`{seq}.json`: what to commit) and,
//! for init and media segments, one ciphertext file (`{seq}.obj`). A new
//! entry is written ciphertext first (written, fdatasync), then its JSON
//! (written, fdatasync), then one fsync of the directory makes both names
//! durable; only then does [`Spool::push`] return. The JSON file is the
//! commit point: a torn one does not parse, so a kill -9 or power cut
//! leaves a whole entry or none, and [`Spool::open`] deletes the leftovers
//! of a torn write. Rewrites of an existing entry (a growing gap) go
//! through tmp + fsync + rename. Files are written outside the lock, so
//! pushes of different cameras overlap and share the disk's flushes.
//! Deleting committed entries needs no fsync: one that comes back after a
//! power cut is uploaded and committed again, which is a no-op.
//!
//! Invariants: the ciphertext held stays under the cap by dropping the
//! oldest unsent media segment first, each drop counted and recorded as a
//! `buffer_full` gap entry; init segments are never dropped (they are
//! small and later media may need them); an entry leased by the uplink is
//! never dropped (it may already be in object storage).

use crate::state;
use argus_core::wire::recording::{GapReport, InitCommit, SegmentCommit};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use uuid::Uuid;

/// What an entry commits.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Item {
    Init(InitCommit),
    Media(SegmentCommit),
    Gap(GapReport),
}

impl Item {
    /// Ciphertext bytes held for this item (0 for a gap).
    pub fn bytes(&self) -> u64 {
        match self {
            Item::Init(i) => i.bytes,
            Item::Media(m) => m.bytes,
            Item::Gap(_) => 0,
        }
    }

    /// The camera this item belongs to.
    pub fn camera_id(&self) -> Uuid {
        match self {
            Item::Init(i) => i.camera_id,
            Item::Media(m) => m.camera_id,
            Item::Gap(g) => g.camera_id,
        }
    }
}

/// One buffered object or gap, in arrival order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    pub item: Item,
}

/// Sizes of what the spool holds, for the heartbeat.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub segments: u64,
    pub bytes: u64,
    pub dropped: u64,
}

/// The buffer itself. Its methods do blocking file I/O: call them from
/// `spawn_blocking` in async code.
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: BTreeMap<u64, Item>,
    leased: HashSet<u64>,
    /// Each camera's latest `buffer_full` gap, extended by the next drop.
    last_gap: HashMap<Uuid, u64>,
    /// Every camera with an entry since the spool opened.
    cameras: HashSet<Uuid>,
    next_seq: u64,
    bytes: u64,
    dropped: u64,
}

impl Spool {
    /// Opens (creating) the spool in `dir`, keeping every whole entry and
    /// deleting what a torn write left behind.
    pub fn open(dir: &Path, max_bytes: u64) -> io::Result<Self> {
        state::create_private_dir(dir)?;
        let mut inner = Inner::default();
        for (seq, item) in rescan(dir)? {
            inner.cameras.insert(item.camera_id());
            inner.bytes += item.bytes();
            inner.next_seq = seq + 1;
            inner.entries.insert(seq, item);
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            max_bytes,
            inner: Mutex::new(inner),
        })
    }

    /// Adds an item and its ciphertext, then drops the oldest unsent media
    /// while over the cap. Returns the new entry's seq.
    ///
    /// Pushes may run concurrently; entries of one camera must be pushed
    /// one after the other (their seqs then follow their order).
    pub fn push(&self, item: Item, ciphertext: Option<&[u8]>) -> io::Result<u64> {
        let seq = match self.reserve(&item) {
            Ok(seq) => seq,
            Err(existing) => return Ok(existing),
        };
        if let Err(e) = self.write_new(seq, &item, ciphertext) {
            let _ = self.delete_files(seq);
            return Err(e);
        }

        let mut inner = self.inner.lock().expect("spool lock");
        inner.cameras.insert(item.camera_id());
        inner.bytes += item.bytes();
        inner.entries.insert(seq, item);
        self.enforce_cap(&mut inner)?;
        Ok(seq)
    }

    /// The seq a new entry gets, or `Err` with the seq of the same init
    /// segment already held.
    fn reserve(&self, item: &Item) -> Result<u64, u64> {
        let mut inner = self.inner.lock().expect("spool lock");
        if let Item::Init(init) = item {
            let same = |i: &Item| matches!(i, Item::Init(o) if o.id == init.id);
            if let Some((seq, _)) = inner.entries.iter().find(|(_, i)| same(i)) {
                return Err(*seq);
            }
        }
        inner.next_seq += 1;
        Ok(inner.next_seq - 1)
    }

    /// A snapshot of every entry, oldest first.
    pub fn entries(&self) -> Vec<Entry> {
        let inner = self.inner.lock().expect("spool lock");
        let entry = |(seq, item): (&u64, &Item)| Entry {
            seq: *seq,
            item: item.clone(),
        };
        inner.entries.iter().map(entry).collect()
    }

    /// Protects entries from being dropped while the uplink works on them;
    /// returns those of `seqs` that still exist.
    pub fn lease(&self, seqs: &[u64]) -> Vec<u64> {
        let mut inner = self.inner.lock().expect("spool lock");
        let live: Vec<u64> = seqs
            .iter()
            .copied()
            .filter(|s| inner.entries.contains_key(s))
            .collect();
        inner.leased.extend(&live);
        live
    }

    /// Ends a lease without removing the entry (its upload failed).
    pub fn release(&self, seq: u64) {
        self.inner.lock().expect("spool lock").leased.remove(&seq);
    }

    /// The ciphertext of entry `seq`.
    pub fn read(&self, seq: u64) -> io::Result<Vec<u8>> {
        fs::read(self.path(seq, "obj"))
    }

    /// Deletes committed entries.
    pub fn remove(&self, seqs: &[u64]) -> io::Result<()> {
        let mut gone = Vec::with_capacity(seqs.len());
        {
            let mut inner = self.inner.lock().expect("spool lock");
            for seq in seqs {
                inner.leased.remove(seq);
                if let Some(item) = inner.entries.remove(seq) {
                    inner.bytes -= item.bytes();
                    gone.push(*seq);
                }
            }
        }
        gone.into_iter().try_for_each(|seq| self.delete_files(seq))
    }

    /// How many cameras had an entry since the spool opened.
    pub fn cameras(&self) -> usize {
        self.inner.lock().expect("spool lock").cameras.len()
    }

    /// What the spool holds now and how much it dropped since it opened.
    pub fn stats(&self) -> Stats {
        let inner = self.inner.lock().expect("spool lock");
        let segments = inner
            .entries
            .values()
            .filter(|i| matches!(i, Item::Media(_)))
            .count();
        Stats {
            segments: segments as u64,
            bytes: inner.bytes,
            dropped: inner.dropped,
        }
    }

    fn enforce_cap(&self, inner: &mut Inner) -> io::Result<()> {
        while inner.bytes > self.max_bytes {
            let victim = inner.entries.iter().find_map(|(seq, item)| match item {
                Item::Media(m) if !inner.leased.contains(seq) => Some((*seq, m.clone())),
                _ => None,
            });
            let Some((seq, media)) = victim else {
                return Ok(());
            };

            self.delete_files(seq)?;
            inner.entries.remove(&seq);
            inner.bytes -= media.bytes;
            inner.dropped += 1;
            tracing::warn!(camera.id = %media.camera_id, segment.start = %media.start,
                "spool full: dropped the oldest unsent segment");
            self.record_gap(inner, &media)?;
        }
        Ok(())
    }

    /// Records the dropped span, extending the camera's last `buffer_full`
    /// gap when the drop continues it (drops are oldest first, so they do).
    fn record_gap(&self, inner: &mut Inner, media: &SegmentCommit) -> io::Result<()> {
        let last = inner.last_gap.get(&media.camera_id).copied();
        let open = last.filter(|seq| !inner.leased.contains(seq));
        if let Some(Item::Gap(gap)) = open.and_then(|seq| inner.entries.get_mut(&seq)) {
            if (media.start - gap.end).num_milliseconds().abs() <= 1000 {
                gap.end = gap.end.max(media.end);
                let (seq, item) = (open.expect("found"), Item::Gap(gap.clone()));
                return self.rewrite(seq, &item);
            }
        }

        let gap = Item::Gap(GapReport {
            camera_id: media.camera_id,
            start: media.start,
            end: media.end,
            reason: "buffer_full".into(),
        });
        let seq = inner.next_seq;
        self.write_new(seq, &gap, None)?;
        inner.next_seq += 1;
        inner.entries.insert(seq, gap);
        inner.last_gap.insert(media.camera_id, seq);
        Ok(())
    }

    /// Writes a new entry's files and makes them durable (see the top).
    fn write_new(&self, seq: u64, item: &Item, ciphertext: Option<&[u8]>) -> io::Result<()> {
        if let Some(bytes) = ciphertext {
            state::write_synced(&self.path(seq, "obj"), bytes)?;
        }
        state::write_synced(&self.path(seq, "json"), &meta(seq, item)?)?;
        state::sync_dir(&self.dir)
    }

    /// Replaces the JSON of an existing entry atomically.
    fn rewrite(&self, seq: u64, item: &Item) -> io::Result<()> {
        state::write_private(&self.path(seq, "json"), &meta(seq, item)?)
    }

    fn delete_files(&self, seq: u64) -> io::Result<()> {
        remove_if_exists(&self.path(seq, "json"))?;
        remove_if_exists(&self.path(seq, "obj"))
    }

    fn path(&self, seq: u64, ext: &str) -> PathBuf {
        self.dir.join(format!("{seq:020}.{ext}"))
    }
}

/// An [`Entry`] by reference: the same JSON, without cloning the item.
#[derive(Serialize)]
struct EntryRef<'a> {
    seq: u64,
    item: &'a Item,
}

/// The JSON of entry `seq`.
fn meta(seq: u64, item: &Item) -> io::Result<Vec<u8>> {
    serde_json::to_vec(&EntryRef { seq, item }).map_err(io::Error::other)
}

/// Reads every whole entry of `dir`; deletes tmp files, ciphertext without
/// its JSON, and JSON whose ciphertext is missing or of the wrong length.
fn rescan(dir: &Path) -> io::Result<Vec<(u64, Item)>> {
    let mut found = BTreeMap::new();
    let mut objects = HashSet::new();
    for file in fs::read_dir(dir)? {
        let path = file?.path();
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => {
                found.insert(path.clone(), read_entry(&path));
            }
            Some("obj") => {
                objects.insert(path);
            }
            _ => remove_if_exists(&path)?,
        }
    }

    let mut whole = Vec::new();
    for (meta_path, entry) in found {
        let obj = meta_path.with_extension("obj");
        let complete = entry
            .as_ref()
            .is_some_and(|e| object_complete(&e.item, &obj));
        if let (true, Some(e)) = (complete, entry) {
            objects.remove(&obj);
            whole.push((e.seq, e.item));
        } else {
            tracing::warn!(path = %meta_path.display(), "spool: removing a torn entry");
            remove_if_exists(&meta_path)?;
        }
    }
    objects.iter().try_for_each(|p| remove_if_exists(p))?;
    whole.sort_by_key(|(seq, _)| *seq);
    Ok(whole)
}

fn read_entry(path: &Path) -> Option<Entry> {
    serde_json::from_slice(&fs::read(path).ok()?).ok()
}

fn object_complete(item: &Item, obj: &Path) -> bool {
    match item {
        Item::Gap(_) => true,
        _ => fs::metadata(obj).is_ok_and(|m| m.len() == item.bytes()),
    }
}

fn remove_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeZone, Utc};

    const CAM: Uuid = Uuid::from_u128(7);

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
    }

    fn init(id: u128, bytes: u64) -> Item {
        Item::Init(InitCommit {
            id: Uuid::from_u128(id),
            camera_id: CAM,
            key_id: Uuid::nil(),
            bytes,
            sha256: String::new(),
            codec: "h264".into(),
            width: 640,
            height: 360,
        })
    }

    fn media(start: i64, bytes: u64) -> Item {
        Item::Media(SegmentCommit {
            id: Uuid::from_u128(1000 + start as u128),
            camera_id: CAM,
            init_id: Uuid::from_u128(1),
            key_id: Uuid::nil(),
            run_id: Uuid::nil(),
            start: at(start),
            end: at(start + 4),
            bytes,
            sha256: String::new(),
        })
    }

    fn push(spool: &Spool, item: Item) -> u64 {
        let body = vec![0xa5; item.bytes() as usize];
        let body = (!matches!(item, Item::Gap(_))).then_some(body);
        spool.push(item, body.as_deref()).unwrap()
    }

    fn starts(spool: &Spool) -> Vec<i64> {
        let start = |e: Entry| match e.item {
            Item::Media(m) => Some(m.start.timestamp() - 1_800_000_000),
            _ => None,
        };
        spool.entries().into_iter().filter_map(start).collect()
    }

    #[test]
    fn entries_survive_a_reopen_and_seqs_continue() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), 1 << 20).unwrap();
        push(&spool, init(1, 10));
        let seq = push(&spool, media(0, 100));
        assert_eq!(spool.read(seq).unwrap().len(), 100);
        drop(spool);

        let spool = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(spool.entries().len(), 2);
        assert_eq!(
            spool.stats(),
            Stats {
                segments: 1,
                bytes: 110,
                dropped: 0
            }
        );
        assert!(push(&spool, media(4, 100)) > seq);
        assert_eq!(push(&spool, init(1, 10)), 0, "the same init is kept once");

        spool.remove(&[0, seq]).unwrap();
        let spool = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(starts(&spool), vec![4]);
        assert_eq!(spool.entries().len(), 1);
    }

    #[test]
    fn a_torn_write_leaves_a_whole_entry_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), 1 << 20).unwrap();
        push(&spool, media(0, 100));
        let short = push(&spool, media(4, 100));
        let no_meta = push(&spool, media(8, 100));
        let garbled = push(&spool, media(12, 100));
        drop(spool);

        let path = |seq: u64, ext: &str| dir.path().join(format!("{seq:020}.{ext}"));
        fs::write(path(short, "obj"), [0u8; 40]).unwrap();
        fs::remove_file(path(no_meta, "json")).unwrap();
        fs::write(path(garbled, "json"), b"{\"seq\":").unwrap();
        fs::write(dir.path().join("00000000000000000099.json.tmp"), b"{").unwrap();
        fs::write(path(99, "obj"), [0u8; 10]).unwrap();

        let spool = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(starts(&spool), vec![0]);
        let mut left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|f| f.unwrap().file_name())
            .collect();
        left.sort();
        assert_eq!(
            left,
            vec!["00000000000000000000.json", "00000000000000000000.obj"]
        );
    }

    #[test]
    fn over_the_cap_the_oldest_unsent_media_goes_first_and_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), 330).unwrap();
        push(&spool, init(1, 10));
        let leased = push(&spool, media(0, 100));
        assert_eq!(spool.lease(&[leased, 999]), vec![leased]);
        for start in [4, 8, 12, 16] {
            push(&spool, media(start, 100));
        }

        assert_eq!(
            starts(&spool),
            vec![0, 12, 16],
            "leased 0 stays, 4 and 8 dropped"
        );
        assert_eq!(
            spool.stats(),
            Stats {
                segments: 3,
                bytes: 310,
                dropped: 2
            }
        );
        let gaps: Vec<(i64, i64, String)> = spool
            .entries()
            .into_iter()
            .filter_map(|e| match e.item {
                Item::Gap(g) => Some((
                    g.start.timestamp() - 1_800_000_000,
                    g.end.timestamp() - 1_800_000_000,
                    g.reason,
                )),
                _ => None,
            })
            .collect();
        assert_eq!(
            gaps,
            vec![(4, 12, "buffer_full".into())],
            "one gap for adjacent drops"
        );
        assert!(
            spool
                .entries()
                .iter()
                .any(|e| matches!(e.item, Item::Init(_))),
            "init never dropped"
        );

        drop(spool);
        let spool = Spool::open(dir.path(), 330).unwrap();
        assert_eq!(
            spool.entries().len(),
            5,
            "init, 3 media, 1 gap after rescan"
        );
    }
}

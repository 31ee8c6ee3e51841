//! From recorder events to sealed spool entries: each init and media
//! segment is encrypted with its camera's data key, bound to tenant,
//! camera, object id and start time, then spooled and the uplink woken.
//!
//! Invariant: nothing plaintext reaches the disk; the SHA-256 and length
//! committed are those of the ciphertext that is uploaded.

use crate::continuity::{self, Continuity};
use crate::segment::RecorderEvent;
use crate::spool::{Item, Spool};
use crate::state::DataKey;
use argus_core::envelope::{seal_object, ObjectAad};
use argus_core::wire::recording::{GapReport, InitCommit, SegmentCommit};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinSet;
use uuid::Uuid;

/// The data keys in use, by camera; filled before a camera's recorder starts.
pub type Keys = Arc<RwLock<HashMap<Uuid, DataKey>>>;

/// Seals one event for the spool: what to commit, and the ciphertext.
/// `None` if the camera has no data key (it should not be recording).
pub fn seal_event(
    tenant: Uuid,
    key: Option<&DataKey>,
    event: RecorderEvent,
) -> Option<(Item, Option<Vec<u8>>)> {
    let (camera, object, start_us, plain) = match &event {
        RecorderEvent::Init(i) => (i.camera_id, i.id, 0, &i.bytes),
        RecorderEvent::Media(m) => (m.camera_id, m.id, m.start_us(), &m.bytes),
        RecorderEvent::Gap(g) => {
            let gap = GapReport {
                camera_id: g.camera_id,
                start: g.start,
                end: g.end,
                reason: g.reason.clone(),
            };
            return Some((Item::Gap(gap), None));
        }
    };
    let key = key?;
    let sealed = seal_object(
        &key.key,
        &ObjectAad {
            tenant,
            camera,
            object,
            start_us,
        },
        plain,
    );
    let (bytes, sha256) = (sealed.len() as u64, hex::encode(Sha256::digest(&sealed)));

    let item = match event {
        RecorderEvent::Init(i) => Item::Init(InitCommit {
            id: i.id,
            camera_id: i.camera_id,
            key_id: key.key_id,
            bytes,
            sha256,
            codec: i.info.codec.as_str().into(),
            width: i.info.width,
            height: i.info.height,
        }),
        RecorderEvent::Media(m) => Item::Media(SegmentCommit {
            id: m.id,
            camera_id: m.camera_id,
            init_id: m.init_id,
            key_id: key.key_id,
            run_id: m.run_id,
            start: m.start,
            end: m.end,
            bytes,
            sha256,
        }),
        RecorderEvent::Gap(_) => unreachable!("returned above"),
    };
    Some((item, Some(sealed)))
}

/// Consumes every camera's events until all senders are gone. The first
/// recording of each camera after a restart is preceded by a
/// `relay_restart` gap back to where it was recorded until.
///
/// Each camera always goes to the same one of [`LANES`] lanes, which handle
/// its events one after the other (so its entries keep their order), while
/// the lanes seal and spool different cameras at the same time: the disk's
/// flushes overlap instead of queueing, and one slow write never holds up
/// every camera's recorder.
pub async fn run(
    tenant: Uuid,
    keys: Keys,
    spool: Arc<Spool>,
    wake: Arc<Notify>,
    continuity: Continuity,
    mut events: mpsc::Receiver<RecorderEvent>,
) {
    let mut lanes = JoinSet::new();
    let senders: Vec<mpsc::Sender<RecorderEvent>> = (0..LANES)
        .map(|_| {
            let (tx, rx) = mpsc::channel(LANE_QUEUE);
            let lane = Lane {
                tenant,
                keys: keys.clone(),
                spool: spool.clone(),
                wake: wake.clone(),
                continuity: continuity.clone(),
            };
            lanes.spawn(lane.run(rx));
            tx
        })
        .collect();

    while let Some(event) = events.recv().await {
        let lane = lane_of(camera_of(&event));
        if senders[lane].send(event).await.is_err() {
            break;
        }
    }
    drop(senders);
    while lanes.join_next().await.is_some() {}
}

/// Lanes that seal and spool at the same time.
pub const LANES: usize = 16;

/// Events waiting per lane (each holds a plaintext segment in memory).
const LANE_QUEUE: usize = 2;

fn lane_of(camera: Uuid) -> usize {
    (camera.as_u128() % LANES as u128) as usize
}

/// One lane: a share of the cameras, handled in order.
struct Lane {
    tenant: Uuid,
    keys: Keys,
    spool: Arc<Spool>,
    wake: Arc<Notify>,
    continuity: Continuity,
}

impl Lane {
    async fn run(self, mut events: mpsc::Receiver<RecorderEvent>) {
        while let Some(event) = events.recv().await {
            let camera = camera_of(&event);
            let gap = restart_gap(&self.continuity, &event);
            let end = match &event {
                RecorderEvent::Media(m) => Some(m.end),
                _ => None,
            };
            // Sealed here, on the runtime's threads: the big buffers then
            // come from their few malloc arenas, not one per blocking thread.
            let key = self.keys.read().expect("keys lock").get(&camera).cloned();
            let sealed = seal_event(self.tenant, key.as_ref(), event);
            if sealed.is_none() {
                tracing::warn!(camera.id = %camera, "no data key for the camera; segment discarded");
            }

            let (spool, continuity) = (self.spool.clone(), self.continuity.clone());
            let done = tokio::task::spawn_blocking(move || {
                let gap_pushed = gap.is_some_and(|gap| push(&spool, camera, gap, None));
                let Some((item, sealed)) = sealed else {
                    return gap_pushed;
                };
                let spooled = push(&spool, camera, item, sealed);
                if let (true, Some(end)) = (spooled, end) {
                    continuity.recorded_until(camera, end);
                }
                gap_pushed || spooled
            })
            .await;
            match done {
                Ok(true) => self.wake.notify_one(),
                Ok(false) => {}
                Err(e) => tracing::error!(camera.id = %camera, error = %e, "spool task failed"),
            }
        }
    }
}

/// The `relay_restart` gap to spool before `event`, if it is its camera's
/// first recording since this process started.
fn restart_gap(continuity: &Continuity, event: &RecorderEvent) -> Option<Item> {
    let (camera, start) = match event {
        RecorderEvent::Media(m) => (m.camera_id, m.start),
        RecorderEvent::Gap(g) => (g.camera_id, g.start),
        RecorderEvent::Init(_) => return None,
    };
    let (from, to) = continuity.restart_gap(camera, start)?;
    Some(Item::Gap(GapReport {
        camera_id: camera,
        start: from,
        end: to,
        reason: continuity::REASON.into(),
    }))
}

/// Writes one entry to the spool; false if it failed.
fn push(spool: &Spool, camera: Uuid, item: Item, sealed: Option<Vec<u8>>) -> bool {
    match spool.push(item, sealed.as_deref()) {
        Ok(_) => true,
        Err(e) => {
            tracing::error!(camera.id = %camera, error = %e, "spool write failed; segment lost");
            false
        }
    }
}

fn camera_of(event: &RecorderEvent) -> Uuid {
    match event {
        RecorderEvent::Init(i) => i.camera_id,
        RecorderEvent::Media(m) => m.camera_id,
        RecorderEvent::Gap(g) => g.camera_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::{Codec, InitSegment, MediaSegment, StreamInfo};
    use argus_core::envelope::{open_object, random_key};
    use chrono::{TimeZone, Utc};

    #[test]
    fn segments_are_sealed_to_tenant_camera_id_and_start() {
        let (tenant, cam) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let key = DataKey {
            key_id: Uuid::from_u128(3),
            key: random_key(),
        };
        let info = StreamInfo {
            codec: Codec::H264,
            width: 640,
            height: 360,
        };
        let init = InitSegment::new(cam, info, b"ftypmoov".to_vec());
        let start = Utc.timestamp_opt(1_800_000_000, 5000).unwrap();
        let media = MediaSegment {
            id: argus_core::wire::ids::segment_id(cam, start.timestamp_micros()),
            camera_id: cam,
            init_id: init.id,
            run_id: Uuid::nil(),
            start,
            end: start,
            bytes: b"moofmdat".to_vec(),
        };

        let (item, sealed) =
            seal_event(tenant, Some(&key), RecorderEvent::Media(media.clone())).unwrap();
        let sealed = sealed.unwrap();
        let Item::Media(commit) = item else {
            panic!("media")
        };
        assert_eq!(
            (commit.bytes, commit.key_id),
            (sealed.len() as u64, key.key_id)
        );
        assert_eq!(commit.sha256, hex::encode(Sha256::digest(&sealed)));
        let aad = ObjectAad {
            tenant,
            camera: cam,
            object: media.id,
            start_us: media.start_us(),
        };
        assert_eq!(open_object(&key.key, &aad, &sealed).unwrap(), b"moofmdat");
        let other = ObjectAad { start_us: 0, ..aad };
        assert!(open_object(&key.key, &other, &sealed).is_err());

        let (item, sealed) =
            seal_event(tenant, Some(&key), RecorderEvent::Init(init.clone())).unwrap();
        let aad = ObjectAad {
            tenant,
            camera: cam,
            object: init.id,
            start_us: 0,
        };
        assert_eq!(
            open_object(&key.key, &aad, &sealed.unwrap()).unwrap(),
            b"ftypmoov"
        );
        assert!(matches!(item, Item::Init(i) if i.codec == "h264" && i.width == 640));
        assert!(seal_event(tenant, None, RecorderEvent::Init(init)).is_none());
    }
}

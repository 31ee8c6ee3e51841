//! One camera's live fan-out: the packets of one track of its ingest, the
//! cached GOP (video only), and the queues of its viewers.
//!
//! Invariants: the GOP cache always starts at a keyframe (or is empty), and
//! a viewer subscribes under the same lock that publishes, so it gets the
//! cache and then every later packet, none twice and none missing. A full
//! viewer queue never blocks the ingest: that viewer drops packets until
//! the next keyframe, then resumes. Audio has no GOP: every packet stands
//! alone, so a viewer gets audio from the next packet on and a full queue
//! only loses the packets that did not fit.

use super::h264;
use rtc::rtp;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Packets one viewer may have queued before it is skipped ahead.
pub const VIEWER_QUEUE: usize = 1024;

/// Most packets the GOP cache holds (a long GOP is cut short).
const MAX_GOP_PACKETS: usize = 8192;

/// A viewer's queue and whether it waits for a keyframe.
struct Subscriber {
    tx: mpsc::Sender<rtp::Packet>,
    resync: bool,
}

#[derive(Default)]
struct Inner {
    gop: Vec<rtp::Packet>,
    subscribers: HashMap<Uuid, Subscriber>,
}

/// The fan-out of one camera's video (the default) or audio.
#[derive(Default)]
pub struct Fanout {
    inner: Mutex<Inner>,
    audio: bool,
    /// Bumped by every [`Fanout::clear`]: a subscriber keeping its own
    /// copy of the GOP drops it when this moves.
    cleared: std::sync::atomic::AtomicU64,
}

impl Fanout {
    /// A fan-out of audio packets: no GOP, no keyframes.
    pub fn audio() -> Self {
        Self {
            audio: true,
            ..Default::default()
        }
    }

    /// Caches `pkt` (video) and queues it for every viewer.
    pub fn publish(&self, pkt: rtp::Packet) {
        let key = self.audio || h264::starts_keyframe(&pkt.payload);
        let mut inner = self.lock();
        if !self.audio {
            cache(&mut inner.gop, &pkt, key);
        }

        inner.subscribers.retain(|id, sub| {
            if sub.resync && !key {
                return true;
            }
            sub.resync = false;
            match sub.tx.try_send(pkt.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::debug!(viewer = %id, "viewer behind: skipping to the next keyframe");
                    sub.resync = true;
                    true
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
    }

    /// Subscribes viewer `id`: the cached GOP, then live packets.
    pub fn subscribe(&self, id: Uuid) -> (Vec<rtp::Packet>, mpsc::Receiver<rtp::Packet>) {
        let (tx, rx) = mpsc::channel(VIEWER_QUEUE);
        let mut inner = self.lock();
        let gop = inner.gop.clone();
        // Without a cached keyframe the viewer waits for the next one.
        let resync = gop.is_empty();
        inner.subscribers.insert(id, Subscriber { tx, resync });
        (gop, rx)
    }

    /// Removes viewer `id`.
    pub fn unsubscribe(&self, id: Uuid) {
        self.lock().subscribers.remove(&id);
    }

    /// Forgets the cached GOP (the ingest ended).
    pub fn clear(&self) {
        self.lock().gop.clear();
        self.cleared
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// How many times the GOP was forgotten.
    pub fn generation(&self) -> u64 {
        self.cleared.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Packets in the GOP cache.
    pub fn cached(&self) -> usize {
        self.lock().gop.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Keeps `gop` starting at the last keyframe, with `pkt` added.
pub(crate) fn cache(gop: &mut Vec<rtp::Packet>, pkt: &rtp::Packet, key: bool) {
    // SPS, PPS and IDR of one picture share a timestamp: one GOP start.
    let same_picture = gop.first().map(|p| p.header.timestamp) == Some(pkt.header.timestamp);
    if key && !same_picture {
        gop.clear();
    }
    if (key || !gop.is_empty()) && gop.len() < MAX_GOP_PACKETS {
        gop.push(pkt.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(seq: u16, payload: &'static [u8]) -> rtp::Packet {
        let mut p = rtp::Packet::default();
        p.header.sequence_number = seq;
        p.header.timestamp = u32::from(seq) * 3000;
        p.payload = bytes::Bytes::from_static(payload);
        p
    }

    const IDR: &[u8] = &[0x65, 1];
    const P: &[u8] = &[0x41, 1];

    #[test]
    fn a_late_viewer_starts_at_the_last_keyframe() {
        let f = Fanout::default();
        for (seq, payload) in [(1, P), (2, IDR), (3, P), (4, IDR), (5, P)] {
            f.publish(pkt(seq, payload));
        }
        let (gop, mut rx) = f.subscribe(Uuid::nil());
        let seqs: Vec<u16> = gop.iter().map(|p| p.header.sequence_number).collect();
        assert_eq!(seqs, [4, 5]);
        f.publish(pkt(6, P));
        assert_eq!(rx.try_recv().unwrap().header.sequence_number, 6);
    }

    #[test]
    fn parameter_sets_and_the_idr_after_them_stay_in_one_gop() {
        let f = Fanout::default();
        const SPS: &[u8] = &[0x67, 1];
        let mut sps = pkt(10, SPS);
        let mut idr = pkt(11, IDR);
        idr.header.timestamp = sps.header.timestamp;
        sps.header.marker = false;
        f.publish(pkt(9, P));
        f.publish(sps);
        f.publish(idr);
        f.publish(pkt(12, P));
        let (gop, _) = f.subscribe(Uuid::nil());
        let seqs: Vec<u16> = gop.iter().map(|p| p.header.sequence_number).collect();
        assert_eq!(
            seqs,
            [10, 11, 12],
            "the cache must keep the SPS before the IDR"
        );
    }

    #[test]
    fn audio_reaches_a_viewer_from_the_next_packet_and_is_never_cached() {
        let f = Fanout::audio();
        f.publish(pkt(1, &[0xfc, 1]));
        let (cached, mut rx) = f.subscribe(Uuid::nil());
        assert!(cached.is_empty(), "audio packets were cached");
        f.publish(pkt(2, &[0xfc, 2]));
        f.publish(pkt(3, &[0x7f, 3]));
        assert_eq!(rx.try_recv().unwrap().header.sequence_number, 2);
        assert_eq!(rx.try_recv().unwrap().header.sequence_number, 3);
        assert_eq!(f.cached(), 0);
    }

    #[test]
    fn a_full_queue_skips_to_the_next_keyframe() {
        let f = Fanout::default();
        f.publish(pkt(0, IDR));
        let (_, mut rx) = f.subscribe(Uuid::nil());
        for seq in 1..=(VIEWER_QUEUE as u16 + 5) {
            f.publish(pkt(seq, P));
        }
        let mut drained = 0;
        while rx.try_recv().is_ok() {
            drained += 1;
        }
        assert_eq!(drained, VIEWER_QUEUE);

        f.publish(pkt(5000, P));
        assert!(
            rx.try_recv().is_err(),
            "a packet before the keyframe got through"
        );
        f.publish(pkt(5001, IDR));
        f.publish(pkt(5002, P));
        assert_eq!(rx.try_recv().unwrap().header.sequence_number, 5001);
        assert_eq!(rx.try_recv().unwrap().header.sequence_number, 5002);
    }
}

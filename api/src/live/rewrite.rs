//! Per-viewer RTP header rewriting.
//!
//! Each viewer gets one stream of its own: its SSRC, its negotiated
//! payload type, and sequence numbers and timestamps offset from the
//! ingest's. The offsets keep the ingest's spacing, so a packet the ingest
//! lost is a gap the viewer sees (and asks for by NACK, or recovers from
//! with a keyframe request), and a packet that comes late (the relay's
//! retransmission) lands in its place instead of after its successors.
//!
//! Invariants: where the SFU itself leaves packets out (a viewer starting
//! at a keyframe, a viewer skipped ahead to the next keyframe, a new
//! ingest stream after a relay reconnect), the viewer's sequence goes on
//! from the last number it got, with no hole; a packet far behind is
//! dropped; timestamps of a new ingest stream continue one frame after the
//! last, so time never goes backwards.

use super::order::seq_step;
use rtc::rtp;

/// One frame at 25 fps in the 90 kHz clock: the step across an ingest change.
const FRAME_STEP: u32 = 3600;

/// A jump in the ingest's sequence numbers larger than this is the SFU
/// skipping ahead (its queues hold at most 1024 packets), not a loss.
const MAX_GAP: i16 = 512;

/// Where one ingest stream sits in the viewer's numbering.
#[derive(Clone, Copy)]
struct Base {
    ssrc: u32,
    /// Added to the ingest's sequence numbers.
    seq_offset: u16,
    /// Added to the ingest's timestamps.
    ts_offset: u32,
    /// The highest ingest sequence number mapped so far.
    highest: u16,
}

/// The rewriting state of one viewer.
pub struct Rewriter {
    ssrc: u32,
    payload_type: u8,
    base: Option<Base>,
    /// The last sequence number and timestamp sent (of the highest packet).
    last_seq: u16,
    last_ts: u32,
}

impl Rewriter {
    /// Starts at a random sequence number and timestamp.
    pub fn new(ssrc: u32, payload_type: u8) -> Self {
        Self {
            ssrc,
            payload_type,
            base: None,
            last_seq: rand::random(),
            last_ts: rand::random(),
        }
    }

    /// Rewrites `pkt` for this viewer; header extensions are dropped (their
    /// ids were negotiated on the ingest, not on this viewer). `None` for a
    /// packet so late that the viewer gave up on it long ago.
    pub fn apply(&mut self, mut pkt: rtp::Packet) -> Option<rtp::Packet> {
        let mut base = self.base_for(&pkt.header)?;
        let h = &mut pkt.header;
        let ahead = seq_step(h.sequence_number, base.highest) > 0;
        if ahead {
            base.highest = h.sequence_number;
        }
        h.sequence_number = h.sequence_number.wrapping_add(base.seq_offset);
        h.timestamp = h.timestamp.wrapping_add(base.ts_offset);
        if ahead {
            (self.last_seq, self.last_ts) = (h.sequence_number, h.timestamp);
        }
        self.base = Some(base);

        h.ssrc = self.ssrc;
        h.payload_type = self.payload_type;
        h.extension = false;
        h.extensions.clear();
        h.extensions_padding = 0;
        Some(pkt)
    }

    /// The offsets for `h`: the current ones, or new ones that continue
    /// the viewer's stream right after its last packet; `None` if `h` is
    /// far behind the stream.
    fn base_for(&self, h: &rtp::Header) -> Option<Base> {
        let next_seq = self.last_seq.wrapping_add(1);
        if let Some(b) = self.base.filter(|b| b.ssrc == h.ssrc) {
            let step = seq_step(h.sequence_number, b.highest);
            if step < -MAX_GAP {
                return None;
            }
            if step <= MAX_GAP {
                return Some(b);
            }
            // The SFU skipped ahead: same clock, the numbering closes up.
            return Some(Base {
                seq_offset: next_seq.wrapping_sub(h.sequence_number),
                highest: h.sequence_number.wrapping_sub(1),
                ..b
            });
        }
        let first_ts = self.last_ts.wrapping_add(FRAME_STEP);
        Some(Base {
            ssrc: h.ssrc,
            seq_offset: next_seq.wrapping_sub(h.sequence_number),
            ts_offset: first_ts.wrapping_sub(h.timestamp),
            highest: h.sequence_number.wrapping_sub(1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(ssrc: u32, seq: u16, ts: u32) -> rtp::Packet {
        let mut p = rtp::Packet::default();
        p.header.ssrc = ssrc;
        p.header.sequence_number = seq;
        p.header.timestamp = ts;
        p.header.payload_type = 96;
        p
    }

    /// `(seq, ts)` of each rewritten packet, relative to the first.
    fn run(r: &mut Rewriter, pkts: &[(u32, u16, u32)]) -> Vec<(u16, u32)> {
        let apply = |&(s, q, t): &(u32, u16, u32)| r.apply(pkt(s, q, t)).expect("rewritten");
        let out: Vec<rtp::Packet> = pkts.iter().map(apply).collect();
        let (q0, t0) = (out[0].header.sequence_number, out[0].header.timestamp);
        let rel = |p: &rtp::Packet| {
            let h = &p.header;
            (
                h.sequence_number.wrapping_sub(q0),
                h.timestamp.wrapping_sub(t0),
            )
        };
        out.iter().map(rel).collect()
    }

    #[test]
    fn the_ingests_spacing_is_kept_so_losses_show_and_late_packets_land_in_place() {
        let mut r = Rewriter::new(7, 102);
        let got = run(
            &mut r,
            &[(1, 10, 1000), (1, 12, 4600), (1, 11, 4600), (1, 13, 8200)],
        );
        // 11 was lost, then came late: it goes between 10 and 12.
        assert_eq!(got, [(0, 0), (2, 3600), (1, 3600), (3, 7200)]);
        let p = r.apply(pkt(1, 14, 8200)).unwrap();
        assert_eq!((p.header.ssrc, p.header.payload_type), (7, 102));
        assert!(
            r.apply(pkt(1, 14u16.wrapping_sub(600), 0)).is_none(),
            "hopelessly late"
        );
    }

    #[test]
    fn where_the_sfu_skips_ahead_the_numbering_closes_up() {
        let mut r = Rewriter::new(7, 102);
        let got = run(&mut r, &[(1, 100, 0), (1, 101, 0), (1, 2101, 90_000)]);
        assert_eq!(got, [(0, 0), (1, 0), (2, 90_000)], "same clock, no hole");
    }

    #[test]
    fn a_new_ingest_stream_continues_forward() {
        let mut r = Rewriter::new(7, 102);
        let got = run(&mut r, &[(1, 10, 1_000_000), (1, 11, 1_003_600), (2, 3, 5)]);
        assert_eq!(got, [(0, 0), (1, 3600), (2, 3600 + FRAME_STEP)]);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut r = Rewriter::new(7, 102);
        let got = run(
            &mut r,
            &[(1, 65534, 0), (1, 65535, 0), (1, 1, 3600), (1, 0, 3600)],
        );
        assert_eq!(got, [(0, 0), (1, 0), (3, 3600), (2, 3600)]);
    }
}

//! Per-viewer RTP header rewriting.
//!
//! Each viewer gets one stream of its own: its SSRC, its negotiated
//! payload type, sequence numbers counting up by one per packet sent (so
//! packets the SFU skipped leave no hole) and timestamps offset from the
//! ingest's. Invariant: a new ingest stream (another SSRC, as after a
//! relay reconnect) continues the viewer's timestamps one frame after the
//! last, so the viewer never sees time go backwards.

use rtc::rtp;

/// One frame at 25 fps in the 90 kHz clock: the step across an ingest change.
const FRAME_STEP: u32 = 3600;

/// The rewriting state of one viewer.
pub struct Rewriter {
    ssrc: u32,
    payload_type: u8,
    next_seq: u16,
    /// `(ingest ssrc, offset added to its timestamps)`.
    base: Option<(u32, u32)>,
    last_ts: u32,
}

impl Rewriter {
    /// Starts at a random sequence number and timestamp.
    pub fn new(ssrc: u32, payload_type: u8) -> Self {
        Self {
            ssrc,
            payload_type,
            next_seq: rand::random(),
            base: None,
            last_ts: rand::random(),
        }
    }

    /// Rewrites `pkt` for this viewer; header extensions are dropped (their
    /// ids were negotiated on the ingest, not on this viewer).
    pub fn apply(&mut self, mut pkt: rtp::Packet) -> rtp::Packet {
        let h = &mut pkt.header;
        let offset = match self.base {
            Some((ssrc, offset)) if ssrc == h.ssrc => offset,
            _ => {
                let first = self.last_ts.wrapping_add(FRAME_STEP);
                let offset = first.wrapping_sub(h.timestamp);
                self.base = Some((h.ssrc, offset));
                offset
            }
        };
        h.timestamp = h.timestamp.wrapping_add(offset);
        self.last_ts = h.timestamp;
        h.sequence_number = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        h.ssrc = self.ssrc;
        h.payload_type = self.payload_type;
        h.extension = false;
        h.extensions.clear();
        h.extensions_padding = 0;
        pkt
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

    #[test]
    fn sequence_is_gapless_and_timestamps_keep_their_spacing() {
        let mut r = Rewriter::new(7, 102);
        let a = r.apply(pkt(1, 10, 1000));
        let b = r.apply(pkt(1, 15, 4600));
        assert_eq!(
            b.header.sequence_number,
            a.header.sequence_number.wrapping_add(1)
        );
        assert_eq!(b.header.timestamp.wrapping_sub(a.header.timestamp), 3600);
        assert_eq!((b.header.ssrc, b.header.payload_type), (7, 102));
    }

    #[test]
    fn a_new_ingest_stream_continues_forward() {
        let mut r = Rewriter::new(7, 102);
        let a = r.apply(pkt(1, 10, 1_000_000));
        let b = r.apply(pkt(2, 3, 5));
        assert_eq!(
            b.header.timestamp.wrapping_sub(a.header.timestamp),
            FRAME_STEP
        );
        assert_eq!(
            b.header.sequence_number,
            a.header.sequence_number.wrapping_add(1)
        );
    }
}

//! How well a camera's video arrives from its relay: packets that were
//! missing when a later one came (`lost`) and packets that came after a
//! later one (`late`: a retransmission the ingest asked for, or reordering
//! on the way). Shown in `GET /api/v1/live/sessions`; a viewer's stream
//! keeps the same holes and late packets (`rewrite.rs`), so these say
//! whether a stutter comes from the relay's uplink or from the viewer's.

use rtc::rtp;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// How far RTP sequence number `seq` is past `from`, across the 16-bit
/// wrap: negative if it comes before.
pub fn seq_step(seq: u16, from: u16) -> i16 {
    seq.wrapping_sub(from) as i16
}

/// The counts of one camera, over all its ingests.
#[derive(Debug, Default)]
pub struct Order {
    lost: AtomicU64,
    late: AtomicU64,
}

impl Order {
    /// `(lost, late)` so far.
    pub fn get(&self) -> (u64, u64) {
        (self.lost.load(Relaxed), self.late.load(Relaxed))
    }
}

/// Follows one ingest track's sequence numbers.
#[derive(Debug, Default)]
pub struct SeqWatch {
    /// `(ssrc, highest sequence number seen)`.
    highest: Option<(u32, u16)>,
}

impl SeqWatch {
    /// Counts `h` into `order`; whether it starts a stream (a new SSRC).
    pub fn see(&mut self, h: &rtp::Header, order: &Order) -> bool {
        let Some((_, highest)) = self.highest.filter(|(s, _)| *s == h.ssrc) else {
            self.highest = Some((h.ssrc, h.sequence_number));
            return true;
        };
        let step = seq_step(h.sequence_number, highest);
        if step <= 0 {
            order.late.fetch_add(1, Relaxed);
            return false;
        }
        if step > 1 {
            let lost = step.unsigned_abs() - 1;
            order.lost.fetch_add(u64::from(lost), Relaxed);
            tracing::debug!(ssrc = h.ssrc, lost, "live ingest: packets missing");
        }
        self.highest = Some((h.ssrc, h.sequence_number));
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_count_as_lost_and_their_packets_coming_after_as_late() {
        let (order, mut watch) = (Order::default(), SeqWatch::default());
        let mut h = rtp::Header::default();
        let mut starts = vec![];
        for (ssrc, seq) in [
            (1, 65534),
            (1, 65535),
            (1, 2),
            (1, 0),
            (1, 3),
            (2, 9),
            (2, 10),
        ] {
            (h.ssrc, h.sequence_number) = (ssrc, seq);
            starts.push(watch.see(&h, &order));
        }
        // 0 and 1 missing when 2 came (across the wrap); 0 then came late;
        // a new stream (ssrc 2) starts afresh.
        assert_eq!(order.get(), (2, 1));
        let firsts: Vec<usize> = (0..starts.len()).filter(|&i| starts[i]).collect();
        assert_eq!(firsts, [0, 5], "each SSRC's first packet starts a stream");
    }
}

//! How well a camera's video arrives from its relay: packets that were
//! missing when a later one came (`lost`) and packets that came after a
//! later one (`late`: a retransmission the ingest asked for, or reordering
//! on the way). Shown in `GET /api/v1/live/sessions`; a viewer's stream
//! keeps the same holes and late packets (`rewrite.rs`), so these say
//! whether a stutter comes from the relay's uplink or from the viewer's.

use rtc::rtp;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

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
    /// Whether `h` is the first packet of a stream (a new SSRC).
    pub fn is_new(&self, h: &rtp::Header) -> bool {
        self.highest.is_none_or(|(ssrc, _)| ssrc != h.ssrc)
    }

    /// Counts `h` into `order`.
    pub fn see(&mut self, h: &rtp::Header, order: &Order) {
        if let Some((ssrc, highest)) = self.highest.filter(|(s, _)| *s == h.ssrc) {
            let step = h.sequence_number.wrapping_sub(highest) as i16;
            if step <= 0 {
                order.late.fetch_add(1, Relaxed);
                return;
            }
            if step > 1 {
                order
                    .lost
                    .fetch_add(u64::from(step.unsigned_abs() - 1), Relaxed);
                tracing::debug!(ssrc, lost = step - 1, "live ingest: packets missing");
            }
        }
        self.highest = Some((h.ssrc, h.sequence_number));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_count_as_lost_and_their_packets_coming_after_as_late() {
        let (order, mut watch) = (Order::default(), SeqWatch::default());
        let mut h = rtp::Header::default();
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
            watch.see(&h, &order);
        }
        // 0 and 1 missing when 2 came (across the wrap); 0 then came late;
        // a new stream (ssrc 2) starts afresh.
        assert_eq!(order.get(), (2, 1));
    }
}

//! Cuts one recording run's frames into keyframe-aligned segments with a
//! decode-time base that never goes backwards.
//!
//! Invariants: every segment starts with a keyframe; a segment's
//! `base_decode_time` equals the previous segment's base plus its duration
//! (so the run's segments are exactly contiguous in media time); every
//! sample lasts at least one tick. A camera's timestamps may jump backwards
//! or far forwards (reboot, RTP base change, clock set): such a step is
//! replaced by the last plausible frame duration, so media time keeps
//! tracking real time and never runs backwards.
//!
//! TODO(#3): streams with B-frames (presentation order differing from
//! decode order) need composition offsets (`trun` cts); today their
//! out-of-order timestamps count as jumps. IP cameras rarely send B-frames.

use crate::source::{Frame, TIMESCALE};

/// A frame-to-frame step longer than this is treated as a timestamp jump.
pub const MAX_FRAME_STEP: i64 = 5 * TIMESCALE as i64;

/// Frame duration assumed until two frames have shown the real one (25 fps).
const DEFAULT_FRAME_TICKS: u32 = TIMESCALE / 25;

/// One sample of a segment's track run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// In [`TIMESCALE`] ticks, at least 1.
    pub duration: u32,
    /// Bytes of this sample in `data`.
    pub size: u32,
    /// A sync sample (keyframe).
    pub is_key: bool,
}

/// A cut segment, ready for [`crate::fmp4::media_segment`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Decode time of the first sample, in ticks since the run's start.
    pub base_decode_time: u64,
    /// Sum of the samples' durations, in ticks.
    pub duration: u64,
    pub samples: Vec<Sample>,
    /// The samples' bytes, back to back (AVCC framing).
    pub data: Vec<u8>,
}

/// Segments one run. Feed frames in decode order with [`Segmenter::push`];
/// at the end of the run call [`Segmenter::finish`].
#[derive(Debug)]
pub struct Segmenter {
    target_ticks: u64,
    /// Decode time of the first pending frame.
    next_base: u64,
    pending: Vec<(Frame, u32)>,
    /// Sum of the pending frames' durations (asked for on every frame).
    pending_ticks: u64,
    last_pts: Option<i64>,
    frame_ticks: u32,
    jumps: u64,
}

impl Segmenter {
    /// A segmenter cutting at the first keyframe at or after `target_secs`.
    pub fn new(target_secs: u32) -> Self {
        Self {
            target_ticks: u64::from(target_secs.max(1)) * u64::from(TIMESCALE),
            next_base: 0,
            pending: Vec::new(),
            pending_ticks: 0,
            last_pts: None,
            frame_ticks: DEFAULT_FRAME_TICKS,
            jumps: 0,
        }
    }

    /// Adds a frame; returns the segment it completes, if any. Frames before
    /// the run's first keyframe are dropped (nothing could decode them).
    pub fn push(&mut self, frame: Frame) -> Option<Segment> {
        if self.pending.is_empty() && self.last_pts.is_none() && !frame.is_key {
            return None;
        }

        self.settle_last_duration(frame.pts);
        let cut = if frame.is_key && self.pending_ticks() >= self.target_ticks {
            self.take_segment()
        } else {
            None
        };

        self.pending.push((frame, self.frame_ticks));
        self.pending_ticks += u64::from(self.frame_ticks);
        cut
    }

    /// Ends the run: the pending frames become a last (shorter) segment, the
    /// last frame lasting one typical frame duration.
    pub fn finish(&mut self) -> Option<Segment> {
        self.take_segment()
    }

    /// Media time reached so far (end of the pending frames), in ticks.
    pub fn media_ticks(&self) -> u64 {
        self.next_base + self.pending_ticks()
    }

    /// How many timestamp jumps were smoothed over in this run.
    pub fn jumps(&self) -> u64 {
        self.jumps
    }

    /// Gives the previous frame its real duration now that the next one's
    /// timestamp is known, or a typical one if the timestamps jumped.
    fn settle_last_duration(&mut self, pts: i64) {
        let Some(last_pts) = self.last_pts.replace(pts) else {
            return;
        };

        let step = pts - last_pts;
        if (1..=MAX_FRAME_STEP).contains(&step) {
            self.frame_ticks = step as u32;
        } else {
            self.jumps += 1;
            tracing::debug!(step, "timestamp jump; using the typical frame duration");
        }
        if let Some(last) = self.pending.last_mut() {
            self.pending_ticks -= u64::from(last.1);
            last.1 = self.frame_ticks;
            self.pending_ticks += u64::from(last.1);
        }
    }

    fn pending_ticks(&self) -> u64 {
        self.pending_ticks
    }

    fn take_segment(&mut self) -> Option<Segment> {
        if self.pending.is_empty() {
            return None;
        }

        let mut seg = Segment {
            base_decode_time: self.next_base,
            duration: 0,
            samples: Vec::with_capacity(self.pending.len()),
            data: Vec::with_capacity(self.pending.iter().map(|(f, _)| f.data.len()).sum()),
        };
        self.pending_ticks = 0;
        for (frame, duration) in self.pending.drain(..) {
            seg.duration += u64::from(duration);
            seg.samples.push(Sample {
                duration,
                size: frame.data.len() as u32,
                is_key: frame.is_key,
            });
            seg.data.extend_from_slice(&frame.data);
        }

        self.next_base += seg.duration;
        Some(seg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(pts: i64, is_key: bool) -> Frame {
        Frame {
            pts,
            is_key,
            data: vec![0, 0, 0, 1, if is_key { 0x65 } else { 0x41 }],
            new_params: None,
        }
    }

    /// Feeds 25 fps frames with a keyframe every `gop`, pts from `pts_of`.
    fn feed(
        seg: &mut Segmenter,
        n: usize,
        gop: usize,
        pts_of: impl Fn(usize) -> i64,
    ) -> Vec<Segment> {
        let mut out: Vec<Segment> = (0..n)
            .filter_map(|i| seg.push(frame(pts_of(i), i % gop == 0)))
            .collect();
        out.extend(seg.finish());
        out
    }

    fn assert_contiguous(segs: &[Segment]) {
        for w in segs.windows(2) {
            assert_eq!(w[0].base_decode_time + w[0].duration, w[1].base_decode_time);
        }
        for s in segs {
            assert!(s.samples[0].is_key, "a segment starts at a keyframe");
            assert_eq!(
                s.duration,
                s.samples.iter().map(|x| u64::from(x.duration)).sum::<u64>()
            );
        }
    }

    #[test]
    fn cuts_at_the_first_keyframe_after_the_target() {
        let mut s = Segmenter::new(4);
        let segs = feed(&mut s, 250, 25, |i| 1_000 + i as i64 * 3600);
        assert_contiguous(&segs);
        assert_eq!(segs.len(), 3);
        assert_eq!(segs[0].duration, 4 * 90_000);
        assert_eq!(segs[0].samples.len(), 100);
        assert_eq!(segs[2].duration, 50 * 3600, "the last one is shorter");
        assert_eq!(s.jumps(), 0);
    }

    #[test]
    fn frames_before_the_first_keyframe_are_dropped() {
        let mut s = Segmenter::new(2);
        let segs = feed(&mut s, 60, 25, |i| i as i64 * 3600);
        let mut s2 = Segmenter::new(2);
        assert!(s2.push(frame(0, false)).is_none());
        assert_eq!(s2.media_ticks(), 0);
        assert_eq!(segs[0].base_decode_time, 0);
    }

    #[test]
    fn backwards_timestamp_jump_keeps_decode_time_increasing() {
        let mut s = Segmenter::new(2);
        // At frame 80 the camera's clock goes back by ten minutes.
        let segs = feed(&mut s, 200, 25, |i| {
            let t = i as i64 * 3600;
            if i >= 80 {
                t - 600 * 90_000
            } else {
                t
            }
        });
        assert_contiguous(&segs);
        assert_eq!(s.jumps(), 1);
        let total: u64 = segs.iter().map(|x| x.duration).sum();
        assert_eq!(
            total,
            200 * 3600,
            "the jump costs exactly one typical frame"
        );
    }

    #[test]
    fn forward_timestamp_jump_does_not_open_a_hole() {
        let mut s = Segmenter::new(2);
        let segs = feed(&mut s, 200, 25, |i| {
            let t = i as i64 * 3600;
            if i >= 120 {
                t + 3_600 * 90_000
            } else {
                t
            }
        });
        assert_contiguous(&segs);
        assert_eq!(s.jumps(), 1);
        assert!(segs.iter().all(|x| x.duration < 10 * 90_000));
        assert_eq!(s.media_ticks(), 200 * 3600);
    }

    #[test]
    fn repeated_timestamps_still_advance() {
        let mut s = Segmenter::new(1);
        let segs = feed(&mut s, 60, 30, |i| (i as i64 / 2) * 3600);
        assert_contiguous(&segs);
        assert!(segs
            .iter()
            .flat_map(|x| &x.samples)
            .all(|x| x.duration >= 1));
    }
}

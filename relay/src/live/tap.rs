//! The live tap of one camera: where its recorder hands frames to a live
//! push while someone watches.
//!
//! Invariants: with nobody subscribed, [`Tap::offer`] costs one atomic load
//! and copies nothing; the recorder never waits on a push (a full queue
//! drops the frame and every frame after it until the next keyframe, so the
//! push always resumes on a decodable picture).

use super::audio::AudioSource;
use crate::segment::Codec;
use crate::source::{Frame, VideoParams};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Frames queued for a push before the tap starts dropping (~2 s at 25 fps).
const QUEUE: usize = 50;

/// One picture for a live push.
#[derive(Clone, Debug)]
pub struct LiveFrame {
    pub codec: Codec,
    pub is_key: bool,
    /// Presentation time, 90 kHz.
    pub pts: i64,
    /// Annex B (start codes); a keyframe carries its parameter sets.
    pub data: Vec<u8>,
}

#[derive(Default)]
struct Inner {
    on: AtomicBool,
    queue: Mutex<Option<mpsc::Sender<LiveFrame>>>,
    /// A frame was dropped: skip until the next keyframe.
    resync: AtomicBool,
    /// A push waits for a keyframe: ask the source for one.
    key_request: AtomicBool,
    /// Where the camera's audio comes from, if live view can play it.
    audio: Mutex<Option<AudioSource>>,
}

/// Cheap to clone; the recorder and the push share one.
#[derive(Clone, Default)]
pub struct Tap(Arc<Inner>);

impl std::fmt::Debug for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tap").field("on", &self.is_on()).finish()
    }
}

impl Tap {
    /// Starts a subscription (replacing any older one); frames arrive on
    /// the receiver, starting at the next keyframe.
    pub fn subscribe(&self) -> mpsc::Receiver<LiveFrame> {
        let (tx, rx) = mpsc::channel(QUEUE);
        *self.lock() = Some(tx);
        self.0.resync.store(true, Ordering::Relaxed);
        self.0.key_request.store(true, Ordering::Relaxed);
        self.0.on.store(true, Ordering::Release);
        rx
    }

    /// Whether a push asked for a keyframe since the last call.
    pub fn take_key_request(&self) -> bool {
        self.is_on() && self.0.key_request.swap(false, Ordering::Relaxed)
    }

    /// Ends a subscription whose receiver was dropped; the recorder stops
    /// copying frames. A newer subscription (a push that started while an
    /// older one was still saying goodbye to the cloud) is left alone.
    pub fn unsubscribe(&self) {
        let mut queue = self.lock();
        if queue.as_ref().is_some_and(|tx| !tx.is_closed()) {
            return;
        }
        self.0.on.store(false, Ordering::Release);
        *queue = None;
    }

    /// Whether a push is subscribed.
    pub fn is_on(&self) -> bool {
        self.0.on.load(Ordering::Acquire)
    }

    /// Called by the recorder for every frame, with the parameters that decode it.
    pub fn offer(&self, params: &VideoParams, frame: &Frame) {
        if !self.is_on() {
            return;
        }
        if self.0.resync.load(Ordering::Relaxed) {
            if !frame.is_key {
                return;
            }
            self.0.resync.store(false, Ordering::Relaxed);
        }

        let live = LiveFrame {
            codec: params.info.codec,
            is_key: frame.is_key,
            pts: frame.pts,
            data: super::annexb::from_avcc(&frame.data, frame.is_key, params),
        };
        let full = match self.lock().as_ref() {
            Some(tx) => tx.try_send(live).is_err(),
            None => false,
        };
        if full {
            self.0.resync.store(true, Ordering::Relaxed);
            self.0.key_request.store(true, Ordering::Relaxed);
        }
    }

    /// Set by the recorder each time it connects: the camera's audio, if
    /// its codec is one live view forwards.
    pub fn set_audio(&self, audio: Option<AudioSource>) {
        *self.0.audio.lock().unwrap_or_else(|e| e.into_inner()) = audio;
    }

    /// The camera's forwardable audio, as last connected.
    pub fn audio(&self) -> Option<AudioSource> {
        self.0
            .audio
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<mpsc::Sender<LiveFrame>>> {
        self.0.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_old_push_ending_leaves_a_newer_subscription_alone() {
        let tap = Tap::default();
        let old = tap.subscribe();
        let new = tap.subscribe();
        drop(old);
        tap.unsubscribe();
        assert!(tap.is_on(), "the newer push lost its frames");
        drop(new);
        tap.unsubscribe();
        assert!(!tap.is_on(), "nobody subscribed, yet frames are copied");
    }
}

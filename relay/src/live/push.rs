//! One camera's live push, from start-live until stop-live: subscribe to
//! the camera's tap, wait for a keyframe, offer over WHIP, forward frames;
//! on a failure (the cloud restarting, the network dropping, the camera
//! going away for a while) try again with capped backoff.
//!
//! Invariants: a push starts every connection at a keyframe; it ends for
//! good only when told to stop, when the cloud refuses it for a reason
//! retrying cannot fix (camera unknown, nobody watching), or when the
//! camera is not H.264; on every end it says `DELETE` to the cloud.

use super::audio::{self, AudioPacket};
use super::tap::{LiveFrame, Tap};
use super::whip::{self, Publisher};
use super::LiveError;
use crate::cloud::Cloud;
use crate::segment::Codec;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tracing::Instrument;
use uuid::Uuid;
use webrtc::peer_connection::RTCPeerConnectionState;

const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// A frame's duration when the timestamps say nothing sensible (25 fps).
const DEFAULT_FRAME: Duration = Duration::from_millis(40);
/// Audio packets queued for the connection (~2 s of 20 ms packets).
const AUDIO_QUEUE: usize = 100;

/// How one connection attempt ended.
enum Outcome {
    Stopped,
    /// Retrying cannot help; the reason was logged.
    Final,
    Failed(LiveError),
}

/// Where a push goes: an api node's origin and the WHIP path on it.
pub type Target = (String, String);

/// Pushes `camera` to `target` until `stop` turns true.
pub async fn run(
    cloud: Cloud,
    camera: Uuid,
    target: Target,
    tap: Tap,
    mut stop: watch::Receiver<bool>,
) {
    let mut delay = BACKOFF_MIN;
    loop {
        let outcome = attempt(&cloud, &target, &tap, &mut stop).await;
        tap.unsubscribe();
        let error = match outcome {
            Outcome::Stopped | Outcome::Final => break,
            Outcome::Failed(e) => e,
        };

        let retry_in_ms = delay.as_millis() as u64;
        tracing::warn!(error = %error, retry_in_ms, "live push interrupted");
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        delay = (delay * 2).min(BACKOFF_MAX);
    }
    tracing::info!(camera.id = %camera, "live push ended");
}

/// One connection: from the next keyframe until it fails or is stopped.
async fn attempt(
    cloud: &Cloud,
    target: &Target,
    tap: &Tap,
    stop: &mut watch::Receiver<bool>,
) -> Outcome {
    let mut frames = tap.subscribe();
    let first = tokio::select! {
        f = frames.recv() => f,
        _ = stop.wait_for(|s| *s) => return Outcome::Stopped,
    };
    let Some(first) = first else {
        return Outcome::Failed(LiveError::NoFrames);
    };
    if first.codec != Codec::H264 {
        tracing::warn!(
            codec = first.codec.as_str(),
            "live view needs H.264: this camera sends H.265 (use its H.264 substream)"
        );
        return Outcome::Final;
    }

    let audio = tap.audio();
    let codec = audio.as_ref().map(|a| a.codec);
    let publisher = tokio::select! {
        p = whip::connect(cloud, &target.0, &target.1, codec) => p,
        _ = stop.wait_for(|s| *s) => return Outcome::Stopped,
    };
    let publisher = match publisher {
        Ok(p) => p,
        Err(e) if e.is_permanent() => {
            tracing::warn!(error = %e, "the cloud refused the live push");
            return Outcome::Final;
        }
        Err(e) => return Outcome::Failed(e),
    };
    tracing::info!(audio = publisher.audio.is_some(), "live push connected");

    let (audio_tx, audio_rx) = mpsc::channel(AUDIO_QUEUE);
    let audio_task = match (&publisher.audio, audio) {
        (Some(_), Some(src)) => {
            let run = audio::run(src, audio_tx).instrument(tracing::Span::current());
            Some(tokio::spawn(run))
        }
        _ => None,
    };
    let outcome = forward(&publisher, first, &mut frames, audio_rx, stop).await;
    if let Some(t) = audio_task {
        t.abort();
    }
    publisher.close(cloud).await;
    outcome
}

/// Sends frames (and audio packets, if any) until the connection fails,
/// the tap closes or `stop`.
async fn forward(
    publisher: &Publisher,
    first: LiveFrame,
    frames: &mut mpsc::Receiver<LiveFrame>,
    mut audio: mpsc::Receiver<AudioPacket>,
    stop: &mut watch::Receiver<bool>,
) -> Outcome {
    let mut state = publisher.state.clone();
    let mut last_pts = first.pts;
    let mut next = Some(first);
    loop {
        if let Some(frame) = next.take() {
            let duration = frame_duration(last_pts, frame.pts);
            last_pts = frame.pts;
            if let Err(e) = publisher.send(frame.data, duration).await {
                return Outcome::Failed(e);
            }
        }

        let sound = tokio::select! {
            f = frames.recv() => match f {
                Some(f) => { next = Some(f); None }
                None => return Outcome::Failed(LiveError::NoFrames),
            },
            Some(pkt) = audio.recv() => Some(pkt),
            _ = stop.wait_for(|s| *s) => return Outcome::Stopped,
            _ = state.wait_for(ended) => return Outcome::Failed(LiveError::NotConnected),
        };
        if let Some(pkt) = sound {
            send_audio(publisher, pkt).await;
        }
    }
}

/// Audio that cannot be sent is dropped: the video decides the push's fate.
async fn send_audio(publisher: &Publisher, pkt: AudioPacket) {
    if let Some(track) = &publisher.audio {
        if let Err(e) = track.send(pkt).await {
            tracing::debug!(error = %e, "an audio packet was not sent");
        }
    }
}

fn ended(s: &RTCPeerConnectionState) -> bool {
    matches!(
        s,
        RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed
    )
}

/// The time since the previous frame, or 40 ms when the timestamps jumped.
fn frame_duration(prev_pts: i64, pts: i64) -> Duration {
    let ticks = pts - prev_pts;
    match ticks {
        900..=90_000 => Duration::from_micros(ticks as u64 * 1_000_000 / 90_000),
        _ => DEFAULT_FRAME,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_durations_follow_the_camera_and_survive_jumps() {
        assert_eq!(frame_duration(0, 3600), Duration::from_millis(40));
        assert_eq!(frame_duration(0, 3000), Duration::from_micros(33_333));
        assert_eq!(frame_duration(5_000_000, 0), DEFAULT_FRAME);
        assert_eq!(frame_duration(0, 0), DEFAULT_FRAME);
    }
}

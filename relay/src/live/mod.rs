//! Live view from the relay's side: when the cloud says start-live for a
//! camera, push that camera's video to the cloud's SFU over WHIP (issue
//! #4), without transcoding; on stop-live, end the push.
//!
//! Flow: the recorder hands every frame to the camera's [`tap::Tap`] (free
//! while nobody watches) → [`annexb`] → [`push`] (one task per watched
//! camera, reconnecting) → [`whip`] (the peer connection) → the cloud.
//! A camera's Opus or G.711 audio takes its own way: [`audio`] opens an
//! audio-only RTSP session while the push runs and feeds the same
//! connection's audio track.
//! Invariant: at most one push per camera; a start-live for a camera
//! already pushing changes nothing, so the cloud may repeat it freely (it
//! does after every reconnect of the control channel).

pub mod annexb;
pub mod audio;
pub mod audio_track;
pub mod push;
pub mod route;
pub mod tap;
pub mod whip;

use crate::cameras::Task;
use crate::cloud::{Cloud, CloudError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tracing::Instrument;
use uuid::Uuid;

/// The tap of every camera being recorded, by camera id.
pub type Taps = Arc<Mutex<HashMap<Uuid, tap::Tap>>>;

/// Why a live push failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    #[error("cloud: {0}")]
    Cloud(#[from] CloudError),
    #[error("webrtc: {0}")]
    WebRtc(#[from] webrtc::error::Error),
    #[error("{0}")]
    Route(String),
    #[error("no local offer")]
    NoOffer,
    #[error("the connection to the SFU did not come up or failed")]
    NotConnected,
    #[error("the SFU's answer has no H.264")]
    NoH264,
    #[error("the camera's recorder stopped")]
    NoFrames,
}

impl LiveError {
    /// Whether trying again cannot help (the cloud refused the push itself).
    pub fn is_permanent(&self) -> bool {
        matches!(self, LiveError::Cloud(e) if e.is_permanent())
    }
}

struct Push {
    target: push::Target,
    stop: watch::Sender<bool>,
    task: Task,
}

/// The relay's live pushes.
pub struct Live {
    cloud: Cloud,
    taps: Taps,
    pushes: HashMap<Uuid, Push>,
    /// Pushes told to stop, finishing their `DELETE`.
    stopping: Vec<Task>,
}

impl Live {
    pub fn new(cloud: Cloud, taps: Taps) -> Self {
        Self {
            cloud,
            taps,
            pushes: HashMap::new(),
            stopping: Vec::new(),
        }
    }

    /// Start-live: pushes `camera` to `whip_url` unless it already is (a
    /// push to another URL, e.g. an older live home, is replaced).
    pub fn start(&mut self, camera: Uuid, whip_url: &str) {
        self.stopping.retain(|t| !t.is_finished());
        let Some(target) = self.cloud.whip_target(whip_url) else {
            tracing::warn!(camera.id = %camera, "start-live with an unusable WHIP URL; refused");
            return;
        };
        let running = self.pushes.get(&camera).filter(|p| !p.task.is_finished());
        if running.is_some_and(|p| p.target == target) {
            tracing::debug!(camera.id = %camera, "start-live: already pushing");
            return;
        }
        self.stop(camera);
        let tap = self.taps.lock().expect("taps lock").get(&camera).cloned();
        let Some(tap) = tap else {
            tracing::warn!(camera.id = %camera, "start-live for a camera this relay does not record");
            return;
        };

        tracing::info!(camera.id = %camera, "live push starting");
        let (stop, stopped) = watch::channel(false);
        let span = tracing::info_span!("live", camera.id = %camera);
        let run = push::run(self.cloud.clone(), camera, target.clone(), tap, stopped);
        let task = Task::spawn(run.instrument(span));
        self.pushes.insert(camera, Push { target, stop, task });
    }

    /// Stop-live: ends the push of `camera`, if any.
    pub fn stop(&mut self, camera: Uuid) {
        if let Some(push) = self.pushes.remove(&camera) {
            let _ = push.stop.send(true);
            self.stopping.push(push.task);
        }
    }

    /// Ends the pushes of cameras that are no longer configured.
    pub fn retain(&mut self, configured: impl Fn(&Uuid) -> bool) {
        let gone: Vec<Uuid> = self
            .pushes
            .keys()
            .filter(|id| !configured(id))
            .copied()
            .collect();
        for camera in gone {
            self.stop(camera);
        }
    }

    /// Cameras being pushed now.
    pub fn pushing(&self) -> Vec<Uuid> {
        let live = self.pushes.iter().filter(|(_, p)| !p.task.is_finished());
        live.map(|(id, _)| *id).collect()
    }
}

//! One recorder task per configured camera: started when the camera is
//! added, restarted when its config changes, stopped when it is removed;
//! its health forwarded to the cloud whenever it changes.
//!
//! Invariant: a camera records only once its data key is known (fresh
//! from the cloud, or cached in the state dir during a WAN outage), so
//! every segment it produces can be sealed.

use crate::cloud::Cloud;
use crate::ingest::Keys;
use crate::live::Taps;
use crate::recorder;
use crate::segment::RecorderEvent;
use crate::state::{Cache, DataKey};
use argus_core::wire::control::{CameraHealth, RelayMessage};
use argus_core::wire::{CameraConfig, RelayConfig};
use argus_core::Secret;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;
use uuid::Uuid;

/// A spawned task that is aborted when this handle is dropped, so that
/// aborting `run` stops everything it started.
pub struct Task(JoinHandle<()>);

impl Task {
    /// Spawns `future` on the current runtime.
    pub fn spawn(future: impl Future<Output = ()> + Send + 'static) -> Self {
        Self(tokio::spawn(future))
    }
}

impl Task {
    /// Whether the task has ended on its own.
    pub fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The latest health of every camera, for the control channel's hello.
pub type HealthMap = Arc<Mutex<HashMap<Uuid, CameraHealth>>>;

/// What every camera task shares.
#[derive(Clone)]
pub struct Context {
    pub cloud: Cloud,
    pub cache: Cache,
    pub keys: Keys,
    pub events: mpsc::Sender<RecorderEvent>,
    pub to_cloud: mpsc::Sender<RelayMessage>,
    pub health: HealthMap,
    pub retry_max: Duration,
    /// Each recorded camera's live tap (see [`crate::live`]).
    pub taps: Taps,
}

/// The running cameras.
pub struct Cameras {
    ctx: Context,
    running: HashMap<Uuid, (CameraConfig, Task)>,
}

impl Cameras {
    /// No camera running yet.
    pub fn new(ctx: Context) -> Self {
        Self {
            ctx,
            running: HashMap::new(),
        }
    }

    /// Makes the running set match `config`.
    pub fn apply(&mut self, config: &RelayConfig) {
        let wanted: HashMap<Uuid, &CameraConfig> =
            config.cameras.iter().map(|c| (c.id, c)).collect();
        self.running.retain(|id, (running, _)| {
            let keep = wanted.get(id).is_some_and(|c| *c == running);
            if !keep {
                tracing::info!(camera.id = %id, "camera stopped");
            }
            keep
        });
        let mut health = self.ctx.health.lock().expect("health lock");
        health.retain(|id, _| wanted.contains_key(id));
        drop(health);
        let mut taps = self.ctx.taps.lock().expect("taps lock");
        taps.retain(|id, _| wanted.contains_key(id));
        drop(taps);

        for camera in &config.cameras {
            if self.running.contains_key(&camera.id) {
                continue;
            }
            tracing::info!(camera.id = %camera.id, camera.name = %camera.name, "camera started");
            let span = tracing::info_span!("camera", camera.id = %camera.id);
            let task = Task::spawn(camera_task(self.ctx.clone(), camera.clone()).instrument(span));
            self.running.insert(camera.id, (camera.clone(), task));
        }
    }
}

async fn camera_task(ctx: Context, camera: CameraConfig) {
    let initial = CameraHealth::connecting(camera.id);
    ctx.health
        .lock()
        .expect("health lock")
        .insert(camera.id, initial.clone());
    ensure_key(&ctx, camera.id).await;

    let credentials = camera
        .credentials
        .as_deref()
        .and_then(|sealed| open_credentials(&ctx, sealed));
    let (health_tx, health_rx) = watch::channel(initial);
    // A restarted camera keeps its tap, so a live push carries on.
    let tap = ctx
        .taps
        .lock()
        .expect("taps lock")
        .entry(camera.id)
        .or_default()
        .clone();
    let options = recorder::RecorderOptions {
        live: Some(tap),
        ..Default::default()
    };
    let events = ctx.events.clone();
    let record = recorder::run_with(camera, credentials, events, health_tx, options);
    tokio::join!(record, forward_health(ctx, health_rx));
}

/// Waits until the camera's data key is known: the cached one, else one
/// fetched from the cloud (retried with capped backoff) and cached.
async fn ensure_key(ctx: &Context, camera: Uuid) {
    if ctx.keys.read().expect("keys lock").contains_key(&camera) {
        return;
    }

    let mut wait = Duration::from_millis(500);
    let key = loop {
        match ctx
            .cloud
            .data_key(camera)
            .await
            .map(|r| DataKey::decode(r.key_id, &r.key))
        {
            Ok(Some(key)) => break key,
            Ok(None) => tracing::warn!("the cloud sent a malformed data key"),
            Err(e) => tracing::warn!(error = %e, "no data key yet; camera waits to record"),
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(ctx.retry_max);
    };

    let mut keys = ctx.keys.write().expect("keys lock");
    keys.insert(camera, key);
    if let Err(e) = ctx.cache.save_keys(&keys) {
        tracing::warn!(error = %e, "could not cache the data key");
    }
}

fn open_credentials(ctx: &Context, sealed: &str) -> Option<Secret<String>> {
    let opened = ctx.cloud.identity().sealing.open(sealed);
    let text = opened.and_then(|bytes| String::from_utf8(bytes).ok());
    if text.is_none() {
        tracing::warn!("camera credentials are not sealed to this relay; recording without them");
    }
    text.map(Secret::new)
}

/// How often a camera whose state did not change refreshes its bitrate and
/// last-frame time at the cloud (each report is a database write there).
const HEALTH_REFRESH: Duration = Duration::from_secs(10);

/// Sends the camera's health to the cloud: at once when its state, error,
/// codec or size changes (or its bitrate first becomes known), else at most
/// every [`HEALTH_REFRESH`].
async fn forward_health(ctx: Context, mut health: watch::Receiver<CameraHealth>) {
    let mut sent: Option<(CameraHealth, tokio::time::Instant)> = None;
    while health.changed().await.is_ok() {
        let now = health.borrow_and_update().clone();
        ctx.health
            .lock()
            .expect("health lock")
            .insert(now.camera_id, now.clone());
        let due = match &sent {
            Some((last, at)) => changed(last, &now) || at.elapsed() >= HEALTH_REFRESH,
            None => true,
        };
        if !due {
            continue;
        }
        if ctx
            .to_cloud
            .try_send(RelayMessage::Camera(now.clone()))
            .is_err()
        {
            tracing::debug!("control channel busy; camera health sent with the next hello");
        }
        sent = Some((now, tokio::time::Instant::now()));
    }
}

/// Whether `now` says something new, beyond a refreshed bitrate or frame time.
fn changed(last: &CameraHealth, now: &CameraHealth) -> bool {
    last.state != now.state
        || last.error != now.error
        || last.codec != now.codec
        || (last.width, last.height) != (now.width, now.height)
        || (last.bitrate_bps == 0) != (now.bitrate_bps == 0)
}

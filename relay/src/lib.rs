//! The Argus relay: runs on a customer's site, pulls its IP cameras over
//! RTSP, cuts their video into fMP4 segments, encrypts each one and pushes
//! it to object storage over outbound connections only.
//!
//! Data flow, one module per step:
//! `source` (RTSP via retina, or the simulated camera) → `segmenter` and
//! `fmp4` (keyframe-aligned fragments) → `recorder` (one task per camera,
//! reconnecting) → `segment` events → `spool` (encrypted, bounded on-disk
//! buffer) → `uplink` (slot, PUT, commit) and `control` (the WebSocket to
//! the cloud). `identity` holds the relay's keys; `cloud` signs requests.
//! [`run`] ties them together: `cameras` supervises one recorder per
//! camera, `ingest` seals their segments into the spool, `state` keeps the
//! state dir's files.

pub mod cameras;
pub mod cloud;
pub mod config;
pub mod continuity;
pub mod control;
pub mod fmp4;
pub mod identity;
pub mod ingest;
pub mod live;
pub mod recorder;
pub mod segment;
pub mod segmenter;
pub mod source;
pub mod spool;
pub mod state;
pub mod uplink;

use argus_core::wire::control::{CloudMessage, RelayMessage, UplinkHealth};
use argus_core::wire::PROTOCOL_VERSION;
use cameras::{Cameras, Context, HealthMap, Task};
use cloud::Cloud;
use continuity::Continuity;
use identity::Identity;
use spool::Spool;
use state::Cache;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};
use tracing::Instrument;

/// How often the relay sends a heartbeat and polls its config.
const HEARTBEAT: Duration = Duration::from_secs(5);
const CONFIG_POLL: Duration = Duration::from_secs(60);

/// Runs the relay until its task is aborted: loads or enrolls its identity,
/// records every configured camera into the spool, uploads it, and keeps
/// the control channel. Returns early only if it cannot start.
pub async fn run(opts: config::RelayOptions) -> anyhow::Result<()> {
    let identity = Arc::new(identity::load_or_enroll(&opts).await?);
    let span = tracing::info_span!("relay", relay.id = %identity.relay_id);
    serve(opts, identity).instrument(span).await
}

async fn serve(opts: config::RelayOptions, identity: Arc<Identity>) -> anyhow::Result<()> {
    let cloud = Cloud::new(opts.cloud_base(), opts.http_timeout(), identity.clone());
    let cache = Cache::new(&opts.state_dir);
    let (dir, cap) = (opts.state_dir.join("spool"), opts.spool_max_bytes);
    let spool = Arc::new(tokio::task::spawn_blocking(move || Spool::open(&dir, cap)).await??);
    let wake = Arc::new(Notify::new());
    let keys: ingest::Keys = Arc::new(RwLock::new(cache.keys()));
    let health = HealthMap::default();
    let taps = live::Taps::default();

    let (events_tx, events_rx) = mpsc::channel(64);
    let (to_cloud_tx, to_cloud_rx) = mpsc::channel(64);
    let (from_cloud_tx, from_cloud) = mpsc::channel(16);
    let uplink_opts = uplink::UplinkOptions {
        parallel: opts.upload_parallel,
        commit_batch: opts.commit_batch,
        retry_max: opts.retry_max(),
    };
    let tenant = identity.tenant_id;
    let _tasks = [
        Task::spawn(uplink::run(
            cloud.clone(),
            spool.clone(),
            wake.clone(),
            uplink_opts,
        )),
        Task::spawn(ingest::run(
            tenant,
            keys.clone(),
            spool.clone(),
            wake,
            Continuity::new(&opts.state_dir),
            events_rx,
        )),
        Task::spawn(control_channel(
            &opts,
            &identity,
            &health,
            to_cloud_rx,
            from_cloud_tx.clone(),
        )),
        Task::spawn(heartbeat(spool, to_cloud_tx.clone())),
        Task::spawn(poll_config(cloud.clone(), from_cloud_tx)),
    ];
    tracing::info!(cloud = %opts.cloud_base(), "relay started");

    let ctx = Context {
        cloud,
        cache: cache.clone(),
        keys,
        events: events_tx,
        to_cloud: to_cloud_tx,
        health,
        retry_max: opts.retry_max(),
        taps: taps.clone(),
    };
    let live = live::Live::new(ctx.cloud.clone(), taps);
    follow_cloud(Cameras::new(ctx), live, &cache, from_cloud).await
}

/// Applies every config the cloud sends (pushed or polled), starting from
/// the cached one so a restart during a WAN outage records at once.
async fn follow_cloud(
    mut cameras: Cameras,
    mut live: live::Live,
    cache: &Cache,
    mut from_cloud: mpsc::Receiver<CloudMessage>,
) -> anyhow::Result<()> {
    let mut current = cache.config();
    if let Some(config) = &current {
        cameras.apply(config);
    }

    while let Some(message) = from_cloud.recv().await {
        match message {
            CloudMessage::Config(config) if current.as_ref() != Some(&config) => {
                if let Err(e) = cache.save_config(&config) {
                    tracing::warn!(error = %e, "could not cache the config");
                }
                cameras.apply(&config);
                live.retain(|id| config.cameras.iter().any(|c| c.id == *id));
                current = Some(config);
            }
            CloudMessage::Config(_) => {}
            CloudMessage::StartLive {
                camera_id,
                whip_url,
            } => live.start(camera_id, &whip_url),
            CloudMessage::StopLive { camera_id } => live.stop(camera_id),
        }
    }
    anyhow::bail!("the cloud message channel closed")
}

fn control_channel(
    opts: &config::RelayOptions,
    identity: &Arc<Identity>,
    health: &HealthMap,
    to_cloud: mpsc::Receiver<RelayMessage>,
    from_cloud: mpsc::Sender<CloudMessage>,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let url = format!("{}/relay/v1/connect", opts.cloud_base());
    let id = identity.clone();
    let token: control::TokenFn = Arc::new(move || id.token().expose().clone());
    let health = health.clone();
    let hello: control::HelloFn = Arc::new(move || RelayMessage::Hello {
        protocol: PROTOCOL_VERSION,
        version: env!("CARGO_PKG_VERSION").into(),
        cameras: health
            .lock()
            .expect("health lock")
            .values()
            .cloned()
            .collect(),
    });
    control::run(url, token, hello, to_cloud, from_cloud)
}

async fn heartbeat(spool: Arc<Spool>, to_cloud: mpsc::Sender<RelayMessage>) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    loop {
        tick.tick().await;
        let stats = spool.stats();
        let uplink = UplinkHealth {
            buffered_segments: stats.segments,
            buffered_bytes: stats.bytes,
            dropped_segments: stats.dropped,
        };
        let _ = to_cloud.try_send(RelayMessage::Heartbeat { uplink });
    }
}

/// Fetches the config at start and every minute, so a missed push or a
/// start during a WAN outage heals itself; delivered like a push.
async fn poll_config(cloud: Cloud, to: mpsc::Sender<CloudMessage>) {
    let mut wait = Duration::from_secs(1);
    loop {
        match cloud.config().await {
            Ok(config) => {
                if to.send(CloudMessage::Config(config)).await.is_err() {
                    return;
                }
                wait = CONFIG_POLL;
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not fetch the config; using the cached one");
                wait = (wait * 2).min(CONFIG_POLL);
            }
        }
        tokio::time::sleep(wait).await;
    }
}

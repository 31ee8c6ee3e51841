//! A tenant whose simulated camera is recorded by the real relay
//! (`argus_relay::run` in this process), for live-view tests: config for
//! an api that records, the relay's start and restart, and the SFU's
//! stats of the camera.

#![allow(dead_code)] // shared by several test binaries, each using a part

use super::common::{recording, world, TestApp};
use argus_api::Config;
use argus_core::Secret;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use uuid::Uuid;

/// 25 fps, a keyframe every 4 s, as the test asks.
pub const SIM: &str = "sim://live-relay?fps=25&size=320x240&gop=100";

/// What every node of a live test shares: storage and master key.
#[derive(Clone)]
pub struct Shared {
    storage: argus_api::config::StorageConfig,
    master_key: Secret<String>,
}

impl Shared {
    pub fn new() -> Self {
        let key = argus_core::envelope::random_key();
        Self {
            storage: recording::storage_config(),
            master_key: argus_api::keys::encode_key(&key),
        }
    }

    /// Sets up `cfg` to record, with a 1 s live grace period.
    pub fn apply(&self, cfg: &mut Config) {
        cfg.storage = Some(self.storage.clone());
        cfg.keys.master_key = Some(self.master_key.clone());
        cfg.live.grace_secs = 1;
    }
}

/// A tenant with a relay (not started) and its simulated camera.
pub struct Site {
    pub token: String,
    pub camera: Uuid,
    pub claim_code: String,
}

pub async fn site(app: &TestApp, slug: &str) -> Site {
    site_with(app, slug, SIM).await
}

/// [`site`] with a camera of `source_url`.
pub async fn site_with(app: &TestApp, slug: &str, source_url: &str) -> Site {
    let tenant = world::tenant(app, slug).await;
    let token = tenant.admin_token.clone();
    let site = tenant.sites[0];
    let body = json!({ "site_id": site, "name": "live relay" });
    let r = app
        .ok("post", "/api/v1/relays", &token, Some(body), 201)
        .await;
    let claim_code = r["claim_code"].as_str().unwrap().to_string();
    let relay = r["relay"]["id"].clone();
    let body =
        json!({ "site_id": site, "name": "sim", "source_url": source_url, "relay_id": relay });
    let cam = app
        .ok("post", "/api/v1/cameras", &token, Some(body), 201)
        .await;
    Site {
        token,
        camera: cam["id"].as_str().unwrap().parse().unwrap(),
        claim_code,
    }
}

/// A state dir of its own for a relay.
pub fn relay_dir() -> PathBuf {
    std::env::temp_dir().join(format!("argus-live-relay-{}", Uuid::new_v4()))
}

/// Runs the relay against `cloud` until the handle is aborted.
pub fn start_relay(
    cloud: &str,
    dir: &Path,
    code: Option<String>,
) -> JoinHandle<anyhow::Result<()>> {
    let mut opts = argus_relay::config::RelayOptions::new(cloud, dir);
    opts.claim_code = code.map(Secret::new);
    opts.retry_max_secs = 1;
    tokio::spawn(argus_relay::run(opts))
}

/// Waits until the relay reports the camera online.
pub async fn wait_online(app: &TestApp, s: &Site) {
    let path = format!("/api/v1/cameras/{}", s.camera);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let cam = app.ok("get", &path, &s.token, None, 200).await;
        if cam["health_state"] == "online" {
            return;
        }
        assert!(Instant::now() < deadline, "camera never online: {cam}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `GET /api/v1/live/sessions` on the node at `base`.
pub async fn stats(app: &TestApp, base: &str, s: &Site) -> Value {
    let path = "/api/v1/live/sessions";
    let (status, body) = app.call_at(base, "get", path, Some(&s.token), None).await;
    assert_eq!(status.as_u16(), 200, "{body}");
    body
}

/// The camera's entry in the stats of the node at `base` (null if unwatched).
pub async fn camera_stats(app: &TestApp, base: &str, s: &Site) -> Value {
    let all = stats(app, base, s).await;
    let cams = all["cameras"].as_array().cloned().unwrap_or_default();
    let id = s.camera.to_string();
    let mine = cams.into_iter().find(|c| c["camera_id"] == id.as_str());
    mine.unwrap_or(Value::Null)
}

/// Polls the camera's stats on `base` until `done` holds.
pub async fn wait_camera(
    app: &TestApp,
    base: &str,
    s: &Site,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let c = camera_stats(app, base, s).await;
        if done(&c) {
            return c;
        }
        assert!(Instant::now() < deadline, "never {what}: {c}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Ends a viewer session on the node at `base`.
pub async fn end(app: &TestApp, base: &str, s: &Site, session: &str) {
    let (status, body) = app
        .call_at(base, "delete", session, Some(&s.token), None)
        .await;
    assert_eq!(status.as_u16(), 204, "{body}");
}

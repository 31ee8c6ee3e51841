//! One tenant recording one GStreamer camera through a relay whose links
//! to the api and to object storage both pass through cuttable proxies.

use super::camera::{Camera, CameraOpts};
use super::catalog::{segments, Seg};
use super::proxy::Proxy;
use super::rest::Admin;
use super::stack::{s3_endpoint, start_relay, Api, Proc};
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use uuid::Uuid;

pub struct Recording {
    pub dir: PathBuf,
    pub cam: Camera,
    pub api: Api,
    pub admin: Admin,
    /// Relay → api.
    pub cloud_link: Proxy,
    /// Relay (and api) → object storage.
    pub s3_link: Proxy,
    pub relay_id: Uuid,
    pub relay: Proc,
    pub camera_id: Uuid,
}

impl Recording {
    pub async fn start(name: &str) -> Self {
        let dir = super::scratch(name);
        let cam = Camera::start(CameraOpts::default());
        let s3_link = Proxy::start(addr_of(&s3_endpoint())).await;
        let api = Api::start(&dir, &s3_link.url()).await;
        let cloud_link = Proxy::start(addr_of(&api.url)).await;
        let admin = Admin::new_tenant(&api.url, name).await;

        let site = admin.site("plant").await;
        let (relay_id, code) = admin.relay(site, "plant relay").await;
        let relay = start_relay(&dir.join("relay"), &cloud_link.url(), Some(&code));
        admin.wait_enrolled(relay_id).await;
        let camera_id = admin.camera(site, relay_id, &cam.url, json!({})).await;
        Self {
            dir,
            cam,
            api,
            admin,
            cloud_link,
            s3_link,
            relay_id,
            relay,
            camera_id,
        }
    }

    /// Restarts the relay process on the same state dir (no claim code).
    pub fn restart_relay(&mut self) {
        self.relay = start_relay(&self.dir.join("relay"), &self.cloud_link.url(), None);
    }

    /// The catalog's segments, by start time.
    pub async fn segments(&self) -> Vec<Seg> {
        segments(&self.admin.catalog(self.camera_id).await)
    }

    /// The catalog's gaps.
    pub async fn gaps(&self) -> Vec<serde_json::Value> {
        let c = self.admin.catalog(self.camera_id).await;
        c["gaps"].as_array().cloned().unwrap_or_default()
    }

    /// Polls the catalog until `done` holds for its segments.
    pub async fn wait_until(&self, within: Duration, done: impl Fn(&[Seg]) -> bool) -> Vec<Seg> {
        let deadline = Instant::now() + within;
        loop {
            let segs = self.segments().await;
            if done(&segs) {
                return segs;
            }
            assert!(
                Instant::now() < deadline,
                "gave up after {within:?}: {} segments, the last starting {:?}, holes {:?}",
                segs.len(),
                segs.last().map(|s| s.start),
                super::catalog::holes(&segs, 1)
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Ids of the media segments in the relay's spool (waiting for commit).
    pub fn spooled_segment_ids(&self) -> Vec<String> {
        let mut ids = vec![];
        collect_spooled(&self.dir.join("relay"), &mut ids);
        ids
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn collect_spooled(dir: &std::path::Path, ids: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_spooled(&path, ids);
        } else if path.extension().is_some_and(|e| e == "json") {
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            if let Some(id) = v["item"]["media"]["id"].as_str() {
                ids.push(id.to_string());
            }
        }
    }
}

fn addr_of(url: &str) -> SocketAddr {
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    host.parse()
        .unwrap_or_else(|_| panic!("{url} is not http://ip:port"))
}

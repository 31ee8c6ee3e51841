//! Live view through the real relay (`argus_relay::run` in this process,
//! recording its simulated camera) and the api's SFU: the relay pushes over
//! WHIP only once someone watches, three viewers share its one ingest
//! (`GET /api/v1/live/sessions` shows it), the push stops after the last
//! viewer left and does not come back by itself, and a relay killed during
//! a view comes back, is asked again, and the viewer's stream resumes.

mod common;
#[path = "live/peers.rs"]
mod peers;
#[path = "live/viewing.rs"]
mod viewing;

use argus_core::Secret;
use common::{recording, world, TestApp};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use uuid::Uuid;
use viewing::watch;

/// 25 fps, a keyframe every 4 s, as the test asks.
const SIM: &str = "sim://live-relay?fps=25&size=320x240&gop=100";

struct Scene {
    app: TestApp,
    token: String,
    camera: Uuid,
    dir: PathBuf,
    relay: JoinHandle<anyhow::Result<()>>,
}

async fn scene(slug: &str) -> Scene {
    let storage = recording::storage_config();
    let app = TestApp::start_with(|c| {
        c.storage = Some(storage);
        let key = argus_core::envelope::random_key();
        c.keys.master_key = Some(argus_api::keys::encode_key(&key));
        c.live.grace_secs = 1;
    })
    .await;
    let tenant = world::tenant(&app, slug).await;
    let token = tenant.admin_token.clone();
    let site = tenant.sites[0];
    let body = json!({ "site_id": site, "name": "live relay" });
    let r = app
        .ok("post", "/api/v1/relays", &token, Some(body), 201)
        .await;
    let code = r["claim_code"].as_str().unwrap().to_string();
    let body =
        json!({ "site_id": site, "name": "sim", "source_url": SIM, "relay_id": r["relay"]["id"] });
    let cam = app
        .ok("post", "/api/v1/cameras", &token, Some(body), 201)
        .await;
    let camera = cam["id"].as_str().unwrap().parse().unwrap();

    let dir = std::env::temp_dir().join(format!("argus-live-relay-{}", Uuid::new_v4()));
    let relay = start_relay(&app, &dir, Some(code));
    let s = Scene {
        app,
        token,
        camera,
        dir,
        relay,
    };
    s.wait_camera_online().await;
    s
}

fn start_relay(
    app: &TestApp,
    dir: &PathBuf,
    code: Option<String>,
) -> JoinHandle<anyhow::Result<()>> {
    let mut opts = argus_relay::config::RelayOptions::new(&app.base, dir);
    opts.claim_code = code.map(Secret::new);
    opts.retry_max_secs = 1;
    tokio::spawn(argus_relay::run(opts))
}

impl Scene {
    async fn wait_camera_online(&self) {
        let path = format!("/api/v1/cameras/{}", self.camera);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let cam = self.app.ok("get", &path, &self.token, None, 200).await;
            if cam["health_state"] == "online" {
                return;
            }
            assert!(Instant::now() < deadline, "camera never online: {cam}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn stats(&self) -> Value {
        let path = "/api/v1/live/sessions";
        self.app.ok("get", path, &self.token, None, 200).await
    }

    /// This camera's entry in the SFU's stats (null when not watched).
    async fn camera_stats(&self) -> Value {
        let stats = self.stats().await;
        let cams = stats["cameras"].as_array().cloned().unwrap_or_default();
        let id = self.camera.to_string();
        cams.into_iter()
            .find(|c| c["camera_id"] == id.as_str())
            .unwrap_or(Value::Null)
    }

    /// Polls the camera's stats until `done` holds.
    async fn wait_camera(&self, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let c = self.camera_stats().await;
            if done(&c) {
                return c;
            }
            assert!(Instant::now() < deadline, "never {what}: {c}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn end(&self, session: &str) {
        let (status, body) = self
            .app
            .call("delete", session, Some(&self.token), None)
            .await;
        assert_eq!(status.as_u16(), 204, "{body}");
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        self.relay.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_relay_pushes_on_demand_to_one_ingest_for_three_viewers_and_stops_after() {
    let s = scene("live-relay-a").await;
    let idle = s.camera_stats().await;
    assert!(
        idle.is_null() || idle["ingest_id"].is_null(),
        "an ingest before any viewer: {idle}"
    );

    let mut first = watch(&s.app, &s.token, s.camera).await;
    first.peer.connected().await;
    let got = first.receive(60).await;
    let mut stamps: Vec<u32> = got.iter().map(|p| p.1).collect();
    stamps.dedup();
    assert!(
        stamps.len() >= 3,
        "whole frames flow, not one picture: {}",
        stamps.len()
    );
    let cam = s
        .wait_camera("pushed", |c| c["ingest_id"].is_string())
        .await;
    let ingest = cam["ingest_id"].clone();

    let mut more = vec![];
    for _ in 0..2 {
        more.push(watch(&s.app, &s.token, s.camera).await);
    }
    for v in &mut more {
        v.peer.connected().await;
        v.receive(60).await;
    }
    let cam = s.camera_stats().await;
    assert_eq!(cam["viewers"], 3, "{cam}");
    assert_eq!(
        cam["ingest_id"], ingest,
        "a second ingest for the same camera: {cam}"
    );
    let stats = s.stats().await;
    let sessions = stats["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3, "{stats}");
    assert!(
        sessions
            .iter()
            .all(|x| x["packets_sent"].as_u64() > Some(0)),
        "{stats}"
    );

    for v in std::iter::once(&first).chain(&more) {
        s.end(&v.session).await;
    }
    let cam = s
        .wait_camera("stopped", |c| {
            c["ingest_id"].is_null() && c["push_requested"] == false
        })
        .await;
    assert_eq!(cam["viewers"], 0, "{cam}");

    // Nobody watches: the relay does not start again, nothing more arrives.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = s.camera_stats().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = s.camera_stats().await;
    assert!(
        after["ingest_id"].is_null(),
        "the relay pushed again: {after}"
    );
    assert_eq!(
        before["packets_received"], after["packets_received"],
        "{after}"
    );
    assert_eq!(s.stats().await["sessions"], json!([]), "leaked sessions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_relay_killed_during_live_view_comes_back_and_the_view_resumes() {
    let mut s = scene("live-relay-b").await;
    let mut viewer = watch(&s.app, &s.token, s.camera).await;
    viewer.peer.connected().await;
    viewer.receive(30).await;
    let cam = s
        .wait_camera("pushed", |c| c["ingest_id"].is_string())
        .await;
    let old_ingest = cam["ingest_id"].clone();

    // As kill -9 would: every task of the relay dies at once.
    s.relay.abort();
    let _ = (&mut s.relay).await;
    s.relay = start_relay(&s.app, &s.dir, None);

    let cam = s
        .wait_camera("pushed again", |c| {
            c["ingest_id"].is_string() && c["ingest_id"] != old_ingest
        })
        .await;
    assert_eq!(cam["viewers"], 1, "{cam}");
    viewer.drain();
    let mut fresh = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while fresh < 50 {
        let left = deadline.saturating_duration_since(Instant::now());
        let pkt = timeout(left, viewer.packets.recv()).await;
        assert!(
            pkt.is_ok(),
            "the view did not resume after the relay came back ({fresh} packets)"
        );
        fresh += 1;
    }

    s.end(&viewer.session).await;
    s.wait_camera("stopped", |c| c["ingest_id"].is_null()).await;
    assert_eq!(s.stats().await["sessions"], json!([]), "leaked sessions");
}

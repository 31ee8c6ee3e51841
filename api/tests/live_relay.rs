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
#[path = "live/with_relay.rs"]
mod with_relay;

use common::TestApp;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use viewing::watch;
use with_relay::{camera_stats, end, start_relay, wait_camera, Shared, Site};

struct Scene {
    app: TestApp,
    site: Site,
    dir: PathBuf,
    relay: JoinHandle<anyhow::Result<()>>,
}

async fn scene(slug: &str) -> Scene {
    let shared = Shared::new();
    let app = TestApp::start_with(|c| shared.apply(c)).await;
    let site = with_relay::site(&app, slug).await;
    let dir = with_relay::relay_dir();
    let relay = start_relay(&app.base, &dir, Some(site.claim_code.clone()));
    with_relay::wait_online(&app, &site).await;
    Scene {
        app,
        site,
        dir,
        relay,
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
    let (app, base, site) = (&s.app, s.app.base.as_str(), &s.site);
    let idle = camera_stats(app, base, site).await;
    assert!(
        idle.is_null() || idle["ingest_id"].is_null(),
        "an ingest before any viewer: {idle}"
    );

    let mut first = watch(app, &site.token, site.camera).await;
    first.peer.connected().await;
    let got = first.receive(60).await;
    let mut stamps: Vec<u32> = got.iter().map(|p| p.1).collect();
    stamps.dedup();
    assert!(
        stamps.len() >= 3,
        "whole frames flow, not one picture: {}",
        stamps.len()
    );
    let cam = wait_camera(app, base, site, "pushed", |c| c["ingest_id"].is_string()).await;
    let ingest = cam["ingest_id"].clone();

    let mut more = vec![];
    for _ in 0..2 {
        more.push(watch(app, &site.token, site.camera).await);
    }
    for v in &mut more {
        v.peer.connected().await;
        v.receive(60).await;
    }
    let cam = camera_stats(app, base, site).await;
    assert_eq!(cam["viewers"], 3, "{cam}");
    assert_eq!(
        cam["ingest_id"], ingest,
        "a second ingest for the same camera: {cam}"
    );
    let stats = with_relay::stats(app, base, site).await;
    let sessions = stats["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3, "{stats}");
    assert!(
        sessions
            .iter()
            .all(|x| x["packets_sent"].as_u64() > Some(0)),
        "{stats}"
    );

    for v in std::iter::once(&first).chain(&more) {
        end(app, base, site, &v.session).await;
    }
    let stopped = |c: &serde_json::Value| c["ingest_id"].is_null() && c["push_requested"] == false;
    let cam = wait_camera(app, base, site, "stopped", stopped).await;
    assert_eq!(cam["viewers"], 0, "{cam}");

    // Nobody watches: the relay does not start again, nothing more arrives.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = camera_stats(app, base, site).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = camera_stats(app, base, site).await;
    assert!(
        after["ingest_id"].is_null(),
        "the relay pushed again: {after}"
    );
    assert_eq!(
        before["packets_received"], after["packets_received"],
        "{after}"
    );
    let sessions = with_relay::stats(app, base, site).await["sessions"].clone();
    assert_eq!(sessions, json!([]), "leaked sessions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_relay_killed_during_live_view_comes_back_and_the_view_resumes() {
    let mut s = scene("live-relay-b").await;
    let base = s.app.base.clone();
    let mut viewer = watch(&s.app, &s.site.token, s.site.camera).await;
    viewer.peer.connected().await;
    viewer.receive(30).await;
    let pushed = |c: &serde_json::Value| c["ingest_id"].is_string();
    let cam = wait_camera(&s.app, &base, &s.site, "pushed", pushed).await;
    let old_ingest = cam["ingest_id"].clone();

    // As kill -9 would: every task of the relay dies at once.
    s.relay.abort();
    let _ = (&mut s.relay).await;
    s.relay = start_relay(&base, &s.dir, None);

    let again = |c: &serde_json::Value| c["ingest_id"].is_string() && c["ingest_id"] != old_ingest;
    let cam = wait_camera(&s.app, &base, &s.site, "pushed again", again).await;
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

    end(&s.app, &base, &s.site, &viewer.session).await;
    wait_camera(&s.app, &base, &s.site, "stopped", |c| {
        c["ingest_id"].is_null()
    })
    .await;
    let sessions = with_relay::stats(&s.app, &base, &s.site).await["sessions"].clone();
    assert_eq!(sessions, json!([]), "leaked sessions");
}

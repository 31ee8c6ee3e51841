//! Two api nodes on one database: a camera's live session has one home.
//! The relay holds its control connection to node A; the first viewer
//! arrives at node B, which becomes the home, and A tells the relay to push
//! to B. A second viewer at A is redirected (307) to B and shares B's one
//! ingest. When both leave, B gives up the home and A stops the relay.

mod common;
#[path = "live/peers.rs"]
mod peers;
#[path = "live/viewing.rs"]
mod viewing;
#[path = "live/with_relay.rs"]
mod with_relay;

use common::TestApp;
use viewing::watch_at;
use with_relay::{camera_stats, end, start_relay, wait_camera, Shared};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn whep_is_redirected_to_the_cameras_home_node_and_one_ingest_serves_both() {
    let shared = Shared::new();
    let a = TestApp::start_node(|c, base| {
        shared.apply(c);
        c.live.node_url = Some(base.to_string());
    })
    .await;
    let b = a
        .second_node(|c, base| {
            shared.apply(c);
            c.live.node_url = Some(base.to_string());
        })
        .await;
    let site = with_relay::site(&a, "live-nodes").await;
    let dir = with_relay::relay_dir();
    let relay = start_relay(&a.base, &dir, Some(site.claim_code.clone()));
    with_relay::wait_online(&a, &site).await;

    // The first viewer makes B the home; the relay, connected to A, pushes to B.
    let mut first = watch_at(&a, &b.base, &site.token, site.camera).await;
    first.peer.connected().await;
    first.receive(40).await;
    let pushed = |c: &serde_json::Value| c["ingest_id"].is_string();
    let home = wait_camera(&a, &b.base, &site, "pushed to B", pushed).await;

    // A viewer at A is sent to B, with the same path.
    let (mut peer, _rx) = peers::viewer().await;
    let offer = peer.offer().await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = no_redirects
        .post(format!("{}/api/v1/cameras/{}/whep", a.base, site.camera))
        .bearer_auth(&site.token)
        .header("content-type", "application/sdp")
        .body(offer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 307);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        location,
        format!("{}/api/v1/cameras/{}/whep", b.base, site.camera)
    );
    let at_a = camera_stats(&a, &a.base, &site).await;
    assert!(
        at_a.is_null() || at_a["ingest_id"].is_null(),
        "A ingests too: {at_a}"
    );

    // Following it, the second viewer shares B's one ingest.
    let mut second = watch_at(&a, &b.base, &site.token, site.camera).await;
    second.peer.connected().await;
    second.receive(40).await;
    let cam = camera_stats(&a, &b.base, &site).await;
    assert_eq!(cam["viewers"], 2, "{cam}");
    assert_eq!(cam["ingest_id"], home["ingest_id"], "{cam}");

    // Both leave: B's push ends, and it is not started again.
    end(&a, &b.base, &site, &first.session).await;
    end(&a, &b.base, &site, &second.session).await;
    let stopped = |c: &serde_json::Value| c["ingest_id"].is_null() && c["viewers"] == 0;
    wait_camera(&a, &b.base, &site, "stopped", stopped).await;
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let later = camera_stats(&a, &b.base, &site).await;
    assert!(
        later["ingest_id"].is_null(),
        "the relay pushed to B again: {later}"
    );
    assert_eq!(a.count("live_homes").await, 0, "the home was not given up");

    relay.abort();
    let _ = std::fs::remove_dir_all(&dir);
}

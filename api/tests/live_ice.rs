//! ICE servers reach viewers as WHEP `Link` headers: STUN as configured,
//! TURN with a username that expires and a password derived from the
//! shared secret, which itself never appears in the answer.

mod common;
#[path = "live/peers.rs"]
mod peers;
#[path = "live/viewing.rs"]
mod viewing;

use common::{recording, world, TestApp};
use viewing::post_sdp;

const SECRET: &str = "turn-shared-secret";

#[tokio::test]
async fn whep_answers_carry_stun_and_expiring_turn_credentials() {
    let app = TestApp::start_with(|c| {
        c.live.stun_urls = vec!["stun:stun.example.net:3478".into()];
        c.live.turn_urls = vec!["turn:turn.example.net:3478?transport=udp".into()];
        c.live.turn_secret = Some(argus_core::Secret::new(SECRET.into()));
        c.live.turn_ttl_secs = 600;
    })
    .await;
    let t = world::tenant(&app, "live-ice").await;
    let relay = recording::enrolled_relay(&app, &t, t.sites[0]).await;
    let camera = recording::camera(&app, &t, t.sites[0], relay.id).await;
    let _control = viewing::connect_relay(&app, &relay.token()).await;

    let (mut peer, _packets) = peers::viewer().await;
    let offer = peer.offer().await;
    let path = format!("/api/v1/cameras/{camera}/whep");
    let before = chrono::Utc::now().timestamp();
    let (status, headers, answer) =
        post_sdp(&app, &path, &t.admin_token, "application/sdp", offer).await;
    assert_eq!(status, 201, "{answer}");

    let links: Vec<&str> = headers
        .get_all("link")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(links.len(), 2, "{links:?}");
    assert_eq!(links[0], "<stun:stun.example.net:3478>; rel=\"ice-server\"");
    let turn = links[1];
    assert!(turn.starts_with("<turn:turn.example.net:3478?transport=udp>; rel=\"ice-server\""));
    let field = |name: &str| {
        let start = turn.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
        turn[start..].split('"').next().unwrap().to_string()
    };
    let username = field("username");
    let expiry: i64 = username.split(':').next().unwrap().parse().unwrap();
    assert!(
        (before + 600..=before + 660).contains(&expiry),
        "{username}"
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, SECRET.as_bytes());
    let tag = ring::hmac::sign(&key, username.as_bytes());
    use base64::Engine;
    let want = base64::engine::general_purpose::STANDARD.encode(tag.as_ref());
    assert_eq!(field("credential"), want);
    assert!(!turn.contains(SECRET) && !answer.contains(SECRET));
}

//! The control channel against a real api on real Postgres: a relay
//! enrolled through `/relay/v1/enroll` connects to `/relay/v1/connect`
//! with a token it signed, gets its config first, reports health that the
//! tenant api then shows, receives config pushes, and is cut off when
//! revoked. The last test runs the relay's own client (`argus_relay::
//! control::run`) through an api restart.

mod common;

use argus_core::relay_token::SigningKey;
use argus_core::wire::control::{
    CameraHealth, CameraState, CloudMessage, RelayMessage, UplinkHealth,
};
use argus_core::wire::RelayConfig;
use common::recording::{self, Relay};
use common::{world, TestApp};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use uuid::Uuid;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const WAIT: Duration = Duration::from_secs(10);

fn connect_url(app: &TestApp) -> String {
    format!("{}/relay/v1/connect", app.base.replace("http://", "ws://"))
}

/// Opens the control WebSocket with `token` as the bearer.
async fn open(app: &TestApp, token: Option<&str>) -> Result<Ws, tungstenite::Error> {
    let mut req = connect_url(app).into_client_request().unwrap();
    if let Some(t) = token {
        let value = format!("Bearer {t}").parse().unwrap();
        req.headers_mut().insert("authorization", value);
    }
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}

/// The next message from the cloud (pings skipped); panics on close.
async fn next_msg(ws: &mut Ws) -> CloudMessage {
    loop {
        let frame = timeout(WAIT, ws.next()).await.expect("a message in time");
        match frame.expect("socket open").expect("no socket error") {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// The next config from the cloud.
async fn next_config(ws: &mut Ws) -> RelayConfig {
    match next_msg(ws).await {
        CloudMessage::Config(c) => c,
        other => panic!("expected a config, got {other:?}"),
    }
}

async fn send(ws: &mut Ws, msg: &RelayMessage) {
    let text = serde_json::to_string(msg).unwrap();
    ws.send(Message::text(text)).await.unwrap();
}

/// Waits until the socket is closed by the cloud; returns the close reason.
async fn closed(ws: &mut Ws) -> String {
    loop {
        match timeout(WAIT, ws.next()).await.expect("closed in time") {
            Some(Ok(Message::Close(f))) => {
                return f.map(|f| f.reason.to_string()).unwrap_or_default()
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return String::new(),
        }
    }
}

/// Polls `path` as the tenant admin until `ready` holds for its body.
async fn until(app: &TestApp, token: &str, path: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let body = app.ok("get", path, token, None, 200).await;
        if ready(&body) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} never got there: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn health(camera: Uuid, state: CameraState) -> CameraHealth {
    CameraHealth {
        camera_id: camera,
        state,
        bitrate_bps: 2_000_000,
        last_frame_at: Some(chrono::Utc::now()),
        codec: Some("h264".into()),
        width: Some(1920),
        height: Some(1080),
        audio: Some("mpeg4-generic".into()),
        error: None,
    }
}

fn hello(cameras: Vec<CameraHealth>) -> RelayMessage {
    RelayMessage::Hello {
        protocol: argus_core::wire::PROTOCOL_VERSION,
        version: "relay-test-7".into(),
        cameras,
    }
}

/// Every log line of this test binary (api and relay, down to debug).
static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

/// Appends to [`LOGS`].
struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber (before `TestApp` installs its own).
fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    let logs = LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter("warn,argus_api=debug,argus_relay=debug")
            .with_ansi(false)
            .with_writer(move || LogWriter(sink.clone()))
            .try_init();
        buf
    });
    logs.clone()
}

/// An api with a tenant, an enrolled relay on its first site and one
/// camera on that relay.
async fn setup() -> (TestApp, world::Tenant, Relay, Uuid) {
    capture_logs();
    let app = TestApp::start().await;
    let t = world::tenant(&app, "ctl").await;
    let relay = recording::enrolled_relay(&app, &t, t.sites[0]).await;
    let cam = recording::camera(&app, &t, t.sites[0], relay.id).await;
    (app, t, relay, cam)
}

#[tokio::test]
async fn config_comes_first_and_health_shows_in_the_api() {
    let (app, t, relay, cam) = setup().await;
    let tok = &t.admin_token;
    let relay_path = format!("/api/v1/relays/{}", relay.id);
    let before = app.ok("get", &relay_path, tok, None, 200).await;
    assert_eq!(before["online"], false, "{before}");

    let mut ws = open(&app, Some(&relay.token())).await.expect("upgrade");
    let config = next_config(&mut ws).await;
    assert_eq!(config.cameras.len(), 1);
    assert_eq!(config.cameras[0].id, cam);
    let online = until(&app, tok, &relay_path, |r| r["online"] == true).await;
    assert!(online["last_seen_at"].is_string(), "{online}");

    send(&mut ws, &hello(vec![health(cam, CameraState::Online)])).await;
    let uplink = UplinkHealth {
        buffered_segments: 3,
        buffered_bytes: 4096,
        dropped_segments: 1,
    };
    send(&mut ws, &RelayMessage::Heartbeat { uplink }).await;
    let cam_path = format!("/api/v1/cameras/{cam}");
    let c = until(&app, tok, &cam_path, |c| c["health_state"] == "online").await;
    assert_eq!(c["bitrate_bps"], 2_000_000);
    assert_eq!(
        (c["codec"].as_str(), c["width"].as_i64()),
        (Some("h264"), Some(1920))
    );
    assert!(
        c["last_frame_at"].is_string() && c["health_at"].is_string(),
        "{c}"
    );
    let note = c["audio_note"].as_str().unwrap_or("");
    assert_eq!(c["audio_codec"], "mpeg4-generic", "{c}");
    assert!(
        note.starts_with("AAC audio is not played in live view"),
        "{c}"
    );
    let r = until(&app, tok, &relay_path, |r| r["buffered_segments"] == 3).await;
    assert_eq!(
        (r["version"].as_str(), r["dropped_segments"].as_i64()),
        (Some("relay-test-7"), Some(1))
    );

    let mut down = health(cam, CameraState::Offline);
    down.error = Some("connection refused".into());
    send(&mut ws, &RelayMessage::Camera(down)).await;
    let c = until(&app, tok, &cam_path, |c| c["health_state"] == "offline").await;
    assert_eq!(c["last_error"], "connection refused");
    assert_eq!(
        c["audio_codec"], "mpeg4-generic",
        "an offline report keeps the audio"
    );

    let mut g711 = health(cam, CameraState::Online);
    g711.audio = Some("pcmu".into());
    send(&mut ws, &RelayMessage::Camera(g711)).await;
    let c = until(&app, tok, &cam_path, |c| c["audio_codec"] == "pcmu").await;
    assert!(c["audio_note"].is_null(), "G.711 is played: no note ({c})");

    ws.close(None).await.unwrap();
    let r = until(&app, tok, &relay_path, |r| r["online"] == false).await;
    assert!(r["disconnected_at"].is_string(), "{r}");
}

#[tokio::test]
async fn camera_changes_push_a_new_config() {
    let (app, t, relay, cam) = setup().await;
    let mut ws = open(&app, Some(&relay.token())).await.expect("upgrade");
    assert_eq!(next_config(&mut ws).await.cameras.len(), 1);

    let second = recording::camera(&app, &t, t.sites[0], relay.id).await;
    let ids: Vec<Uuid> = next_config(&mut ws)
        .await
        .cameras
        .iter()
        .map(|c| c.id)
        .collect();
    assert!(ids.contains(&cam) && ids.contains(&second), "{ids:?}");

    let path = format!("/api/v1/cameras/{cam}");
    app.ok("delete", &path, &t.admin_token, None, 204).await;
    let ids: Vec<Uuid> = next_config(&mut ws)
        .await
        .cameras
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, vec![second]);
}

#[tokio::test]
async fn a_revoked_relay_is_cut_off_and_refused() {
    let (app, t, relay, _) = setup().await;
    let mut ws = open(&app, Some(&relay.token())).await.expect("upgrade");
    next_config(&mut ws).await;

    let path = format!("/api/v1/relays/{}", relay.id);
    let body = json!({ "status": "revoked" });
    app.ok("patch", &path, &t.admin_token, Some(body), 200)
        .await;
    // Closed at once: no heartbeat needed for the cloud to act.
    let reason = closed(&mut ws).await;
    assert!(reason.contains("revoked"), "close reason {reason:?}");

    assert_unauthorized(open(&app, Some(&relay.token())).await);
    let r = until(&app, &t.admin_token, &path, |r| r["online"] == false).await;
    assert_eq!(r["status"], "revoked");
}

/// The upgrade was refused with 401 (no WebSocket was opened).
fn assert_unauthorized(res: Result<Ws, tungstenite::Error>) {
    match res {
        Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status().as_u16(), 401),
        Err(e) => panic!("expected a 401, got {e}"),
        Ok(_) => panic!("expected a 401, got an open socket"),
    }
}

#[tokio::test]
async fn bad_tokens_get_401_and_no_upgrade() {
    let (app, _, relay, _) = setup().await;
    assert_unauthorized(open(&app, None).await);

    let now = chrono::Utc::now().timestamp();
    let forged = SigningKey::generate().sign(relay.id, now, 60);
    assert_unauthorized(open(&app, Some(&forged)).await);
    let expired = relay.signing.sign(relay.id, now - 3600, 60);
    assert_unauthorized(open(&app, Some(&expired)).await);
    assert_unauthorized(open(&app, Some("not.a.token")).await);
}

#[tokio::test]
async fn a_new_connection_replaces_the_old_one() {
    let (app, t, relay, _) = setup().await;
    let mut first = open(&app, Some(&relay.token())).await.expect("upgrade");
    next_config(&mut first).await;
    let mut second = open(&app, Some(&relay.token())).await.expect("upgrade");
    next_config(&mut second).await;

    let reason = closed(&mut first).await;
    assert!(reason.contains("replaced"), "close reason {reason:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let path = format!("/api/v1/relays/{}", relay.id);
    let r = app.ok("get", &path, &t.admin_token, None, 200).await;
    assert_eq!(
        r["online"], true,
        "the old socket's end must not mark it offline"
    );
    send(
        &mut second,
        &RelayMessage::Heartbeat {
            uplink: UplinkHealth::default(),
        },
    )
    .await;
}

#[tokio::test]
async fn a_relay_cannot_report_on_another_relays_camera() {
    let (app, t, relay, _) = setup().await;
    let other = recording::enrolled_relay(&app, &t, t.sites[0]).await;
    let theirs = recording::camera(&app, &t, t.sites[0], other.id).await;
    // The camera world::tenant made on another site, with no relay of ours.
    let foreign = t.cameras[1];

    let mut ws = open(&app, Some(&relay.token())).await.expect("upgrade");
    next_config(&mut ws).await;
    send(&mut ws, &hello(vec![health(theirs, CameraState::Online)])).await;
    send(
        &mut ws,
        &RelayMessage::Camera(health(foreign, CameraState::Online)),
    )
    .await;
    let path = format!("/api/v1/relays/{}", relay.id);
    until(&app, &t.admin_token, &path, |r| {
        r["version"] == "relay-test-7"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    for cam in [theirs, foreign] {
        let c = app
            .ok(
                "get",
                &format!("/api/v1/cameras/{cam}"),
                &t.admin_token,
                None,
                200,
            )
            .await;
        assert!(c["health_state"].is_null(), "{c}");
    }
}

#[tokio::test]
async fn the_relay_client_gets_config_and_survives_an_api_restart() {
    let (mut app, t, relay, cam) = setup().await;
    let relay = Arc::new(relay);
    let signer = relay.clone();
    let token = Arc::new(move || signer.token());
    let hello_fn = Arc::new(move || hello(vec![health(cam, CameraState::Online)]));
    let (to_cloud_tx, to_cloud) = mpsc::channel(16);
    let (from_cloud, mut from_cloud_rx) = mpsc::channel(16);
    let url = format!("{}/relay/v1/connect", app.base);
    let client = tokio::spawn(argus_relay::control::run(
        url, token, hello_fn, to_cloud, from_cloud,
    ));

    let first = timeout(WAIT, from_cloud_rx.recv())
        .await
        .expect("config in time");
    assert!(matches!(first, Some(CloudMessage::Config(c)) if c.cameras[0].id == cam));
    let uplink = UplinkHealth {
        buffered_segments: 9,
        ..Default::default()
    };
    to_cloud_tx
        .send(RelayMessage::Heartbeat { uplink })
        .await
        .unwrap();
    let path = format!("/api/v1/relays/{}", relay.id);
    until(&app, &t.admin_token, &path, |r| r["buffered_segments"] == 9).await;

    app.restart().await;
    let again = timeout(Duration::from_secs(20), from_cloud_rx.recv())
        .await
        .expect("reconnected");
    assert!(matches!(again, Some(CloudMessage::Config(c)) if c.cameras[0].id == cam));
    let rows = app
        .count(&format!("relays WHERE id = '{}' AND online", relay.id))
        .await;
    assert_eq!(rows, 1, "online again after the reconnect");

    let logs = String::from_utf8_lossy(&capture_logs().lock().unwrap()).to_string();
    let lost = logs.matches("control channel lost").count();
    assert_eq!(lost, 1, "one warning per disconnect:\n{logs}");
    // Relay tokens are JWTs: base64url of `{"` starts every one of them.
    assert!(!logs.contains("eyJ"), "a token reached the log:\n{logs}");

    drop(from_cloud_rx);
    to_cloud_tx
        .send(RelayMessage::Heartbeat {
            uplink: UplinkHealth::default(),
        })
        .await
        .ok();
    client.abort();
}

#[tokio::test]
async fn suspending_the_tenant_cuts_its_relays_off() {
    let (app, t, relay, _) = setup().await;
    let mut ws = open(&app, Some(&relay.token())).await.expect("upgrade");
    next_config(&mut ws).await;

    let path = format!("/api/v1/tenants/{}/suspend", t.id);
    app.call("post", &path, Some(&app.platform_token), None)
        .await;
    let uplink = UplinkHealth::default();
    send(&mut ws, &RelayMessage::Heartbeat { uplink }).await;
    let reason = closed(&mut ws).await;
    assert!(reason.contains("suspended"), "close reason {reason:?}");
    assert_unauthorized(open(&app, Some(&relay.token())).await);
}

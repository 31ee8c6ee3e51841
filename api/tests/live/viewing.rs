//! What a WHEP viewer test needs: POSTing SDP, a viewer built from
//! [`super::peers`] that records every packet it gets, and H.264 payload
//! checks written apart from the api's own.

#![allow(dead_code)] // shared by several test binaries, each using a part

use super::common::TestApp;
use super::peers;
use std::time::{Duration, Instant};
use tokio::time::timeout;
use uuid::Uuid;

/// A relay's control channel, as the test holds it.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a relay's control channel with its `token`, as the relay would,
/// and reads the config that comes first: from then on the api counts the
/// relay connected (a camera of a relay that is not gets 503 for WHEP).
pub async fn connect_relay(app: &TestApp, token: &str) -> Ws {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = format!("{}/relay/v1/connect", app.base.replace("http://", "ws://"));
    let mut req = url.into_client_request().unwrap();
    let bearer = format!("Bearer {token}").parse().unwrap();
    req.headers_mut().insert("authorization", bearer);
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let first = timeout(Duration::from_secs(10), ws.next()).await;
    assert!(
        matches!(first, Ok(Some(Ok(_)))),
        "no config on the control channel"
    );
    ws
}

/// POSTs `body` as `ctype` to `path`; status, headers and body text.
pub async fn post_sdp(
    app: &TestApp,
    path: &str,
    token: &str,
    ctype: &str,
    body: String,
) -> (u16, reqwest::header::HeaderMap, String) {
    let url = if path.starts_with("http") {
        path.to_string()
    } else {
        format!("{}{path}", app.base)
    };
    let res = app
        .http
        .post(url)
        .bearer_auth(token)
        .header("content-type", ctype)
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, headers) = (res.status().as_u16(), res.headers().clone());
    (status, headers, res.text().await.unwrap())
}

pub struct Viewer {
    pub peer: peers::Peer,
    pub packets: tokio::sync::mpsc::UnboundedReceiver<peers::Received>,
    pub session: String,
    pub joined: Instant,
    /// The api's SDP answer.
    pub answer: String,
}

/// `ip:port` of each host candidate (RTP component) in an SDP.
pub fn host_candidates(sdp: &str) -> Vec<String> {
    let lines = sdp.lines().filter(|l| l.starts_with("a=candidate:"));
    let hosts = lines.filter(|l| l.contains(" typ host"));
    let fields = hosts.map(|l| l.split(' ').collect::<Vec<_>>());
    let rtp = fields.filter(|f| f.len() > 5 && f[1] == "1");
    rtp.map(|f| format!("{}:{}", f[4], f[5])).collect()
}

pub async fn watch(app: &TestApp, token: &str, camera: Uuid) -> Viewer {
    watch_at(app, &app.base, token, camera).await
}

/// [`watch`] through the api node at `base`.
pub async fn watch_at(app: &TestApp, base: &str, token: &str, camera: Uuid) -> Viewer {
    let (mut peer, packets) = peers::viewer().await;
    let offer = peer.offer().await;
    let joined = Instant::now();
    let path = format!("{base}/api/v1/cameras/{camera}/whep");
    let (status, headers, answer) = post_sdp(app, &path, token, "application/sdp", offer).await;
    assert_eq!(status, 201, "WHEP: {answer}");
    assert!(
        answer.contains("profile-level-id=42e01f"),
        "answer: {answer}"
    );
    let session = headers["location"].to_str().unwrap().to_string();
    assert!(session.starts_with("/api/v1/live/sessions/"), "{session}");
    peer.accept(answer.clone()).await;
    Viewer {
        peer,
        packets,
        session,
        joined,
        answer,
    }
}

/// Whether an H.264 RTP payload starts a keyframe (SPS or IDR, alone, in
/// a STAP-A, or as the first FU-A fragment). Written apart from the api's.
pub fn keyframe_start(p: &[u8]) -> bool {
    match p.first().map(|b| b & 0x1f) {
        Some(5 | 7) => true,
        Some(24) => p.get(3).is_some_and(|h| matches!(h & 0x1f, 5 | 7)),
        Some(28) => p
            .get(1)
            .is_some_and(|f| f & 0x80 != 0 && matches!(f & 0x1f, 5 | 7)),
        _ => false,
    }
}

/// A received packet: arrival, RTP timestamp, payload.
pub type Got = (Instant, u32, bytes::Bytes);

/// Whether a payload carries an SPS (alone or first in a STAP-A).
pub fn has_sps(p: &[u8]) -> bool {
    match p.first().map(|b| b & 0x1f) {
        Some(7) => true,
        Some(24) => p.get(3).is_some_and(|h| h & 0x1f == 7),
        _ => false,
    }
}

impl Viewer {
    /// Packets that already arrived, without waiting.
    pub fn drain(&mut self) -> Vec<Got> {
        let mut out = vec![];
        while let Ok((at, p)) = self.packets.try_recv() {
            out.push((at, p.header.timestamp, p.payload));
        }
        out
    }

    /// The first `n` packets as (arrival, RTP timestamp); asserts the first
    /// starts a keyframe and the sequence numbers have no gap.
    pub async fn receive(&mut self, n: usize) -> Vec<Got> {
        let mut got: Vec<Got> = vec![];
        let mut seq = 0u16;
        while got.len() < n {
            let wait = if got.is_empty() { 15 } else { 5 };
            let (at, p) = timeout(Duration::from_secs(wait), self.packets.recv())
                .await
                .expect("video in time")
                .unwrap();
            if got.is_empty() {
                let head = &p.payload[..p.payload.len().min(4)];
                assert!(
                    keyframe_start(&p.payload),
                    "first packet not a keyframe: {head:02x?}"
                );
            } else {
                assert_eq!(
                    p.header.sequence_number,
                    seq.wrapping_add(1),
                    "sequence gap"
                );
            }
            seq = p.header.sequence_number;
            got.push((at, p.header.timestamp, p.payload));
        }
        got
    }
}

/// Frames (distinct timestamps) that arrived within `span` of the first packet.
pub fn frames_within(got: &[Got], span: Duration) -> usize {
    let start = got[0].0;
    let mut ts: Vec<u32> = got
        .iter()
        .filter(|(at, _, _)| *at - start <= span)
        .map(|p| p.1)
        .collect();
    ts.dedup();
    ts.len()
}

//! The relay's end of the control channel: one WebSocket to the cloud at
//! `/relay/v1/connect`, kept open for the relay's whole life.
//!
//! Each connection authenticates with a freshly signed token, sends a
//! hello (the cameras' current states) before anything else, then relays
//! messages both ways. When it drops, the relay reconnects after a capped,
//! fully jittered exponential backoff ([`backoff`]), reset once a
//! connection has lasted [`STABLE`]. Invariants: at most one connection at
//! a time; what the relay reports while disconnected is discarded (the
//! next hello carries the state); the token never reaches a log line.

use argus_core::wire::control::{CloudMessage, RelayMessage};
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::Connector;

/// The first retry waits up to this long.
pub const BASE_BACKOFF: Duration = Duration::from_millis(500);

/// No retry waits longer than this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A connection that lasted this long resets the backoff.
pub const STABLE: Duration = Duration::from_secs(30);

/// Nothing heard from the cloud for this long (it pings every ~15 s):
/// the link is dead even if TCP has not noticed.
pub const SILENCE: Duration = Duration::from_secs(45);

/// Longest wait for the TCP, TLS and WebSocket handshakes.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// Largest message accepted from the cloud (a config of many cameras).
const MAX_MESSAGE: usize = 4 << 20;

/// A signed token for each connection attempt.
pub type TokenFn = Arc<dyn Fn() -> String + Send + Sync>;

/// The hello for each connection: the cameras' current states.
pub type HelloFn = Arc<dyn Fn() -> RelayMessage + Send + Sync>;

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Lost {
    /// The URL cannot name a WebSocket.
    #[error("cloud URL {0:?} is not http(s) or ws(s)")]
    BadUrl(String),
    /// TCP, TLS or the upgrade failed (a 401 shows here).
    #[error("could not connect: {0}")]
    Connect(String),
    /// The handshakes took longer than 15 s.
    #[error("handshake timed out")]
    Timeout,
    /// An open connection broke.
    #[error("connection failed: {0}")]
    Io(String),
    /// The cloud closed it (revoked, replaced, restarting…).
    #[error("closed by the cloud: {0}")]
    Closed(String),
    /// Nothing arrived for [`SILENCE`].
    #[error("nothing heard from the cloud for {0:?}")]
    Silent(Duration),
}

/// The longest wait before reconnect attempt number `attempt` (0-based):
/// [`BASE_BACKOFF`] doubling per attempt, capped at [`MAX_BACKOFF`]. The
/// actual wait is drawn uniformly below it ([`jitter`]).
pub fn backoff(attempt: u32) -> Duration {
    let factor = 1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX);
    BASE_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF)
}

/// Full jitter: a uniformly random wait in `[0, ceiling]`, so relays that
/// lost the cloud together do not return together.
pub fn jitter(ceiling: Duration) -> Duration {
    let ms = ceiling.as_millis() as u64;
    Duration::from_millis(rand::thread_rng().gen_range(0..=ms))
}

/// Maps the cloud URL to a WebSocket URL: `http` → `ws`, `https` → `wss`.
pub fn ws_url(url: &str) -> Result<String, Lost> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| Lost::BadUrl(url.into()))?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => "ws",
        "https" | "wss" => "wss",
        _ => return Err(Lost::BadUrl(url.into())),
    };
    Ok(format!("{scheme}://{rest}"))
}

/// Keeps the control channel up until `from_cloud` is closed (the relay
/// is shutting down) or the URL is unusable.
///
/// `to_cloud` carries heartbeats and camera health; `from_cloud` receives
/// config pushes and live commands.
pub async fn run(
    url: String,
    token: TokenFn,
    hello: HelloFn,
    to_cloud: mpsc::Receiver<RelayMessage>,
    from_cloud: mpsc::Sender<CloudMessage>,
) {
    run_with(url, token, hello, to_cloud, from_cloud, SILENCE).await
}

/// [`run`] with the silence timeout as a parameter (tests shorten it).
async fn run_with(
    url: String,
    token: TokenFn,
    hello: HelloFn,
    mut to_cloud: mpsc::Receiver<RelayMessage>,
    from_cloud: mpsc::Sender<CloudMessage>,
    silence: Duration,
) {
    let url = match ws_url(&url) {
        Ok(u) => u,
        Err(e) => return tracing::error!(error = %e, "control channel not started"),
    };
    let link = Link {
        url,
        token,
        hello,
        tls: tls_connector(),
        silence,
    };
    let mut attempt = 0u32;
    let mut quiet = false;
    while !from_cloud.is_closed() {
        let started = Instant::now();
        let lost = match link.session(&mut to_cloud, &from_cloud, &mut quiet).await {
            Some(lost) => lost,
            None => return,
        };

        if started.elapsed() >= STABLE {
            attempt = 0;
        }
        if quiet {
            tracing::debug!(reason = %lost, attempt, "control channel still down");
        } else {
            tracing::warn!(reason = %lost, "control channel lost; reconnecting");
            quiet = true;
        }

        let wait = jitter(backoff(attempt));
        attempt = attempt.saturating_add(1);
        discard_for(&mut to_cloud, wait).await;
    }
}

/// Sleeps for `wait`, discarding what the relay reports meanwhile.
async fn discard_for(to_cloud: &mut mpsc::Receiver<RelayMessage>, wait: Duration) {
    let until = Instant::now() + wait;
    loop {
        tokio::select! {
            _ = sleep_until(until) => return,
            m = to_cloud.recv() => if m.is_none() {
                // Nobody reports any more; just wait.
                return sleep_until(until).await;
            },
        }
    }
}

/// The TLS setup for `wss://`: rustls with the ring provider and the
/// webpki roots.
// TODO(#3): trust a site's own CA (TLS-intercepting proxies) from config.
fn tls_connector() -> Option<Connector> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Some(Connector::Rustls(Arc::new(config)))
}

/// What one connection needs.
struct Link {
    url: String,
    token: TokenFn,
    hello: HelloFn,
    tls: Option<Connector>,
    /// Drop the link after hearing nothing for this long.
    silence: Duration,
}

impl Link {
    /// One connection, from handshake to loss. `None`: shutting down.
    async fn session(
        &self,
        to_cloud: &mut mpsc::Receiver<RelayMessage>,
        from_cloud: &mpsc::Sender<CloudMessage>,
        quiet: &mut bool,
    ) -> Option<Lost> {
        let ws = match self.connect().await {
            Ok(ws) => ws,
            Err(lost) => return Some(lost),
        };
        tracing::info!("control channel connected");
        *quiet = false;

        while to_cloud.try_recv().is_ok() {} // Stale: the hello supersedes it.
        let (mut sink, mut stream) = ws.split();
        if let Err(e) = sink.send(text(&(self.hello)())).await {
            return Some(Lost::Io(e.to_string()));
        }

        let mut heard = Instant::now();
        let mut reporting = true;
        loop {
            tokio::select! {
                frame = stream.next() => {
                    heard = Instant::now();
                    match incoming(frame, from_cloud).await {
                        Step::Go => {}
                        Step::Lost(lost) => return Some(lost),
                        Step::Shutdown => return None,
                    }
                }
                m = to_cloud.recv(), if reporting => match m {
                    Some(m) => if let Err(e) = sink.send(text(&m)).await {
                        return Some(Lost::Io(e.to_string()));
                    },
                    None => reporting = false,
                },
                _ = sleep_until(heard + self.silence) => return Some(Lost::Silent(self.silence)),
                _ = from_cloud.closed() => {
                    let _ = sink.close().await; // A clean close frame.
                    return None;
                }
            }
        }
    }

    /// TCP, TLS and WebSocket handshakes, with a fresh token.
    async fn connect(&self) -> Result<Ws, Lost> {
        let mut req = self
            .url
            .as_str()
            .into_client_request()
            .map_err(|_| Lost::BadUrl(self.url.clone()))?;
        let bearer = HeaderValue::from_str(&format!("Bearer {}", (self.token)()))
            .map_err(|_| Lost::Connect("token is not a valid header value".into()))?;
        req.headers_mut().insert("authorization", bearer);

        let config = WebSocketConfig::default().max_message_size(Some(MAX_MESSAGE));
        let connecting = tokio_tungstenite::connect_async_tls_with_config(
            req,
            Some(config),
            true,
            self.tls.clone(),
        );
        match timeout(HANDSHAKE_TIMEOUT, connecting).await {
            Ok(Ok((ws, _))) => Ok(ws),
            Ok(Err(e)) => Err(Lost::Connect(e.to_string())),
            Err(_) => Err(Lost::Timeout),
        }
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What to do after a frame.
enum Step {
    Go,
    Lost(Lost),
    Shutdown,
}

/// Handles one frame from the cloud. Pings are answered by tungstenite
/// itself (the pong goes out with the next read or write).
async fn incoming(
    frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    from_cloud: &mpsc::Sender<CloudMessage>,
) -> Step {
    let msg = match frame {
        None => return Step::Lost(Lost::Io("connection closed".into())),
        Some(Err(e)) => return Step::Lost(Lost::Io(e.to_string())),
        Some(Ok(msg)) => msg,
    };
    match msg {
        Message::Text(t) => match serde_json::from_str::<CloudMessage>(t.as_str()) {
            Ok(m) => match from_cloud.send(m).await {
                Ok(()) => Step::Go,
                Err(_) => Step::Shutdown,
            },
            // A newer cloud may send messages this build does not know.
            Err(e) => {
                tracing::debug!(error = %e, "ignored a message from the cloud");
                Step::Go
            }
        },
        Message::Close(frame) => {
            let why = frame.map_or_else(
                || "no reason".into(),
                |f| format!("{} {}", f.code, f.reason),
            );
            Step::Lost(Lost::Closed(why))
        }
        _ => Step::Go,
    }
}

/// A message as a JSON text frame.
fn text(m: &RelayMessage) -> Message {
    Message::text(serde_json::to_string(m).expect("wire messages serialize"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use argus_core::wire::RelayConfig;
    use tokio::net::TcpListener;
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let ms = |a| backoff(a).as_millis();
        assert_eq!([ms(0), ms(1), ms(2), ms(3)], [500, 1000, 2000, 4000]);
        assert_eq!(backoff(6), MAX_BACKOFF);
        assert_eq!(backoff(7), MAX_BACKOFF);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn jitter_stays_below_its_ceiling_and_spreads() {
        let ceiling = Duration::from_secs(4);
        let waits: Vec<Duration> = (0..200).map(|_| jitter(ceiling)).collect();
        assert!(waits.iter().all(|w| *w <= ceiling));
        let early = waits.iter().filter(|w| **w < ceiling / 2).count();
        assert!(
            (40..160).contains(&early),
            "{early} of 200 in the lower half"
        );
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn cloud_urls_map_to_websocket_urls() {
        let u = |s| ws_url(s).unwrap();
        assert_eq!(
            u("http://h:8080/relay/v1/connect"),
            "ws://h:8080/relay/v1/connect"
        );
        assert_eq!(u("HTTPS://h/relay/v1/connect"), "wss://h/relay/v1/connect");
        assert_eq!(u("wss://h/x"), "wss://h/x");
        assert!(ws_url("ftp://h/x").is_err());
        assert!(ws_url("h/x").is_err());
    }

    fn hello_msg() -> RelayMessage {
        RelayMessage::Hello {
            protocol: 1,
            version: "t".into(),
            cameras: vec![],
        }
    }

    fn config_text() -> Message {
        let config = CloudMessage::Config(RelayConfig { cameras: vec![] });
        Message::text(serde_json::to_string(&config).unwrap())
    }

    /// Accepts one WebSocket; returns it and the `Authorization` it carried.
    #[allow(clippy::result_large_err)] // tungstenite's callback type, not ours.
    async fn accept(
        listener: &TcpListener,
    ) -> (
        tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
        String,
    ) {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut auth = String::new();
        let ws = tokio_tungstenite::accept_hdr_async(tcp, |req: &Request, res: Response| {
            auth = req.headers()["authorization"].to_str().unwrap().to_string();
            Ok(res)
        })
        .await
        .unwrap();
        (ws, auth)
    }

    async fn next_text(
        ws: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    ) -> RelayMessage {
        loop {
            let frame = timeout(Duration::from_secs(5), ws.next()).await.unwrap();
            if let Message::Text(t) = frame.unwrap().unwrap() {
                return serde_json::from_str(t.as_str()).unwrap();
            }
        }
    }

    #[tokio::test]
    async fn hello_first_then_both_ways_and_a_reconnect_with_a_fresh_token() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/relay/v1/connect", listener.local_addr().unwrap());
        let counter = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let c = counter.clone();
        let token: TokenFn =
            Arc::new(move || format!("t{}", c.fetch_add(1, std::sync::atomic::Ordering::SeqCst)));
        let (to_cloud_tx, to_cloud) = mpsc::channel(8);
        let (from_cloud, mut from_cloud_rx) = mpsc::channel(8);
        let client = tokio::spawn(run(url, token, Arc::new(hello_msg), to_cloud, from_cloud));

        let (mut ws, auth) = accept(&listener).await;
        assert_eq!(auth, "Bearer t0");
        assert_eq!(next_text(&mut ws).await, hello_msg());
        ws.send(Message::Ping(b"are you there".to_vec().into()))
            .await
            .unwrap();
        let pong = timeout(Duration::from_secs(5), ws.next()).await.unwrap();
        assert!(
            matches!(&pong, Some(Ok(Message::Pong(p))) if &p[..] == b"are you there"),
            "{pong:?}"
        );
        ws.send(config_text()).await.unwrap();
        let got = timeout(Duration::from_secs(5), from_cloud_rx.recv())
            .await
            .unwrap();
        assert!(matches!(got, Some(CloudMessage::Config(_))));
        let beat = RelayMessage::Heartbeat {
            uplink: Default::default(),
        };
        to_cloud_tx.send(beat.clone()).await.unwrap();
        assert_eq!(next_text(&mut ws).await, beat);

        // The cloud drops the link; what the relay reports meanwhile is
        // discarded, and the next connection starts with a new hello.
        drop(ws);
        to_cloud_tx.send(beat.clone()).await.unwrap();
        let (mut ws, auth) = timeout(Duration::from_secs(5), accept(&listener))
            .await
            .unwrap();
        assert_eq!(auth, "Bearer t1");
        assert_eq!(next_text(&mut ws).await, hello_msg());
        let stale = timeout(Duration::from_millis(300), ws.next()).await;
        assert!(
            stale.is_err(),
            "a report from the outage was sent: {stale:?}"
        );

        // Closing `from_cloud` stops the client, with a close frame.
        drop(from_cloud_rx);
        let frame = timeout(Duration::from_secs(5), ws.next()).await.unwrap();
        assert!(matches!(frame, Some(Ok(Message::Close(_)))), "{frame:?}");
        timeout(Duration::from_secs(5), client)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn a_silent_cloud_is_dropped_and_reconnected() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/relay/v1/connect", listener.local_addr().unwrap());
        let (_to_cloud_tx, to_cloud) = mpsc::channel(8);
        let (from_cloud, _from_cloud_rx) = mpsc::channel(8);
        let silence = Duration::from_millis(300);
        let token: TokenFn = Arc::new(|| "t".into());
        let args = (
            url,
            token,
            Arc::new(hello_msg) as HelloFn,
            to_cloud,
            from_cloud,
        );
        let client = tokio::spawn(run_with(args.0, args.1, args.2, args.3, args.4, silence));

        // Accept and then say nothing: no pings, no config.
        let (mut first, _) = accept(&listener).await;
        assert_eq!(next_text(&mut first).await, hello_msg());
        let started = Instant::now();
        let (mut second, _) = timeout(Duration::from_secs(5), accept(&listener))
            .await
            .unwrap();
        assert!(
            started.elapsed() >= silence,
            "dropped after {:?}",
            started.elapsed()
        );
        assert_eq!(next_text(&mut second).await, hello_msg());
        client.abort();
    }
}

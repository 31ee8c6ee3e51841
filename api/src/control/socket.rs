//! One relay's control connection, from upgrade to close.
//!
//! On connect the relay is marked online and gets its config before any
//! other message. Then the task relays in both directions: the relay's
//! hello, heartbeats and camera health become row updates; the hub's
//! commands become config pushes, messages or a close. It pings every
//! [`PING_EVERY`] and drops a relay silent for [`SILENCE`]. It re-checks
//! that the relay is still allowed on every heartbeat, every ping and
//! every config reload, so a revoked relay is cut off within seconds.
//!
//! `last_seen_at` moves on every message and every ping, so a row still
//! `online` whose `last_seen_at` is older than [`SILENCE`] belongs to a node
//! that died without closing. TODO(#3): sweep such rows to offline.

use super::health;
use super::hub::Command;
use crate::entity::relay;
use crate::error::ApiError;
use crate::relay_api::auth::RelayAuth;
use crate::relay_api::config::config_for;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason, Session};
use argus_core::wire::control::{CloudMessage, RelayMessage};
use futures_util::StreamExt;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{interval, Instant, MissedTickBehavior};
use tracing::Instrument;

/// How often the api pings each relay.
pub const PING_EVERY: Duration = Duration::from_secs(15);

/// A relay not heard from for this long is dropped.
pub const SILENCE: Duration = Duration::from_secs(45);

/// Largest message accepted from a relay (a hello of many cameras).
const MAX_MESSAGE: usize = 1 << 20;

/// `GET /relay/v1/connect`: upgrades an authenticated relay's request to
/// its control WebSocket. A bad token is refused (401) before any upgrade.
pub async fn connect(
    state: web::Data<AppState>,
    auth: RelayAuth,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (res, session, stream) = actix_ws::handle(&req, body)
        .map_err(|e| ApiError::invalid(format!("not a WebSocket upgrade: {e}")))?;
    let stream = stream
        .max_frame_size(MAX_MESSAGE)
        .aggregate_continuations()
        .max_continuation_size(MAX_MESSAGE);

    let relay = auth.relay;
    let (serial, commands) = state.hub.register(relay.id);
    let span = tracing::info_span!("control", relay.id = %relay.id, tenant.id = %relay.tenant_id);
    let conn = Conn {
        state: state.clone(),
        relay,
        session,
        since: None,
    };
    actix_web::rt::spawn(conn.run(stream, commands, serial).instrument(span));
    Ok(res)
}

/// A live connection's state.
struct Conn {
    state: web::Data<AppState>,
    relay: relay::Model,
    session: Session,
    /// When this connection marked the relay online.
    since: Option<chrono::DateTime<chrono::Utc>>,
}

/// Why the loop ended: the reason logged and sent in the close frame.
struct End {
    code: CloseCode,
    why: String,
}

impl End {
    fn new(code: CloseCode, why: impl Into<String>) -> Self {
        Self {
            code,
            why: why.into(),
        }
    }
}

type Stream = actix_ws::AggregatedMessageStream;

impl Conn {
    /// Runs the connection to its end, then closes and cleans up.
    async fn run(
        mut self,
        stream: Stream,
        commands: mpsc::UnboundedReceiver<Command>,
        serial: u64,
    ) {
        tracing::info!("relay connected");
        let end = match self.open().await {
            Ok(()) => self.serve(stream, commands).await,
            Err(end) => end,
        };
        tracing::info!(reason = %end.why, "relay disconnected");

        let reason = CloseReason {
            code: end.code,
            description: Some(end.why),
        };
        let _ = self.session.clone().close(Some(reason)).await;
        let current = self.state.hub.unregister(self.relay.id, serial);
        if let (true, Some(since)) = (current, self.since) {
            if let Err(e) = health::disconnected(&self.state.db, &self.relay, since).await {
                tracing::warn!(error = %e, "could not mark the relay offline");
            }
        }
    }

    /// Marks the relay online and sends its config first.
    async fn open(&mut self) -> Result<(), End> {
        let since = health::connected(&self.state.db, &self.relay)
            .await
            .map_err(|e| internal("marking online", e))?;
        self.since = Some(since);
        self.push_config().await?;
        self.state
            .live
            .relay_connected(&self.state.hub, self.relay.id);
        Ok(())
    }

    /// The message loop.
    async fn serve(
        &mut self,
        mut stream: Stream,
        mut commands: mpsc::UnboundedReceiver<Command>,
    ) -> End {
        let mut ping = interval(PING_EVERY);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ping.reset();
        let mut heard = Instant::now();
        loop {
            let step = tokio::select! {
                frame = stream.next() => {
                    heard = Instant::now();
                    self.frame(frame).await
                }
                cmd = commands.recv() => self.command(cmd).await,
                _ = ping.tick() => self.tick(heard).await,
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    /// Handles one frame from the relay.
    async fn frame(
        &mut self,
        frame: Option<Result<actix_ws::AggregatedMessage, actix_ws::ProtocolError>>,
    ) -> Result<(), End> {
        use actix_ws::AggregatedMessage as M;
        match frame {
            None => Err(End::new(CloseCode::Normal, "connection closed")),
            Some(Err(e)) => Err(End::new(
                CloseCode::Protocol,
                format!("protocol error: {e}"),
            )),
            Some(Ok(M::Text(text))) => self.message(&text).await,
            Some(Ok(M::Ping(bytes))) => self.session.pong(&bytes).await.map_err(closed),
            Some(Ok(M::Pong(_))) => Ok(()),
            Some(Ok(M::Binary(_))) => Err(End::new(
                CloseCode::Unsupported,
                "binary frames are not spoken",
            )),
            Some(Ok(M::Close(reason))) => Err(End::new(CloseCode::Normal, closed_by_relay(reason))),
        }
    }

    /// Handles one JSON message from the relay.
    async fn message(&mut self, text: &str) -> Result<(), End> {
        let msg: RelayMessage = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(e) => {
                // A newer relay may speak messages this build does not know.
                tracing::debug!(error = %e, "ignored a message from the relay");
                return Ok(());
            }
        };
        let state = self.state.clone();
        let db = &state.db;
        let written = match &msg {
            RelayMessage::Hello {
                protocol,
                version,
                cameras,
            } => health::hello(db, &self.relay, *protocol, version, cameras).await,
            RelayMessage::Heartbeat { uplink } => {
                self.check_allowed().await?;
                health::heartbeat(db, &self.relay, uplink).await
            }
            RelayMessage::Camera(h) => health::camera(db, &self.relay, h).await,
        };
        written.map_err(|e| internal("recording health", e))
    }

    /// Handles one command from the hub.
    async fn command(&mut self, cmd: Option<Command>) -> Result<(), End> {
        match cmd {
            Some(Command::Reload) => {
                self.check_allowed().await?;
                self.push_config().await
            }
            Some(Command::Send(msg)) => self.send(&msg).await,
            Some(Command::Close(why)) => Err(End::new(CloseCode::Away, why)),
            None => Err(End::new(CloseCode::Away, "api shutting down")),
        }
    }

    /// The ping timer: drop a silent relay, re-check, ping.
    async fn tick(&mut self, heard: Instant) -> Result<(), End> {
        if heard.elapsed() >= SILENCE {
            return Err(End::new(CloseCode::Away, format!("silent for {SILENCE:?}")));
        }
        self.check_allowed().await?;
        health::seen(&self.state.db, &self.relay)
            .await
            .map_err(|e| internal("marking seen", e))?;
        self.session.ping(b"").await.map_err(closed)
    }

    /// Ends the connection if the relay was revoked or its tenant suspended.
    async fn check_allowed(&mut self) -> Result<(), End> {
        match health::still_allowed(&self.state.db, &self.relay).await {
            Ok(Some(row)) => {
                self.relay = row;
                Ok(())
            }
            Ok(None) => Err(End::new(
                CloseCode::Policy,
                "relay revoked or tenant suspended",
            )),
            Err(e) => Err(internal("checking the relay", e)),
        }
    }

    /// Loads the relay's config and sends it.
    async fn push_config(&mut self) -> Result<(), End> {
        let config = async {
            let tx = sea_orm::TransactionTrait::begin(&self.state.db).await?;
            crate::db::scope_to_tenant(&tx, self.relay.tenant_id).await?;
            let config = config_for(&tx, &self.relay).await?;
            tx.commit().await?;
            Ok::<_, ApiError>(config)
        };
        let config = config
            .await
            .map_err(|e| internal("loading the config", e))?;
        self.send(&CloudMessage::Config(config)).await
    }

    /// Sends one message as a JSON text frame.
    async fn send(&mut self, msg: &CloudMessage) -> Result<(), End> {
        let text = serde_json::to_string(msg).map_err(|e| internal("encoding", e))?;
        self.session.text(text).await.map_err(closed)
    }
}

/// A server-side failure: logged, and the relay will reconnect.
fn internal(what: &str, err: impl std::fmt::Display) -> End {
    tracing::warn!(error = %err, "control channel failed while {what}");
    End::new(CloseCode::Error, format!("internal error while {what}"))
}

fn closed(_: actix_ws::Closed) -> End {
    End::new(CloseCode::Normal, "connection closed")
}

fn closed_by_relay(reason: Option<CloseReason>) -> String {
    match reason.and_then(|r| r.description) {
        Some(d) => format!("closed by the relay: {d}"),
        None => "closed by the relay".into(),
    }
}

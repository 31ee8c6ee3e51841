//! What happened to one viewer's connection, read off it after a turn:
//! its state changes (which move its [`Phase`]), a phase deadline that
//! passed, and the datagrams it queued.

use super::conn::{Conn, Phase, RECONNECT_GRACE};
use super::socket::Datagram;
use rtc::peer_connection::event::RTCPeerConnectionEvent;
use rtc::peer_connection::state::RTCIceConnectionState as Ice;
use rtc::peer_connection::state::RTCPeerConnectionState as State;
use rtc::sansio::Protocol;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The soonest a connection's timer is run again after it was settled.
const MIN_TIMER: Duration = Duration::from_millis(1);

/// What a viewer's events amount to.
pub(super) enum Change {
    Up,
    Gone(&'static str),
}

/// Takes `conn`'s events (and drops what it read: RTCP the interceptors
/// already used); moves its phase; once ICE is up, hands it the datagrams
/// held until then.
pub(super) fn events(conn: &mut Conn, now: Instant) -> Option<Change> {
    let mut change = None;
    while let Some(ev) = conn.pc.poll_event() {
        tracing::trace!(session.id = %conn.id, event = ?ev, "viewer event");
        if let RTCPeerConnectionEvent::OnIceConnectionStateChangeEvent(
            Ice::Connected | Ice::Completed,
        ) = ev
        {
            conn.ice_up = true;
        }
        let RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) = ev else {
            continue;
        };
        tracing::debug!(session.id = %conn.id, %state, "viewer connection state");
        match (state, conn.phase) {
            (State::Connected, Phase::Connecting { .. }) => {
                conn.phase = Phase::Live;
                change = Some(Change::Up);
            }
            (State::Connected, _) => conn.phase = Phase::Live,
            (State::Disconnected, Phase::Live) => {
                conn.phase = Phase::Lost {
                    until: now + RECONNECT_GRACE,
                }
            }
            (State::Failed, _) => return Some(Change::Gone("connection failed")),
            (State::Closed, _) => return Some(Change::Gone("connection closed")),
            _ => {}
        }
    }
    while conn.pc.poll_read().is_some() {}
    conn.release_early(now);
    change
}

/// Why a phase's deadline ended the session, if it did.
pub(super) fn phase_over(phase: &Phase, now: Instant) -> Option<&'static str> {
    match *phase {
        Phase::Connecting { until } if until <= now => Some("did not connect"),
        Phase::Lost { until } if until <= now => Some("disconnected and did not come back"),
        _ => None,
    }
}

/// Moves `conn`'s queued datagrams to `out` and reads its next timer.
pub(super) fn drain(conn: &mut Conn, local: &[SocketAddr], out: &mut Vec<Datagram>) {
    while let Some(msg) = conn.pc.poll_write() {
        let sock = local
            .iter()
            .position(|a| *a == msg.transport.local_addr)
            .unwrap_or(0);
        out.push((sock, msg.transport.peer_addr, msg.message));
    }
    // A deadline already past is handled on the next turn, not in a spin.
    let soonest = Instant::now() + MIN_TIMER;
    conn.timer = conn.pc.poll_timeout().map(|t| t.max(soonest));
    conn.dirty = false;
}

//! What this node's SFU is doing, for admins: `GET /api/v1/live/sessions`
//! lists the caller's tenant's viewer sessions (who, which camera, since
//! when, packets and bytes sent) and its watched cameras (viewers, whether
//! the relay was asked to push, the ingest's packets and bytes received,
//! video packets lost or late on the way from the relay).
//!
//! Needs `relays.read` for the whole tenant: it is operational health,
//! like the relays' status. Another tenant's sessions are never listed.

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use argus_core::Permission::RelaysRead;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use uuid::Uuid;

/// Packets and bytes through one point of the SFU.
#[derive(Debug, Default)]
pub struct Counters {
    packets: AtomicU64,
    bytes: AtomicU64,
}

impl Counters {
    /// Counts one packet of `len` payload bytes.
    pub fn add(&self, len: usize) {
        self.packets.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(len as u64, Ordering::Relaxed);
    }

    /// `(packets, bytes)` so far.
    pub fn get(&self) -> (u64, u64) {
        let packets = self.packets.load(Ordering::Relaxed);
        (packets, self.bytes.load(Ordering::Relaxed))
    }
}

#[derive(Serialize)]
struct SessionStats {
    id: Uuid,
    camera_id: Uuid,
    user_id: Option<Uuid>,
    duration_secs: f64,
    packets_sent: u64,
    bytes_sent: u64,
}

#[derive(Serialize)]
struct CameraStats {
    camera_id: Uuid,
    relay_id: Uuid,
    viewers: usize,
    push_requested: bool,
    /// The current ingest, if the relay is pushing.
    ingest_id: Option<Uuid>,
    packets_received: u64,
    bytes_received: u64,
    /// Video packets missing when a later one came from the relay.
    packets_lost: u64,
    /// Video packets that came after a later one (retransmitted, reordered).
    packets_late: u64,
}

#[derive(Serialize)]
struct Stats {
    sessions: Vec<SessionStats>,
    cameras: Vec<CameraStats>,
}

/// Live sessions and watched cameras of the caller's tenant on this node.
#[utoipa::path(get, path = "/api/v1/live/sessions", tag = "live", security(("bearer" = [])),
    responses((status = 200, description = "sessions and cameras of this node"), (status = 403)))]
pub async fn sessions(state: web::Data<AppState>, auth: Auth) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    cx.require(RelaysRead)?;

    let mut sessions: Vec<SessionStats> = state
        .live
        .sessions_of(cx.tenant)
        .into_iter()
        .map(|s| {
            let (packets_sent, bytes_sent) = s.sent.get();
            SessionStats {
                id: s.id,
                camera_id: s.camera.id,
                user_id: s.owner,
                duration_secs: (s.started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
                packets_sent,
                bytes_sent,
            }
        })
        .collect();
    sessions.sort_by_key(|s| s.id);

    let mut cameras: Vec<CameraStats> = state
        .live
        .cameras_of(cx.tenant)
        .into_iter()
        .map(|c| {
            let (packets_received, bytes_received) = c.received.get();
            let (viewers, push_requested, ingest_id) = c.summary();
            let (packets_lost, packets_late) = c.order.get();
            CameraStats {
                camera_id: c.id,
                relay_id: c.relay,
                viewers,
                push_requested,
                ingest_id,
                packets_received,
                bytes_received,
                packets_lost,
                packets_late,
            }
        })
        .collect();
    cameras.sort_by_key(|c| c.camera_id);
    Ok(HttpResponse::Ok().json(Stats { sessions, cameras }))
}

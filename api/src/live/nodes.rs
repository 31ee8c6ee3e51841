//! The loop that lets several api nodes act as one SFU (with `[live]
//! node_url` set): every [`home::BEAT`], this node
//! 1. beats for the cameras it is home of and someone watches here, and
//! 2. for every relay connected to it, turns pushes wanted by other homes
//!    into start-live (with that home's WHIP URL) and pushes no longer
//!    wanted into stop-live.
//!
//! Each is one statement, skipped when there is nothing to beat for or no
//! relay connected: an idle node does not touch the database.
//!
//! Invariant: each wanted push is asked once per relay connection (a relay
//! that reconnects is asked again, see [`super::Live::relay_connected`]);
//! the loop ends when the api's state is dropped.

use super::home::{self, Wanted};
use crate::state::AppState;
use argus_core::wire::control::CloudMessage;
use std::collections::HashMap;
use std::sync::{Mutex, Weak};
use uuid::Uuid;

/// Pushes this node asked relays for on behalf of other homes.
#[derive(Default)]
pub struct Asked(Mutex<HashMap<Uuid, Wanted>>);

impl Asked {
    /// Forgets what `relay` was asked (it reconnected: ask again).
    pub fn forget_relay(&self, relay: Uuid) {
        self.lock().retain(|_, w| w.relay != relay);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Wanted>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Runs until the state is gone.
pub async fn run(state: Weak<AppState>, me: String) {
    let mut tick = tokio::time::interval(home::BEAT);
    loop {
        tick.tick().await;
        let Some(state) = state.upgrade() else {
            return;
        };
        if let Err(e) = step(&state, &me).await {
            tracing::warn!(error = %e, "live homes: database unreachable");
        }
    }
}

async fn step(state: &AppState, me: &str) -> Result<(), sea_orm::DbErr> {
    let watched = state.live.watched_here();
    home::beat(&state.db, me, &watched).await?;

    let relays = state.hub.connected();
    let wanted = home::wanted_from(&state.db, &relays, me).await?;
    let asked = &state.live.asked;
    for w in &wanted {
        if asked.lock().get(&w.camera) == Some(w) {
            continue;
        }
        let whip_url = format!("{}{}", w.node_url, super::whip_path(w.camera));
        let msg = CloudMessage::StartLive {
            camera_id: w.camera,
            whip_url,
        };
        if state.hub.send(w.relay, msg) {
            tracing::info!(camera.id = %w.camera, home = %w.node_url, "relay asked to push to another node");
            asked.lock().insert(w.camera, w.clone());
        }
    }

    asked.lock().retain(|camera, w| {
        let still = wanted.iter().any(|x| x.camera == *camera);
        if !still {
            state
                .hub
                .send(w.relay, CloudMessage::StopLive { camera_id: *camera });
        }
        still
    });
    Ok(())
}

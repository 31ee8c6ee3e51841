//! The relays' control channel, cloud side: one WebSocket per relay at
//! `/relay/v1/connect`. TODO(#3): being written.

use uuid::Uuid;

/// The relays connected to this api node, by relay id.
#[derive(Default)]
pub struct Hub {}

impl Hub {
    /// The cameras of `relay` changed: push it its new config if connected.
    pub fn config_changed(&self, _relay: Uuid) {}
}

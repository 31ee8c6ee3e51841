//! The relays' control channel, cloud side: one WebSocket per relay at
//! `/relay/v1/connect`, opened by the relay with a token it signed.
//!
//! `socket` runs each connection (config first, then health in and pushes
//! out); `hub` finds a relay's connection for request handlers; `health`
//! writes what relays report into their rows, scoped to their tenant.
//! Invariant: at most one connection per relay on a node; a newer one
//! replaces the older.

mod health;
mod hub;
mod socket;

pub use health::state_name;
pub use hub::Hub;
pub use socket::{connect, PING_EVERY, SILENCE};

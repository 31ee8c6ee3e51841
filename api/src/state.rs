//! What every request handler shares.

use crate::auth::keys::KeySet;
use crate::auth::limiter::Limiter;
use crate::config::Config;
use crate::control::Hub;
use crate::telemetry::Metrics;
use sea_orm::DatabaseConnection;
use std::time::Duration;

pub struct AppState {
    pub db: DatabaseConnection,
    pub cfg: Config,
    pub keys: KeySet,
    pub limiter: Limiter,
    pub metrics: Metrics,
    /// Relays connected to this node over the control channel.
    pub hub: Hub,
}

impl AppState {
    pub fn new(db: DatabaseConnection, cfg: Config, keys: KeySet) -> Self {
        let window = Duration::from_secs(cfg.auth.lockout_window_secs);
        Self {
            db,
            cfg,
            keys,
            limiter: Limiter::new(window),
            metrics: Metrics::new(),
            hub: Hub::default(),
        }
    }
}

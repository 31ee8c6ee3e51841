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
    /// Wraps every tenant key; `None` while recording is not configured.
    pub master_key: Option<argus_core::envelope::Key>,
    /// Where recordings go; `None` while recording is not configured.
    pub storage: Option<crate::storage::Storage>,
    /// The SFU: live ingests and viewer sessions on this node.
    pub live: crate::live::Live,
}

impl AppState {
    pub fn new(db: DatabaseConnection, cfg: Config, keys: KeySet) -> Self {
        let window = Duration::from_secs(cfg.auth.lockout_window_secs);
        let cfg_live = cfg.live.clone();
        Self {
            db,
            cfg,
            keys,
            limiter: Limiter::new(window),
            metrics: Metrics::new(),
            hub: Hub::default(),
            master_key: None,
            storage: None,
            live: crate::live::Live::new(cfg_live),
        }
    }

    /// Loads the master key and connects object storage (creating the
    /// bucket) when `[storage]` is configured; otherwise unchanged.
    pub async fn with_recording(mut self) -> Result<Self, crate::storage::SetupError> {
        if let Some((master, storage)) = crate::storage::setup(&self.cfg).await? {
            self.master_key = Some(master);
            self.storage = Some(storage);
        }
        Ok(self)
    }
}

//! Control-channel helpers: restarting the api in place, as a relay sees
//! a deploy or a crash of the node it is connected to.

use super::TestApp;
use argus_api::auth::keys::KeySet;
use argus_api::{AppState, Config};
use std::net::TcpListener;
use std::time::Duration;

impl TestApp {
    /// Stops the server at once (open connections are cut) and starts a
    /// fresh one, with a new state and an empty hub, on the same port and
    /// database.
    pub async fn restart(&mut self) {
        self.server.stop(false).await;
        let addr = self.base.trim_start_matches("http://").to_string();
        let listener = bind(&addr).await;

        let mut cfg = Config::default();
        cfg.auth.key_dir = Some(self.key_dir.clone());
        let keys = KeySet::load_or_create(&self.key_dir).unwrap();
        // A fresh pool: connections the old server's worker runtimes opened
        // died with those runtimes, as they would with the old process.
        let url = format!("{}/{}", super::server_url(), self.db_name);
        let db = argus_api::db::connect(&url).await.unwrap();
        let state = actix_web::web::Data::new(AppState::new(db, cfg, keys));
        let server = argus_api::app::serve(state, listener, 1).unwrap();
        self.server = server.handle();
        tokio::spawn(server);
    }
}

/// Binds `addr`, retrying while the old server lets go of it.
async fn bind(addr: &str) -> TcpListener {
    for _ in 0..50 {
        if let Ok(l) = TcpListener::bind(addr) {
            return l;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("could not bind {addr} again after a restart");
}

//! A second api node: another server on the same database and JWT keys as
//! a [`TestApp`], as when several api processes run behind one name.

use super::{server_url, TestApp};
use argus_api::auth::keys::KeySet;
use argus_api::{AppState, Config};
use std::net::TcpListener;

/// A running second node; stopped when dropped.
pub struct Node {
    pub base: String,
    server: actix_web::dev::ServerHandle,
}

impl TestApp {
    /// Starts another node on this app's database; `tweak` gets its base URL.
    pub async fn second_node(&self, tweak: impl FnOnce(&mut Config, &str)) -> Node {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut cfg = Config::default();
        cfg.auth.key_dir = Some(self.key_dir.clone());
        tweak(&mut cfg, &base);

        let keys = KeySet::load_or_create(&self.key_dir).unwrap();
        let url = format!("{}/{}", server_url(), self.db_name);
        let db = argus_api::db::connect(&url).await.unwrap();
        let state = AppState::new(db, cfg, keys)
            .with_recording()
            .await
            .expect("recording set up on the second node");
        let state = actix_web::web::Data::new(state);
        let server = argus_api::app::serve(state, listener, 1).unwrap();
        let handle = server.handle();
        tokio::spawn(server);
        Node {
            base,
            server: handle,
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        drop(self.server.stop(false));
    }
}

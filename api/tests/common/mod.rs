//! Test harness: a real api on a loopback port, backed by its own fresh
//! PostgreSQL database, so tests run in parallel without sharing state.
//!
//! `TEST_DATABASE_URL` names the server (default
//! `postgres://postgres@127.0.0.1:5432`); each `TestApp` creates database
//! `argus_test_<uuid>` and drops it when dropped.

#![allow(dead_code)]

pub mod control;
pub mod nodes;
pub mod recording;
pub mod world;

use argus_api::auth::keys::KeySet;
use argus_api::{bootstrap, AppState, Config};
use argus_core::Secret;
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::PathBuf;
use uuid::Uuid;

pub const PLATFORM_EMAIL: &str = "root@platform.test";
pub const PASSWORD: &str = "correct horse battery";

pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub db: DatabaseConnection,
    pub db_name: String,
    pub key_dir: PathBuf,
    pub platform_token: String,
    server: actix_web::dev::ServerHandle,
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts with a config adjusted by `tweak`.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_node(|cfg, _| tweak(cfg)).await
    }

    /// Starts with a config adjusted by `tweak`, which also gets the
    /// server's base URL (for settings naming the node itself).
    pub async fn start_node(tweak: impl FnOnce(&mut Config, &str)) -> Self {
        // The server's warnings and errors go to the test's captured output.
        let _ = tracing_subscriber::fmt()
            .with_env_filter("warn")
            .with_test_writer()
            .try_init();
        let db_name = format!("argus_test_{}", Uuid::new_v4().simple());
        let admin = Database::connect(format!("{}/postgres", server_url()))
            .await
            .expect("postgres reachable");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {db_name}"))
            .await
            .unwrap();
        admin.close().await.ok();

        let db = argus_api::db::connect(&format!("{}/{db_name}", server_url()))
            .await
            .unwrap();
        argus_api::db::migrate(&db).await.unwrap();
        let key_dir = std::env::temp_dir().join(&db_name);
        let keys = KeySet::load_or_create(&key_dir).unwrap();
        bootstrap::platform_admin(&db, PLATFORM_EMAIL, &Secret::new(PASSWORD.into()))
            .await
            .unwrap();

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut cfg = Config::default();
        cfg.auth.key_dir = Some(key_dir.clone());
        tweak(&mut cfg, &base);
        // The server gets its own pool: connections its worker runtime opens
        // must not be handed to the test's runtime (they die with the
        // worker, e.g. on `restart`).
        let server_db = argus_api::db::connect(&format!("{}/{db_name}", server_url()))
            .await
            .unwrap();
        let state = AppState::new(server_db, cfg, keys)
            .with_recording()
            .await
            .expect("recording (object storage, master key) set up");
        let state = actix_web::web::Data::new(state);
        let server = argus_api::app::serve(state, listener, 1).unwrap();
        let handle = server.handle();
        tokio::spawn(server);

        let mut app = TestApp {
            base,
            http: reqwest::Client::new(),
            db,
            db_name,
            key_dir,
            platform_token: String::new(),
            server: handle,
        };
        app.platform_token = app.login(PLATFORM_EMAIL, PASSWORD, None).await["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        app
    }

    /// Sends a JSON request; returns status and the parsed body (or Null).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_at(&self.base, method, path, token, body).await
    }

    /// [`Self::call`] against another server (a second api node).
    pub async fn call_at(
        &self,
        base: &str,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{base}{path}"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Calls and asserts the status; returns the body.
    pub async fn ok(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
        want: u16,
    ) -> Value {
        let (status, value) = self.call(method, path, Some(token), body).await;
        assert_eq!(status.as_u16(), want, "{method} {path} -> {value}");
        value
    }

    /// Logs in and returns the token response (asserting 200).
    pub async fn login(&self, email: &str, password: &str, tenant: Option<&str>) -> Value {
        let (status, body) = self
            .call(
                "post",
                "/api/v1/auth/login",
                None,
                Some(json!({
                    "email": email, "password": password, "tenant": tenant
                })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login {email}: {body}");
        body
    }

    /// Row count of `table` in this test's database (as the owner).
    pub async fn count(&self, table: &str) -> i64 {
        let row = self
            .db
            .query_one(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                format!("SELECT count(*) AS n FROM {table}"),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let name = self.db_name.clone();
        let key_dir = self.key_dir.clone();
        // Ask the server to stop; its future lives on the test's runtime,
        // which this thread blocks, so do not wait for it.
        drop(self.server.stop(false));
        // Drop runs outside async context: clean up on a thread of its own.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                if let Ok(admin) = Database::connect(format!("{}/postgres", server_url())).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
            let _ = std::fs::remove_dir_all(key_dir);
        })
        .join()
        .ok();
    }
}

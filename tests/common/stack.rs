//! The recording stack as separate processes, the way it runs in
//! production: `argus api` on its own fresh PostgreSQL database and S3
//! bucket, and `argus-relay` on its own state dir, each logging to a file
//! that the test can scan for leaked secrets.
//!
//! `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432`) and
//! `TEST_S3_ENDPOINT` (default `http://127.0.0.1:9090`) name the servers;
//! `scripts/test.sh` starts both.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sea_orm::{ConnectionTrait, Database};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use uuid::Uuid;

pub const PLATFORM_EMAIL: &str = "root@e2e.test";
pub const PASSWORD: &str = "correct horse battery staple";

/// A port nobody listens on yet.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

pub fn database_server() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

pub fn s3_endpoint() -> String {
    std::env::var("TEST_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:9090".into())
}

/// A child process killed when dropped, its output in `log`.
pub struct Proc {
    pub child: Child,
    pub log: PathBuf,
}

impl Proc {
    fn spawn(mut cmd: Command, log: PathBuf) -> Self {
        let out = std::fs::File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        Self { child, log }
    }

    /// Ends the process with SIGKILL, as a power cut or `kill -9` would.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What it has logged so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The `argus` binary under test and the `argus-relay` built beside it.
pub fn bin(name: &str) -> PathBuf {
    let argus = PathBuf::from(env!("CARGO_BIN_EXE_argus"));
    if name == "argus" {
        return argus;
    }
    let path = argus.with_file_name(name);
    assert!(
        path.exists(),
        "{} is missing: build the workspace (cargo build --workspace)",
        path.display()
    );
    path
}

/// A command for one of our binaries, without any `ARGUS_*` variable of
/// the test's own environment (the config rejects unknown ones).
fn command(name: &str) -> Command {
    let mut cmd = Command::new(bin(name));
    for (key, _) in std::env::vars() {
        if key.starts_with("ARGUS_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// One api process with its own database, bucket and key material.
pub struct Api {
    pub url: String,
    pub port: u16,
    pub dir: PathBuf,
    pub db_name: String,
    /// The bucket it records into.
    pub bucket: String,
    pub proc: Option<Proc>,
    env: Vec<(String, String)>,
}

impl Api {
    /// Migrates a fresh database, creates the platform admin, starts the
    /// api. `s3` is the endpoint the api presigns uploads for (a proxy in
    /// the WAN-outage test).
    pub async fn start(dir: &Path, s3: &str) -> Self {
        let db_name = format!("argus_e2e_{}", Uuid::new_v4().simple());
        create_database(&db_name).await;
        let port = free_port();
        let bucket = format!("e2e-{}", Uuid::new_v4().simple());
        let env = api_env(dir, &db_name, (s3, &bucket), port);

        let mut admin = command("argus");
        admin.args(["admin", "create-platform-admin", "--email", PLATFORM_EMAIL]);
        run_ok(admin.envs(env.iter().cloned()), "argus admin");

        let mut api = Self {
            url: format!("http://127.0.0.1:{port}"),
            port,
            dir: dir.to_path_buf(),
            db_name,
            bucket,
            proc: None,
            env,
        };
        api.restart().await;
        api
    }

    /// (Re)starts the api process on the same port and database.
    pub async fn restart(&mut self) {
        drop(self.proc.take());
        let mut cmd = command("argus");
        cmd.args(["api", "--workers", "2"])
            .envs(self.env.iter().cloned());
        let log = self
            .dir
            .join(format!("api-{}.log", Uuid::new_v4().simple()));
        self.proc = Some(Proc::spawn(cmd, log));
        wait_http(&format!("{}/readyz", self.url)).await;
    }

    /// Everything the api has logged, across restarts.
    pub fn logs(&self) -> String {
        read_logs(&self.dir, "api-")
    }
}

fn api_env(dir: &Path, db: &str, (s3, bucket): (&str, &str), port: u16) -> Vec<(String, String)> {
    let master = URL_SAFE_NO_PAD.encode(argus_core::envelope::random_key().expose());
    [
        ("DATABASE_URL", format!("{}/{db}", database_server())),
        ("ARGUS_LISTEN", format!("127.0.0.1:{port}")),
        ("ARGUS_LOG", "info,argus_api=debug".into()),
        (
            "ARGUS_AUTH__KEY_DIR",
            dir.join("keys").display().to_string(),
        ),
        ("ARGUS_BOOTSTRAP_ADMIN_PASSWORD", PASSWORD.into()),
        ("ARGUS_KEYS__MASTER_KEY", master),
        ("ARGUS_STORAGE__ENDPOINT", s3.into()),
        ("ARGUS_STORAGE__BUCKET", bucket.into()),
        ("ARGUS_STORAGE__ACCESS_KEY_ID", "e2e".into()),
        ("ARGUS_STORAGE__SECRET_ACCESS_KEY", "e2e-secret".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Starts `argus-relay` on `state_dir`, talking to `cloud`.
pub fn start_relay(state_dir: &Path, cloud: &str, claim_code: Option<&str>) -> Proc {
    std::fs::create_dir_all(state_dir).unwrap();
    let mut cmd = command("argus-relay");
    cmd.arg("--cloud-url")
        .arg(cloud)
        .arg("--state-dir")
        .arg(state_dir)
        .args(["--http-timeout-secs", "5", "--retry-max-secs", "2"])
        .env("RUST_LOG", "info,argus_relay=debug")
        .env("ARGUS_LOG", "info,argus_relay=debug");
    if let Some(code) = claim_code {
        cmd.env("ARGUS_RELAY_CLAIM_CODE", code);
    }
    let dir = state_dir.parent().unwrap();
    let log = dir.join(format!("relay-{}.log", Uuid::new_v4().simple()));
    Proc::spawn(cmd, log)
}

/// Everything logged by processes whose log file names start with `prefix`.
pub fn read_logs(dir: &Path, prefix: &str) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with(prefix) && name.ends_with(".log") {
            all.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
    }
    all
}

async fn create_database(name: &str) {
    let admin = Database::connect(format!("{}/postgres", database_server()))
        .await
        .expect("PostgreSQL reachable (scripts/ensure-postgres.sh)");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    admin.close().await.ok();
}

fn run_ok(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits until `url` answers 200 (60 s at most).
pub async fn wait_http(url: &str) {
    let http = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(r) = http.get(url).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not come up");
}

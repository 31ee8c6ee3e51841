//! Configuration: defaults, then an optional TOML file, then `ARGUS_*`
//! environment variables (nested keys joined by `__`, e.g.
//! `ARGUS_AUTH__ACCESS_TTL_SECS`). Unknown keys are rejected, so a typo
//! fails at start-up instead of being silently ignored.
//! `argus.sample.toml` at the repository root documents every key.

use argus_core::Secret;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Everything the api and the `argus` CLI read at start-up.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: String,
    /// Reverse proxies in front of the api (IP addresses). A request from one
    /// of them is attributed to the last address in `X-Forwarded-For` that is
    /// not itself a trusted proxy; from anyone else the header is ignored.
    /// Login throttling per IP and the audit log's client IP rely on this.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Database URL: `postgres://…` or `sqlite://…`. `DATABASE_URL` also works.
    #[serde(skip_serializing)]
    pub database_url: Option<Secret<String>>,
    /// Where `argus dev` keeps its SQLite file and signing keys.
    pub data_dir: PathBuf,
    /// `text` (default) or `json`.
    pub log_format: String,
    /// A tracing filter, e.g. `info,argus_api=debug`.
    pub log: String,
    pub auth: AuthConfig,
    /// Object storage for recordings; recording is off without it.
    pub storage: Option<StorageConfig>,
    /// The master key that wraps every tenant key.
    pub keys: KeysConfig,
    /// First platform admin created by `argus dev` / `argus admin bootstrap`.
    pub bootstrap_admin_email: Option<String>,
    #[serde(skip_serializing)]
    pub bootstrap_admin_password: Option<Secret<String>>,
    /// Admin of the demo tenant created by `argus dev`.
    pub demo_admin_email: Option<String>,
    #[serde(skip_serializing)]
    pub demo_admin_password: Option<Secret<String>>,
    /// Live view (the SFU).
    pub live: crate::live::LiveConfig,
}

/// Tokens, passwords and login throttling.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// `iss` of access tokens.
    pub issuer: String,
    /// `aud` of access tokens.
    pub audience: String,
    /// Lifetime of an access token.
    pub access_ttl_secs: i64,
    /// Lifetime of one refresh token; each refresh issues a new one.
    pub refresh_ttl_secs: i64,
    /// Longest a login session lasts, however often it is refreshed.
    pub session_ttl_secs: i64,
    /// Directory of Ed25519 signing keys (`<kid>.pk8`); the newest signs,
    /// all verify. Defaults to `<data_dir>/keys`.
    pub key_dir: Option<PathBuf>,
    /// Failed logins allowed per account within `lockout_window_secs`.
    pub max_failures_per_account: u32,
    /// Failed logins allowed per client IP within `lockout_window_secs`.
    pub max_failures_per_ip: u32,
    pub lockout_window_secs: u64,
    /// Longest a platform admin's grant into a tenant may last.
    pub max_grant_secs: i64,
}

/// The S3-compatible object store recordings go to (`[storage]`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Endpoint URL, e.g. `http://127.0.0.1:9000`; AWS's when unset.
    pub endpoint: Option<String>,
    /// Default `us-east-1`.
    pub region: String,
    /// Default `argus`; created at start-up if missing.
    pub bucket: String,
    pub access_key_id: Option<String>,
    #[serde(skip_serializing)]
    pub secret_access_key: Option<Secret<String>>,
    /// Path-style URLs (`endpoint/bucket/key`); default true, what most
    /// S3-compatible servers need.
    pub force_path_style: bool,
    /// Lifetime of a presigned upload URL; default 900.
    pub presign_ttl_secs: u64,
    /// Prepended to every object key, e.g. `argus/`; default empty.
    pub prefix: String,
    /// Largest object a relay may upload; default 64 MiB.
    pub max_object_bytes: u64,
}

/// Where the master key comes from (`[keys]`): exactly one of the two.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// 32 bytes, base64url without padding.
    #[serde(skip_serializing)]
    pub master_key: Option<Secret<String>>,
    /// A file holding the same; `argus dev` generates one in `data_dir`.
    pub master_key_file: Option<PathBuf>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            region: "us-east-1".into(),
            bucket: "argus".into(),
            access_key_id: None,
            secret_access_key: None,
            force_path_style: true,
            presign_ttl_secs: 900,
            prefix: String::new(),
            max_object_bytes: 64 * 1024 * 1024,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            trusted_proxies: vec![],
            database_url: None,
            data_dir: PathBuf::from("argus-data"),
            log_format: "text".into(),
            log: "info".into(),
            auth: AuthConfig::default(),
            storage: None,
            keys: KeysConfig::default(),
            bootstrap_admin_email: None,
            bootstrap_admin_password: None,
            demo_admin_email: None,
            demo_admin_password: None,
            live: Default::default(),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            issuer: "argus".into(),
            audience: "argus-api".into(),
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 14 * 24 * 3600,
            session_ttl_secs: 30 * 24 * 3600,
            key_dir: None,
            max_failures_per_account: 5,
            max_failures_per_ip: 50,
            lockout_window_secs: 15 * 60,
            max_grant_secs: 4 * 3600,
        }
    }
}

/// `ARGUS_RELAY_*` configures `argus-relay` (also in `argus dev`'s
/// environment), not the api: not an unknown key here.
fn is_relay_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.starts_with("relay_") || key.starts_with("argus_relay_")
}

/// Secret keys, as `ARGUS_` variables name them (nested keys joined by
/// `__`). They are taken verbatim, always as strings: figment would read
/// `0123456789` as a number, lose its zero, and quote it in its error.
const SECRET_VARS: &[&str] = &[
    "database_url",
    "bootstrap_admin_password",
    "demo_admin_password",
    "keys__master_key",
    "storage__secret_access_key",
    "live__turn_secret",
];

fn is_secret_var(key: &str) -> bool {
    SECRET_VARS.contains(&key.to_ascii_lowercase().as_str())
}

impl Config {
    /// Reads defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            fig = fig.merge(Toml::file_exact(path));
        }
        fig = fig.merge(
            Env::prefixed("ARGUS_")
                .filter(|k| !is_relay_key(k.as_str()) && !is_secret_var(k.as_str()))
                .split("__"),
        );
        for var in SECRET_VARS {
            if let Ok(value) = std::env::var(format!("ARGUS_{}", var.to_ascii_uppercase())) {
                fig = fig.merge((var.replace("__", "."), value));
            }
        }
        let mut cfg: Config = fig.extract().map_err(Box::new)?;
        if cfg.database_url.is_none() {
            cfg.database_url = std::env::var("DATABASE_URL").ok().map(Secret::new);
        }
        Ok(cfg)
    }

    /// The directory holding the JWT signing keys.
    pub fn key_dir(&self) -> PathBuf {
        self.auth
            .key_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("keys"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_config_parses_and_typos_are_rejected() {
        let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../argus.sample.toml");
        let cfg = Config::load(Some(Path::new(sample))).expect("sample config parses");
        assert_eq!(cfg.auth.access_ttl_secs, 900);

        let bad: Result<Config, _> = Figment::from(Toml::string("listn = \"0.0.0.0:1\"")).extract();
        assert!(bad.unwrap_err().to_string().contains("listn"));
    }

    #[test]
    fn secrets_from_the_environment_stay_strings() {
        std::env::set_var("ARGUS_DEMO_ADMIN_PASSWORD", "0123456789");
        std::env::set_var("ARGUS_KEYS__MASTER_KEY", "007");
        let cfg = Config::load(None).expect("digits are a valid password");
        std::env::remove_var("ARGUS_DEMO_ADMIN_PASSWORD");
        std::env::remove_var("ARGUS_KEYS__MASTER_KEY");

        let pw = cfg.demo_admin_password.expect("read");
        assert_eq!(pw.expose(), "0123456789");
        assert_eq!(cfg.keys.master_key.expect("read").expose(), "007");
    }
}

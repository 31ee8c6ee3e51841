//! The relay's options: command line flags, each with an `ARGUS_RELAY_*`
//! environment override and a documented default.
//!
//! [`RelayOptions`] is a plain struct, so `argus dev` and tests can build
//! one directly with [`RelayOptions::new`] instead of parsing arguments.
//! The claim code is a [`Secret`]: printing the options never shows it.

use argus_core::Secret;
use std::path::PathBuf;
use std::time::Duration;

/// Default spool cap: 2 GiB of ciphertext.
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 2 << 30;

/// Everything `argus-relay` needs to start.
#[derive(Clone, Debug, clap::Parser)]
#[command(name = "argus-relay", version, about = "The Argus on-site relay")]
pub struct RelayOptions {
    /// Base URL of the Argus cloud, e.g. `https://argus.example.com`.
    #[arg(long, env = "ARGUS_RELAY_CLOUD_URL")]
    pub cloud_url: String,

    /// One-time claim code from the api; only needed while the state dir
    /// holds no identity yet. May start with `-` (codes are base64url).
    #[arg(long, env = "ARGUS_RELAY_CLAIM_CODE", hide_env_values = true,
          allow_hyphen_values = true, value_parser = parse_secret)]
    pub claim_code: Option<Secret<String>>,

    /// Where the identity, cached config, data keys and the spool live.
    #[arg(
        long,
        env = "ARGUS_RELAY_STATE_DIR",
        default_value = "/var/lib/argus-relay"
    )]
    pub state_dir: PathBuf,

    /// Most ciphertext bytes the spool holds before dropping the oldest
    /// unsent media segments (default 2 GiB).
    #[arg(long, env = "ARGUS_RELAY_SPOOL_MAX_BYTES", default_value_t = DEFAULT_SPOOL_MAX_BYTES)]
    pub spool_max_bytes: u64,

    /// Most objects committed in one `POST /relay/v1/commits` (default 32).
    #[arg(long, env = "ARGUS_RELAY_COMMIT_BATCH", default_value_t = 32)]
    pub commit_batch: usize,

    /// Uploads in flight at once; 0 (the default) picks one per 8 cameras,
    /// at least 4 and at most 64.
    #[arg(long, env = "ARGUS_RELAY_UPLOAD_PARALLEL", default_value_t = 0)]
    pub upload_parallel: usize,

    /// Timeout of each HTTP request to the cloud or object store, seconds
    /// (default 30).
    #[arg(long, env = "ARGUS_RELAY_HTTP_TIMEOUT_SECS", default_value_t = 30)]
    pub http_timeout_secs: u64,

    /// Longest wait between upload retries, seconds (default 10).
    #[arg(long, env = "ARGUS_RELAY_RETRY_MAX_SECS", default_value_t = 10)]
    pub retry_max_secs: u64,
}

impl RelayOptions {
    /// Options with every default, for `argus dev` and tests.
    pub fn new(cloud_url: impl Into<String>, state_dir: impl Into<PathBuf>) -> Self {
        Self {
            cloud_url: cloud_url.into(),
            claim_code: None,
            state_dir: state_dir.into(),
            spool_max_bytes: DEFAULT_SPOOL_MAX_BYTES,
            commit_batch: 32,
            upload_parallel: 0,
            http_timeout_secs: 30,
            retry_max_secs: 10,
        }
    }

    /// The cloud URL without a trailing slash.
    pub fn cloud_base(&self) -> &str {
        self.cloud_url.trim_end_matches('/')
    }

    /// [`Self::http_timeout_secs`] as a duration.
    pub fn http_timeout(&self) -> Duration {
        Duration::from_secs(self.http_timeout_secs.max(1))
    }

    /// [`Self::retry_max_secs`] as a duration.
    pub fn retry_max(&self) -> Duration {
        Duration::from_secs(self.retry_max_secs.max(1))
    }
}

fn parse_secret(value: &str) -> Result<Secret<String>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("the claim code is empty".into());
    }
    Ok(Secret::new(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn flags_parse_and_the_claim_code_is_redacted() {
        let o = RelayOptions::try_parse_from([
            "argus-relay",
            "--cloud-url=https://c.example/",
            "--claim-code=ABCD-1234",
            "--state-dir=/tmp/x",
            "--spool-max-bytes=1000",
        ])
        .unwrap();
        assert_eq!(o.cloud_base(), "https://c.example");
        assert_eq!(o.claim_code.as_ref().unwrap().expose(), "ABCD-1234");
        assert_eq!(o.spool_max_bytes, 1000);
        assert_eq!(o.commit_batch, 32);
        assert!(!format!("{o:?}").contains("ABCD"));
    }

    #[test]
    fn a_claim_code_may_start_with_a_dash() {
        let args = [
            "r",
            "--cloud-url=x",
            "--claim-code",
            "-4Ab_c",
            "--state-dir",
            "/tmp/y",
        ];
        let o = RelayOptions::try_parse_from(args).unwrap();
        assert_eq!(o.claim_code.as_ref().unwrap().expose(), "-4Ab_c");
        assert_eq!(o.state_dir, PathBuf::from("/tmp/y"));
    }

    #[test]
    fn defaults_match_the_flags() {
        let parsed = RelayOptions::try_parse_from(["r", "--cloud-url=x"]).unwrap();
        let built = RelayOptions::new("x", "/var/lib/argus-relay");
        assert_eq!(format!("{parsed:?}"), format!("{built:?}"));
    }
}

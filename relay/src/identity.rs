//! The relay's identity: its two key pairs and the ids the cloud gave it
//! at enrollment, kept in the state dir.
//!
//! Invariant: the keys are saved (`relay-keys.json`, 0600) before they are sent
//! to enroll, and the identity (`identity.json`) only after enrollment
//! succeeded; so a relay restarted with its state dir never needs the claim
//! code again, and one that crashed mid-enrollment retries with the same keys.

use crate::cloud::{self, CloudError};
use crate::config::RelayOptions;
use crate::state;
use argus_core::relay_token::SigningKey;
use argus_core::sealed::SealingKey;
use argus_core::wire::{EnrollRequest, EnrollResponse};
use argus_core::Secret;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// Why the relay has no identity.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(
        "state dir {dir} holds no identity yet: start once with a claim code \
         (--claim-code or ARGUS_RELAY_CLAIM_CODE)"
    )]
    NoClaimCode { dir: PathBuf },
    #[error(
        "the cloud refused the claim code ({code}: {message}); it is used, expired or \
         unknown: create a new one for this site"
    )]
    ClaimRefused { code: String, message: String },
    #[error("enrollment failed: {0}")]
    Enroll(CloudError),
    #[error("state dir {path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("state dir file {path} is damaged; remove the state dir and enroll again")]
    Damaged { path: PathBuf },
}

/// Who this relay is, and the keys that prove it.
pub struct Identity {
    pub relay_id: Uuid,
    pub tenant_id: Uuid,
    pub site_id: Uuid,
    /// Signs the relay's tokens.
    pub signing: SigningKey,
    /// Opens camera credentials sealed to this relay.
    pub sealing: SealingKey,
}

impl Identity {
    /// A fresh token for the cloud, valid for 60 s from now.
    pub fn token(&self) -> Secret<String> {
        let now = chrono::Utc::now().timestamp();
        Secret::new(self.signing.sign(self.relay_id, now, 60))
    }
}

#[derive(Serialize, Deserialize)]
struct StoredKeys {
    signing_pkcs8: Secret<String>,
    sealing: Secret<String>,
}

/// Loads the identity from `opts.state_dir`, enrolling first if there is none.
pub async fn load_or_enroll(opts: &RelayOptions) -> Result<Identity, IdentityError> {
    let dir = &opts.state_dir;
    state::create_private_dir(dir).map_err(io_error(dir))?;
    let id_path = dir.join("identity.json");
    let keys_path = dir.join("relay-keys.json");
    if id_path.exists() && !keys_path.exists() {
        return Err(damaged(&keys_path));
    }
    let (signing, sealing) = load_or_create_keys(&keys_path)?;

    let enrolled = match std::fs::read(&id_path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|_| damaged(&id_path))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let enrolled = enroll(opts, &signing, &sealing).await?;
            let bytes = serde_json::to_vec_pretty(&enrolled).expect("plain struct");
            state::write_private(&id_path, &bytes).map_err(io_error(&id_path))?;
            tracing::info!(relay.id = %enrolled.relay_id, "relay enrolled");
            enrolled
        }
        Err(e) => return Err(io_error(&id_path)(e)),
    };

    let EnrollResponse {
        relay_id,
        tenant_id,
        site_id,
    } = enrolled;
    Ok(Identity {
        relay_id,
        tenant_id,
        site_id,
        signing,
        sealing,
    })
}

async fn enroll(
    opts: &RelayOptions,
    signing: &SigningKey,
    sealing: &SealingKey,
) -> Result<EnrollResponse, IdentityError> {
    let dir = opts.state_dir.clone();
    let claim_code = opts
        .claim_code
        .clone()
        .ok_or(IdentityError::NoClaimCode { dir })?;
    let request = EnrollRequest {
        claim_code,
        signing_key: signing.public_key(),
        sealing_key: sealing.public_key(),
        version: env!("CARGO_PKG_VERSION").into(),
    };

    match cloud::enroll(opts.cloud_base(), opts.http_timeout(), &request).await {
        Ok(enrolled) => Ok(enrolled),
        Err(CloudError::Status {
            status,
            code,
            message,
            ..
        }) if is_refusal(status) => Err(IdentityError::ClaimRefused { code, message }),
        Err(e) => Err(IdentityError::Enroll(e)),
    }
}

fn is_refusal(status: u16) -> bool {
    matches!(status, 400 | 401 | 403 | 404 | 409 | 410 | 422)
}

fn load_or_create_keys(path: &Path) -> Result<(SigningKey, SealingKey), IdentityError> {
    match std::fs::read(path) {
        Ok(bytes) => decode_keys(&bytes).ok_or_else(|| damaged(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let (signing, sealing) = (SigningKey::generate(), SealingKey::generate());
            let stored = StoredKeys {
                signing_pkcs8: Secret::new(URL_SAFE_NO_PAD.encode(signing.pkcs8())),
                sealing: Secret::new(URL_SAFE_NO_PAD.encode(sealing.to_bytes())),
            };
            let bytes = serde_json::to_vec(&stored).expect("plain struct");
            state::write_private(path, &bytes).map_err(io_error(path))?;
            Ok((signing, sealing))
        }
        Err(e) => Err(io_error(path)(e)),
    }
}

fn decode_keys(bytes: &[u8]) -> Option<(SigningKey, SealingKey)> {
    let stored: StoredKeys = serde_json::from_slice(bytes).ok()?;
    let pkcs8 = URL_SAFE_NO_PAD.decode(stored.signing_pkcs8.expose()).ok()?;
    let sealing = URL_SAFE_NO_PAD.decode(stored.sealing.expose()).ok()?;
    let signing = SigningKey::from_pkcs8(&pkcs8)?;
    Some((signing, SealingKey::from_bytes(sealing.try_into().ok()?)))
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> IdentityError + '_ {
    move |error| IdentityError::Io {
        path: path.to_path_buf(),
        error,
    }
}

fn damaged(path: &Path) -> IdentityError {
    IdentityError::Damaged {
        path: path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_fresh_dir_without_claim_code_says_so_and_keeps_its_keys() {
        let dir = tempfile::tempdir().unwrap();
        let opts = RelayOptions::new("http://127.0.0.1:9", dir.path());
        let err = load_or_enroll(&opts).await.err().unwrap();
        assert!(matches!(err, IdentityError::NoClaimCode { .. }), "{err}");
        assert!(err.to_string().contains("claim code"));

        let keys = std::fs::read(dir.path().join("relay-keys.json")).unwrap();
        let _ = load_or_enroll(&opts).await;
        assert_eq!(
            std::fs::read(dir.path().join("relay-keys.json")).unwrap(),
            keys
        );
    }

    #[tokio::test]
    async fn a_stored_identity_needs_no_cloud() {
        let dir = tempfile::tempdir().unwrap();
        let opts = RelayOptions::new("http://127.0.0.1:9", dir.path());
        let _ = load_or_enroll(&opts).await;
        let stored = EnrollResponse {
            relay_id: Uuid::from_u128(1),
            tenant_id: Uuid::from_u128(2),
            site_id: Uuid::from_u128(3),
        };
        let bytes = serde_json::to_vec(&stored).unwrap();
        state::write_private(&dir.path().join("identity.json"), &bytes).unwrap();

        let id = load_or_enroll(&opts).await.unwrap();
        assert_eq!(id.relay_id, Uuid::from_u128(1));
        let again = load_or_enroll(&opts).await.unwrap();
        assert_eq!(again.signing.public_key(), id.signing.public_key());
        let token = id.token();
        let now = chrono::Utc::now().timestamp();
        let claims = argus_core::relay_token::verify(token.expose(), &id.signing.public_key(), now);
        assert_eq!(claims.unwrap().sub, id.relay_id);

        std::fs::remove_file(dir.path().join("relay-keys.json")).unwrap();
        let err = load_or_enroll(&opts).await.err().unwrap();
        assert!(matches!(err, IdentityError::Damaged { .. }), "{err}");
    }
}

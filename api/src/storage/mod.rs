//! Object storage for recordings: one `aws-sdk-s3` client for every
//! S3-compatible store (custom endpoint, path-style addressing, checksums
//! only when an operation requires them, which emulators accept).
//!
//! Video bytes never pass through the api on the way in: relays PUT their
//! ciphertext to presigned URLs for keys the api chooses
//! (`tenants/{tenant}/cameras/{camera}/{init|media}/{id}`), so an object's
//! key always names its tenant and camera. The api reads objects back only
//! for playback. `embedded` serves a local folder for `argus dev`.

pub mod embedded;

use crate::config::{Config, StorageConfig};
use crate::error::{ApiError, ApiResult, Kind};
use crate::keys::{self, MasterKeyError};
use crate::state::AppState;
use argus_core::envelope::Key;
use argus_core::wire::recording::{ObjectKind, SlotResponse};
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use chrono::Utc;
use std::time::Duration;
use uuid::Uuid;

/// The content type every upload is signed with.
pub const CONTENT_TYPE: &str = "application/octet-stream";

/// Object storage failed or is misconfigured.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("storage config: {0}")]
    Config(String),
    #[error("object storage: {0}")]
    S3(String),
    #[error("object {0} not found")]
    NotFound(String),
}

/// Recording could not be set up at start-up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    MasterKey(#[from] MasterKeyError),
    #[error("[storage] is configured but no master key ([keys]) is")]
    NoMasterKey,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The bucket recordings go to.
#[derive(Clone)]
pub struct Storage {
    client: Client,
    bucket: String,
    prefix: String,
    ttl: Duration,
    max_object_bytes: u64,
}

/// The master key and the store, when `[storage]` is configured: connects,
/// and creates the bucket if it is missing.
pub async fn setup(cfg: &Config) -> Result<Option<(Key, Storage)>, SetupError> {
    let master = keys::load_master(&cfg.keys)?;
    let Some(storage) = &cfg.storage else {
        return Ok(None);
    };
    let master = master.ok_or(SetupError::NoMasterKey)?;

    let storage = Storage::new(storage)?;
    storage.ensure_bucket().await?;
    Ok(Some((master, storage)))
}

/// The master key and store of a request, or 503 if recording is off.
pub fn recording(state: &AppState) -> ApiResult<(&Key, &Storage)> {
    match (&state.master_key, &state.storage) {
        (Some(k), Some(s)) => Ok((k, s)),
        _ => Err(ApiError::new(
            Kind::Unavailable,
            "recording is not configured on this server",
        )),
    }
}

fn s3_err(e: impl std::fmt::Display) -> StorageError {
    StorageError::S3(e.to_string())
}

impl Storage {
    /// A client for `cfg`; makes no request yet.
    pub fn new(cfg: &StorageConfig) -> Result<Self, StorageError> {
        let (Some(id), Some(secret)) = (&cfg.access_key_id, &cfg.secret_access_key) else {
            // TODO(#3): the AWS default credential chain (aws-config) for IAM roles.
            return Err(StorageError::Config(
                "access_key_id and secret_access_key are required".into(),
            ));
        };
        let creds = Credentials::new(id, secret.expose(), None, None, "argus-config");
        let mut conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(cfg.region.clone()))
            .credentials_provider(creds)
            .force_path_style(cfg.force_path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(endpoint) = &cfg.endpoint {
            conf = conf.endpoint_url(endpoint);
        }
        Ok(Self {
            client: Client::from_conf(conf.build()),
            bucket: cfg.bucket.clone(),
            prefix: cfg.prefix.clone(),
            ttl: Duration::from_secs(cfg.presign_ttl_secs.max(1)),
            max_object_bytes: cfg.max_object_bytes,
        })
    }

    /// Largest object a relay may upload.
    pub fn max_object_bytes(&self) -> u64 {
        self.max_object_bytes
    }

    /// Creates the bucket unless it exists.
    pub async fn ensure_bucket(&self) -> Result<(), StorageError> {
        if self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        let made = self
            .client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await;
        match made {
            Ok(_) => Ok(()),
            Err(e) => {
                let svc = e.as_service_error();
                let owned = svc.is_some_and(|s| {
                    s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()
                });
                if owned {
                    return Ok(());
                }
                Err(s3_err(aws_sdk_s3::error::DisplayErrorContext(e)))
            }
        }
    }

    /// The key of a recorded object.
    pub fn object_key(&self, tenant: Uuid, camera: Uuid, kind: ObjectKind, id: Uuid) -> String {
        let kind = match kind {
            ObjectKind::Init => "init",
            ObjectKind::Media => "media",
        };
        format!(
            "{}tenants/{tenant}/cameras/{camera}/{kind}/{id}",
            self.prefix
        )
    }

    /// A presigned PUT of exactly `bytes` to `key`; the upload must carry
    /// the returned headers (content type and length are signed).
    pub async fn presign_put(&self, key: &str, bytes: u64) -> Result<SlotResponse, StorageError> {
        let presign = PresigningConfig::expires_in(self.ttl).map_err(s3_err)?;
        let req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(CONTENT_TYPE)
            .content_length(i64::try_from(bytes).unwrap_or(i64::MAX))
            .presigned(presign)
            .await
            .map_err(s3_err)?;

        let mut headers: Vec<(String, String)> = req
            .headers()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        if !headers.iter().any(|(k, _)| k == "content-type") {
            headers.push(("content-type".into(), CONTENT_TYPE.into()));
        }
        let ttl = chrono::Duration::from_std(self.ttl).unwrap_or(chrono::Duration::seconds(900));
        Ok(SlotResponse {
            url: req.uri().to_string(),
            headers,
            expires_at: Utc::now() + ttl,
        })
    }

    /// Reads a whole object.
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        let res = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        let out = match res {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                return Err(StorageError::NotFound(key.to_string()));
            }
            Err(e) => return Err(s3_err(aws_sdk_s3::error::DisplayErrorContext(e))),
        };
        let body = out.body.collect().await.map_err(s3_err)?;
        Ok(body.into_bytes().to_vec())
    }

    /// Writes a whole object (tests and tools; relays use presigned PUTs).
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(CONTENT_TYPE)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| s3_err(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(())
    }
}

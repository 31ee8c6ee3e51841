//! The relay ↔ cloud protocol: the JSON bodies of `/relay/v1/*` and the
//! messages of the control channel.
//!
//! Both sides link this module, so a change here is a protocol change:
//! add optional fields, never repurpose one, and bump [`PROTOCOL_VERSION`]
//! when an old relay could misread a new cloud.

pub mod control;
pub mod ids;
pub mod recording;

use crate::Secret;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Spoken by this build; sent in the control channel's hello.
pub const PROTOCOL_VERSION: u32 = 1;

/// `aud` of the tokens a relay signs for the cloud.
pub const RELAY_AUDIENCE: &str = "argus-relay-api";

/// `POST /relay/v1/enroll`: a relay trades its one-time claim code for an
/// identity bound to the public keys it generated itself.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub claim_code: Secret<String>,
    /// Ed25519 public key (32 bytes, base64url without padding) that signs
    /// the relay's tokens.
    pub signing_key: String,
    /// X25519 public key (32 bytes, base64url without padding) that camera
    /// credentials are sealed to.
    pub sealing_key: String,
    /// The relay's software version, for the operator's relay list.
    pub version: String,
}

/// The identity a relay keeps in its state dir after enrolling.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollResponse {
    pub relay_id: Uuid,
    pub tenant_id: Uuid,
    pub site_id: Uuid,
}

/// The cameras a relay must record, as `GET /relay/v1/config` answers and
/// the control channel pushes whenever they change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    pub cameras: Vec<CameraConfig>,
}

/// One camera to record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    pub id: Uuid,
    pub name: String,
    /// `rtsp://…` without credentials, or `sim://name`.
    pub source_url: String,
    /// `user:password` sealed to the relay's X25519 key (see
    /// [`crate::sealed`]); only this relay can open it.
    pub credentials: Option<String>,
    /// Target segment length in seconds.
    pub segment_secs: u32,
}

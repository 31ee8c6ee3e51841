//! Upload slots and commits: how a recorded segment reaches object storage
//! and the catalog.
//!
//! For each object the relay asks for a slot (a presigned PUT for a key the
//! cloud chooses), PUTs the ciphertext straight to object storage, then
//! commits its metadata. Ids are deterministic (see [`super::ids`]), so a
//! retried slot, PUT or commit names the same object and changes nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What an object holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// `ftyp` + `moov`: codec parameters, shared by the segments after it.
    Init,
    /// `moof` + `mdat`: a few seconds of video starting at a keyframe.
    Media,
}

/// `POST /relay/v1/slots`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotRequest {
    pub camera_id: Uuid,
    pub kind: ObjectKind,
    /// The object's deterministic id.
    pub object_id: Uuid,
    /// Ciphertext length in bytes.
    pub bytes: u64,
}

/// Where to PUT the ciphertext.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SlotResponse {
    pub url: String,
    /// Headers the PUT must carry exactly (they are signed).
    pub headers: Vec<(String, String)>,
    pub expires_at: DateTime<Utc>,
}

/// `POST /relay/v1/commits`: objects uploaded since the last commit.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitRequest {
    pub inits: Vec<InitCommit>,
    pub segments: Vec<SegmentCommit>,
    /// Recording the relay lost and why (camera down, buffer full…).
    pub gaps: Vec<GapReport>,
}

/// An uploaded init segment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitCommit {
    pub id: Uuid,
    pub camera_id: Uuid,
    pub key_id: Uuid,
    pub bytes: u64,
    /// Hex SHA-256 of the ciphertext.
    pub sha256: String,
    /// `h264` or `h265`.
    pub codec: String,
    pub width: u32,
    pub height: u32,
}

/// An uploaded media segment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentCommit {
    pub id: Uuid,
    pub camera_id: Uuid,
    pub init_id: Uuid,
    pub key_id: Uuid,
    /// A recording run: segments of one run are contiguous in media time.
    pub run_id: Uuid,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub bytes: u64,
    pub sha256: String,
}

/// A span of time a camera has no recording for.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GapReport {
    pub camera_id: Uuid,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `camera_offline`, `buffer_full`, `relay_restart`, …
    pub reason: String,
}

/// A camera's current data key, as `GET /relay/v1/cameras/{id}/key` answers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DataKeyResponse {
    pub key_id: Uuid,
    /// 32 bytes, base64url without padding. Over TLS only; never logged.
    pub key: crate::Secret<String>,
}

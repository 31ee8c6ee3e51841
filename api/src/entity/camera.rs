//! A camera on a site, pulled by the relay of that site.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, utoipa::ToSchema)]
#[schema(as = Camera)]
#[sea_orm(table_name = "cameras")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub site_id: Uuid,
    pub relay_id: Option<Uuid>,
    pub name: String,
    pub source_url: String,
    pub retention_days: i32,
    /// `pending` until its relay first reports it, then the same as
    /// `health_state`.
    pub status: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// `user:password` sealed to the relay's key; shown only as a flag.
    #[serde(rename = "has_credentials", serialize_with = "is_set")]
    #[schema(value_type = bool)]
    pub credentials_sealed: Option<String>,
    /// Target segment length in seconds.
    pub segment_secs: i32,
    /// `connecting`, `online` or `offline` as the relay last reported it
    /// over the control channel; `null` until it reports.
    pub health_state: Option<String>,
    /// When the relay last reported on this camera (its last-seen time).
    pub health_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When the relay last received a frame from the camera.
    pub last_frame_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Received video bitrate over the last few seconds.
    pub bitrate_bps: Option<i64>,
    /// `h264` or `h265` once known.
    pub codec: Option<String>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    /// The relay's last error for this camera (never contains credentials).
    pub last_error: Option<String>,
    /// The camera's audio encoding as its SDP names it (`pcmu`, `opus`,
    /// `mpeg4-generic` for AAC...); `null`: none, or not reported yet.
    pub audio_codec: Option<String>,
    /// Why live view plays no sound from this camera, when it cannot (AAC
    /// and other codecs browsers' WebRTC lacks); `null` otherwise.
    pub audio_note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Serializes whether a secret-bearing column is set, never its value.
fn is_set<S: serde::Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(v.is_some())
}

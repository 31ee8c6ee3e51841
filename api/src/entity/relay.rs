//! An on-site relay. `pending` until it enrolls with its claim code.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, utoipa::ToSchema)]
#[schema(as = Relay)]
#[sea_orm(table_name = "relays")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub site_id: Uuid,
    pub name: String,
    pub status: String,
    #[serde(skip)]
    pub claim_code_hash: Option<String>,
    pub claim_expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Ed25519 key (base64url) the relay's tokens are verified with.
    pub public_key: Option<String>,
    /// X25519 key (base64url) camera credentials are sealed to.
    pub sealing_key: Option<String>,
    /// The relay's software version, as it enrolled.
    pub version: Option<String>,
    pub last_seen_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Whether its control channel is connected (to some api node).
    pub online: bool,
    /// When its current (or last) control connection opened.
    pub connected_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When its last control connection closed.
    pub disconnected_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The control protocol version its hello announced.
    pub protocol: Option<i32>,
    /// Segments recorded but not yet committed, as of its last heartbeat.
    pub buffered_segments: Option<i64>,
    pub buffered_bytes: Option<i64>,
    /// Segments it dropped since it started because its buffer was full.
    pub dropped_segments: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

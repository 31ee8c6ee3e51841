//! `GET /relay/v1/config` (the cameras a relay records) and
//! `GET /relay/v1/cameras/{id}/key` (a camera's current data key).
//!
//! The config carries camera credentials only in the form sealed to this
//! relay; the data key travels in plaintext over TLS, to this relay only.

use super::auth::RelayAuth;
use crate::entity::{camera, relay};
use crate::error::ApiResult;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use argus_core::wire::recording::DataKeyResponse;
use argus_core::wire::{CameraConfig, RelayConfig};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

/// The config of `relay`: every camera assigned to it. The control channel
/// pushes the same whenever it changes.
pub async fn config_for(db: &impl ConnectionTrait, relay: &relay::Model) -> ApiResult<RelayConfig> {
    let cameras = camera::Entity::find()
        .filter(camera::Column::TenantId.eq(relay.tenant_id))
        .filter(camera::Column::RelayId.eq(relay.id))
        .order_by_asc(camera::Column::Id)
        .all(db)
        .await?;
    let cameras = cameras
        .into_iter()
        .map(|c| CameraConfig {
            id: c.id,
            name: c.name,
            source_url: c.source_url,
            credentials: c.credentials_sealed,
            segment_secs: u32::try_from(c.segment_secs).unwrap_or(4),
        })
        .collect();
    Ok(RelayConfig { cameras })
}

/// The cameras this relay records.
pub async fn config(state: web::Data<AppState>, auth: RelayAuth) -> ApiResult<HttpResponse> {
    let tx = auth.begin(&state).await?;
    let config = config_for(&tx, &auth.relay).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(config))
}

/// The current data key of one of this relay's cameras (created on first
/// use). The body is a secret: it is never logged.
pub async fn key(
    state: web::Data<AppState>,
    auth: RelayAuth,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (master, _) = crate::storage::recording(&state)?;
    let tx = auth.begin(&state).await?;
    let cam = super::relay_camera(&tx, &auth.relay, *id).await?;

    let key = crate::keys::current_data_key(&tx, master, cam.tenant_id, cam.id).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(DataKeyResponse {
        key_id: key.id,
        key: crate::keys::encode_key(&key.key),
    }))
}

//! `POST /relay/v1/slots`: where to upload one object.
//!
//! The api chooses the key (it names tenant, camera, kind and object id)
//! and presigns a PUT for it; the relay uploads the ciphertext straight to
//! object storage. Asking again for the same object names the same key, so
//! a retried upload overwrites rather than duplicates.

use super::auth::RelayAuth;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use argus_core::wire::recording::SlotRequest;

/// A presigned PUT for one of this relay's objects.
pub async fn slot(
    state: web::Data<AppState>,
    auth: RelayAuth,
    body: web::Json<SlotRequest>,
) -> ApiResult<HttpResponse> {
    let (_, storage) = crate::storage::recording(&state)?;
    let max = storage.max_object_bytes();
    if body.bytes == 0 || body.bytes > max {
        return Err(ApiError::invalid(format!(
            "bytes must be between 1 and {max}"
        )));
    }
    let tx = auth.begin(&state).await?;
    let cam = super::relay_camera(&tx, &auth.relay, body.camera_id).await?;
    tx.commit().await?;

    let key = storage.object_key(cam.tenant_id, cam.id, body.kind, body.object_id);
    let slot = storage.presign_put(&key, body.bytes).await.map_err(|e| {
        tracing::warn!(error = %e, "presigning an upload failed");
        ApiError::new(
            crate::error::Kind::Unavailable,
            "object storage unavailable",
        )
    })?;
    Ok(HttpResponse::Ok().json(slot))
}

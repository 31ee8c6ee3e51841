//! Whether a new viewer would see anything. A camera whose relay is not
//! connected, or whose relay cannot reach it, would give a black picture
//! after a `201`; instead the viewer gets a `503` saying which, and may try
//! again (the `/live-test` page does, every 2 s, showing the reason).
//!
//! Invariant: a camera whose video is already flowing here (an ingest is
//! up) is never refused, whatever its last reported health.

use crate::auth::context::TenantCx;
use crate::entity::{camera, relay};
use crate::error::{ApiError, ApiResult, Kind};
use sea_orm::EntityTrait;

/// `Ok` when live video can come: an ingest is up, or the relay is
/// connected and has not reported the camera offline.
pub async fn check(cx: &TenantCx, cam: &camera::Model, ingest_up: bool) -> ApiResult<()> {
    if ingest_up {
        return Ok(());
    }
    let Some(relay_id) = cam.relay_id else {
        return Ok(());
    };
    let relay = relay::Entity::find_by_id(relay_id).one(&cx.tx).await?;
    if !relay.is_some_and(|r| r.online) {
        return Err(ApiError::new(
            Kind::Unavailable,
            "the camera's relay is not connected to the cloud: live view can start once it is",
        ));
    }
    if cam.health_state.as_deref() == Some("offline") {
        let why = cam.last_error.as_deref().unwrap_or("no reason reported");
        return Err(ApiError::new(
            Kind::Unavailable,
            format!("the camera's relay cannot reach the camera ({why}): try again once it does"),
        ));
    }
    Ok(())
}

//! Whether a new viewer would see anything. A camera whose relay is not
//! connected, or whose relay cannot reach it, would give a black picture
//! after a `201`; instead the viewer gets a `503` saying which, and may try
//! again (the `/live-test` page does, every 2 s, showing the reason).
//!
//! A camera reported offline is refused even while an ingest is up (the
//! relay keeps pushing, but nothing comes); a relay whose control channel
//! dropped is not, while its ingest still flows here. A camera not tried
//! yet (no report) is let through: its first connection is under way.

use crate::auth::context::TenantCx;
use crate::entity::{camera, relay};
use crate::error::{ApiError, ApiResult, Kind};
use sea_orm::EntityTrait;

/// `Ok` when live video can come: the relay has not reported the camera
/// offline, and an ingest is up here or the relay is connected.
pub async fn check(cx: &TenantCx, cam: &camera::Model, ingest_up: bool) -> ApiResult<()> {
    if cam.health_state.as_deref() == Some("offline") {
        let why = cam.last_error.as_deref().unwrap_or("no reason reported");
        return Err(ApiError::new(
            Kind::Unavailable,
            format!("the camera's relay cannot reach the camera ({why}): try again once it does"),
        ));
    }
    let Some(relay_id) = cam.relay_id.filter(|_| !ingest_up) else {
        return Ok(());
    };
    let relay = relay::Entity::find_by_id(relay_id).one(&cx.tx).await?;
    if !relay.is_some_and(|r| r.online) {
        return Err(ApiError::new(
            Kind::Unavailable,
            "the camera's relay is not connected to the cloud: live view can start once it is",
        ));
    }
    Ok(())
}

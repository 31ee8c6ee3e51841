//! Access keeps being checked while a viewer watches: a WebRTC stream makes
//! no further requests, so revoking access (disabling the user, removing
//! the role binding, suspending the tenant, logging out) would otherwise not
//! reach a view already playing.
//!
//! Every [`RECHECK`], the viewer's token is authorized again exactly as a
//! request would be (session, user, tenant, `live.view` on the camera's
//! site; the token's own expiry is not what ends a view). When that fails,
//! the session ends at once, audited as `live.view.end` with reason
//! `access_revoked`.

use crate::auth::Auth;
use crate::error::Kind;
use crate::state::AppState;
use actix_web::web;
use argus_core::Permission::LiveView;
use std::time::Duration;
use uuid::Uuid;

/// How often a playing view's access is checked again.
pub const RECHECK: Duration = Duration::from_secs(5);

/// Watches session `sid` until it ends or loses access.
pub fn spawn(state: web::Data<AppState>, auth: Auth, sid: Uuid, site: Uuid) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(RECHECK);
        tick.tick().await;
        loop {
            tick.tick().await;
            let tenant = auth.claims.tid.unwrap_or_default();
            if state.live.session(tenant, sid).is_none() {
                return;
            }
            if !allowed(&state, &auth, site).await {
                end(&state, tenant, sid).await;
                return;
            }
        }
    });
}

/// Whether `auth` may still watch a camera of `site`. A database error
/// keeps the view going (the next check decides).
async fn allowed(state: &AppState, auth: &Auth, site: Uuid) -> bool {
    match auth.clone().tenant(state).await {
        Ok(cx) => cx.grants.on_site(LiveView, site),
        Err(e) if matches!(e.kind, Kind::Internal | Kind::Unavailable) => true,
        Err(_) => false,
    }
}

async fn end(state: &web::Data<AppState>, tenant: Uuid, sid: Uuid) {
    let Some(s) = state.live.remove_session(sid) else {
        return;
    };
    tracing::info!(tenant.id = %tenant, session.id = %sid, camera.id = %s.camera.id,
        "live view ended: access revoked");
    s.close().await;
    state.live.viewer_left(state.clone(), s.camera.clone());
    s.audit_end(&state.db, "access_revoked").await;
}

//! `/api/v1/auth/*` and `/api/v1/me`.

use super::context::request_meta;
use super::session::{self, Rotation, Tokens};
use super::{login, Auth};
use crate::audit::{self, Actor, Event};
use crate::entity::{platform_admin, user};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use argus_core::Secret;
use sea_orm::{EntityTrait, TransactionTrait};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    #[schema(value_type = String)]
    pub password: Secret<String>,
    /// The tenant's slug; needed only when the email exists in several tenants.
    pub tenant: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(value_type = String)]
    pub refresh_token: Secret<String>,
}

/// Logs in with email and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Tokens), (status = 401), (status = 429)))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let meta = request_meta(&req);
    let tokens = login::attempt(
        &state,
        &body.email,
        &body.password,
        body.tenant.as_deref(),
        &meta,
    )
    .await?;
    Ok(HttpResponse::Ok().json(tokens))
}

/// Exchanges a refresh token for new tokens. A replayed refresh token
/// revokes its whole session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = Tokens), (status = 401)))]
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    let meta = request_meta(&req);
    let tx = state.db.begin().await?;
    let rotation = session::rotate(&tx, &state, body.refresh_token.expose())
        .await
        .map_err(ApiError::internal)?;
    match rotation {
        Rotation::Rotated(tokens, _) => {
            tx.commit().await?;
            Ok(HttpResponse::Ok().json(tokens))
        }
        Rotation::Replayed(sess) => {
            let actor = Actor {
                kind: "anonymous",
                id: Some(sess.subject_id),
                label: "refresh token holder".into(),
            };
            let chain = sess.tenant_id.unwrap_or(audit::PLATFORM_CHAIN);
            let ev = Event {
                actor: &actor,
                action: "auth.refresh_replayed",
                target: Some(("session", sess.id)),
                outcome: "denied",
                details: json!({}),
                meta: &meta,
            };
            audit::append(&tx, chain, ev).await?;
            tx.commit().await?;
            Err(ApiError::unauthenticated())
        }
        Rotation::Invalid => Err(ApiError::unauthenticated()),
    }
}

/// Ends the caller's session at once: its access and refresh tokens stop working.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 401)), security(("bearer" = [])))]
pub async fn logout(state: web::Data<AppState>, auth: Auth) -> ApiResult<HttpResponse> {
    let sid = auth.claims.sid;
    let chain = auth.claims.tid.unwrap_or(audit::PLATFORM_CHAIN);
    let (actor, tx, meta) = match auth.claims.tid {
        Some(_) => {
            let cx = auth.tenant(&state).await?;
            (cx.actor, cx.tx, cx.meta)
        }
        None => {
            let cx = auth.platform(&state).await?;
            (cx.actor, cx.tx, cx.meta)
        }
    };
    tx.commit().await?;

    let tx = state.db.begin().await?;
    session::revoke(&tx, sid, "logout").await?;
    let ev = Event {
        actor: &actor,
        action: "auth.logout",
        target: Some(("session", sid)),
        outcome: "success",
        details: json!({}),
        meta: &meta,
    };
    audit::append(&tx, chain, ev).await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Who the caller is, and what they may do.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200), (status = 401)), security(("bearer" = [])))]
pub async fn me(state: web::Data<AppState>, auth: Auth) -> ApiResult<HttpResponse> {
    let kind = auth.claims.kind;
    let sub = auth.claims.sub;
    if auth.claims.tid.is_none() {
        let cx = auth.platform(&state).await?;
        let admin = platform_admin::Entity::find_by_id(sub)
            .one(&cx.tx)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        return Ok(HttpResponse::Ok().json(json!({ "kind": kind, "platform_admin": admin })));
    }
    let cx = auth.tenant(&state).await?;
    let tenant = crate::entity::tenant::Entity::find_by_id(cx.tenant)
        .one(&cx.tx)
        .await?;
    let user = user::Entity::find_by_id(sub).one(&cx.tx).await?;
    let grants: Vec<_> = cx
        .grants
        .0
        .iter()
        .map(|g| {
            let mut perms: Vec<String> = g
                .permissions
                .iter()
                .map(|p| super::context::perm_name(*p))
                .collect();
            perms.sort();
            json!({ "site_id": g.site, "permissions": perms })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "kind": kind, "tenant": tenant, "user": user, "actor": cx.actor.label, "grants": grants })))
}

//! `/api/v1/access-grants`: the tenant's view of platform support access.
//!
//! A platform admin enters a tenant only through a time-limited grant (see
//! `tenants::create_grant`). The tenant sees every grant ever opened on it
//! and can end one at once: revoking a grant ends every session opened
//! through it. Seeing grants needs `users.read`, revoking `users.write`,
//! both for the whole tenant: a grant is about who can act in the tenant.

use crate::auth::{session, Auth, TenantCx};
use crate::entity::{platform_grant, session as session_entity};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use argus_core::Permission::{UsersRead, UsersWrite};
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;
use uuid::Uuid;

async fn visible(cx: &TenantCx, id: Uuid) -> ApiResult<platform_grant::Model> {
    if !cx.grants.tenant_wide(UsersRead) {
        return Err(ApiError::not_found("access grant"));
    }
    platform_grant::Entity::find_by_id(id)
        .filter(platform_grant::Column::TenantId.eq(cx.tenant))
        .one(&cx.tx)
        .await?
        .ok_or_else(|| ApiError::not_found("access grant"))
}

/// Lists the platform support grants opened on this tenant, newest first.
#[utoipa::path(get, path = "/api/v1/access-grants", tag = "tenants", security(("bearer" = [])),
    responses((status = 200, body = [platform_grant::Model])))]
pub async fn list(state: web::Data<AppState>, auth: Auth) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    cx.require(UsersRead)?;
    let list = platform_grant::Entity::find()
        .filter(platform_grant::Column::TenantId.eq(cx.tenant))
        .order_by_desc(platform_grant::Column::CreatedAt)
        .all(&cx.tx)
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// One support grant.
#[utoipa::path(get, path = "/api/v1/access-grants/{id}", tag = "tenants", security(("bearer" = [])),
    responses((status = 200, body = platform_grant::Model), (status = 404)))]
pub async fn get(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    Ok(HttpResponse::Ok().json(visible(&cx, *id).await?))
}

/// Ends a support grant now, and every session opened through it.
#[utoipa::path(delete, path = "/api/v1/access-grants/{id}", tag = "tenants", security(("bearer" = [])),
    responses((status = 204), (status = 404)))]
pub async fn revoke(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    let grant = visible(&cx, *id).await?;
    cx.require(UsersWrite)?;
    if grant.revoked_at.is_some() {
        return Ok(HttpResponse::NoContent().finish());
    }

    let grant_id = grant.id;
    let mut active: platform_grant::ActiveModel = grant.into();
    active.revoked_at = Set(Some(Utc::now()));
    active.update(&cx.tx).await?;
    let sessions = session_entity::Entity::find()
        .filter(session_entity::Column::GrantId.eq(grant_id))
        .all(&cx.tx)
        .await?;
    for s in &sessions {
        session::revoke(&cx.tx, s.id, "support grant revoked").await?;
    }

    let details = json!({ "sessions_ended": sessions.len() });
    cx.audit(
        "support.revoke",
        Some(("platform_grant", grant_id)),
        details,
    )
    .await?;
    cx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

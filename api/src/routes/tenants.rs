//! `/api/v1/tenants`: platform admins manage tenants.
//!
//! These routes take a platform admin's token. Platform admins never see a
//! tenant's users, cameras or recordings from here; to act inside a tenant
//! they open a time-limited access grant, which the tenant sees in its own
//! audit log. Every action on a tenant is recorded in that tenant's chain.

use super::{bindings, input, roles, users};
use crate::auth::session::{self, Subject};
use crate::auth::token::SubjectKind;
use crate::auth::{PlatformAuth, PlatformCx};
use crate::entity::{platform_grant, tenant};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use argus_core::Secret;
use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    pub slug: String,
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAdmin {
    pub email: String,
    pub display_name: Option<String>,
    #[schema(value_type = String)]
    pub password: Secret<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGrant {
    /// Why support needs access; shown in the tenant's audit log.
    pub reason: String,
    /// How long, in minutes (at most the configured maximum).
    pub minutes: i64,
}

/// Creates a tenant with its built-in roles (no audit: the caller records).
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    slug: &str,
    name: &str,
) -> ApiResult<tenant::Model> {
    let tenant = tenant::ActiveModel {
        id: Set(Uuid::now_v7()),
        slug: Set(input::slug(slug)?),
        name: Set(input::name("name", name)?),
        status: Set("active".into()),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .map_err(|e| match ApiError::from(e) {
        err if err.kind == crate::error::Kind::AlreadyExists => {
            ApiError::conflict("a tenant with this slug already exists")
        }
        err => err,
    })?;
    roles::create_builtins(db, tenant.id).await?;
    Ok(tenant)
}

/// Creates a user of `tenant` holding the built-in owner role.
pub async fn insert_owner<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    email: &str,
    name: Option<&str>,
    pw: &Secret<String>,
) -> ApiResult<crate::entity::user::Model> {
    let user = users::insert(db, tenant, email, name, pw).await?;
    let owner = roles::by_name(db, tenant, "owner")
        .await?
        .ok_or_else(|| ApiError::internal("no owner role"))?;
    bindings::insert(db, tenant, user.id, owner.id, None).await?;
    Ok(user)
}

async fn find(cx: &PlatformCx, id: Uuid) -> ApiResult<tenant::Model> {
    tenant::Entity::find_by_id(id)
        .one(&cx.tx)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))
}

/// Lists every tenant.
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants", security(("bearer" = [])),
    responses((status = 200, body = [tenant::Model])))]
pub async fn list(state: web::Data<AppState>, auth: PlatformAuth) -> ApiResult<HttpResponse> {
    let cx = auth.0.platform(&state).await?;
    let all = tenant::Entity::find()
        .order_by_asc(tenant::Column::Slug)
        .all(&cx.tx)
        .await?;
    Ok(HttpResponse::Ok().json(all))
}

/// Creates a tenant.
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", security(("bearer" = [])),
    request_body = NewTenant, responses((status = 201, body = tenant::Model), (status = 409)))]
pub async fn create(
    state: web::Data<AppState>,
    auth: PlatformAuth,
    body: web::Json<NewTenant>,
) -> ApiResult<HttpResponse> {
    let cx = auth.0.platform(&state).await?;
    let tenant = insert(&cx.tx, &body.slug, &body.name).await?;
    cx.audit(
        tenant.id,
        "tenant.create",
        Some(("tenant", tenant.id)),
        json!({ "slug": tenant.slug }),
    )
    .await?;
    cx.commit().await?;
    Ok(HttpResponse::Created().json(tenant))
}

/// One tenant.
#[utoipa::path(get, path = "/api/v1/tenants/{id}", tag = "tenants", security(("bearer" = [])),
    responses((status = 200, body = tenant::Model), (status = 404)))]
pub async fn get(
    state: web::Data<AppState>,
    auth: PlatformAuth,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let cx = auth.0.platform(&state).await?;
    Ok(HttpResponse::Ok().json(find(&cx, *id).await?))
}

/// Suspends a tenant: its users and relays are locked out at once.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/suspend", tag = "tenants", security(("bearer" = [])),
    responses((status = 200, body = tenant::Model), (status = 404)))]
pub async fn suspend(
    state: web::Data<AppState>,
    auth: PlatformAuth,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    set_status(state, auth, *id, "suspended").await
}

/// Lifts a suspension.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/resume", tag = "tenants", security(("bearer" = [])),
    responses((status = 200, body = tenant::Model), (status = 404)))]
pub async fn resume(
    state: web::Data<AppState>,
    auth: PlatformAuth,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    set_status(state, auth, *id, "active").await
}

async fn set_status(
    state: web::Data<AppState>,
    auth: PlatformAuth,
    id: Uuid,
    status: &str,
) -> ApiResult<HttpResponse> {
    let cx = auth.0.platform(&state).await?;
    let mut active: tenant::ActiveModel = find(&cx, id).await?.into();
    active.status = Set(status.to_string());
    let tenant = active.update(&cx.tx).await?;

    let action = if status == "active" {
        "tenant.resume"
    } else {
        "tenant.suspend"
    };
    cx.audit(tenant.id, action, Some(("tenant", tenant.id)), json!({}))
        .await?;
    cx.commit().await?;
    Ok(HttpResponse::Ok().json(tenant))
}

/// Creates an owner of the tenant (its first admin).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/admins", tag = "tenants", security(("bearer" = [])),
    request_body = NewAdmin, responses((status = 201), (status = 404), (status = 409)))]
pub async fn create_admin(
    state: web::Data<AppState>,
    auth: PlatformAuth,
    id: web::Path<Uuid>,
    body: web::Json<NewAdmin>,
) -> ApiResult<HttpResponse> {
    let cx = auth.0.platform(&state).await?;
    let tenant = find(&cx, *id).await?;
    let user = insert_owner(
        &cx.tx,
        tenant.id,
        &body.email,
        body.display_name.as_deref(),
        &body.password,
    )
    .await?;

    cx.audit(
        tenant.id,
        "user.create",
        Some(("user", user.id)),
        json!({ "email": user.email, "role": "owner" }),
    )
    .await?;
    cx.commit().await?;
    Ok(HttpResponse::Created().json(user))
}

/// Opens a time-limited grant into a tenant and returns tokens that act
/// inside it with admin permissions until the grant expires.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/access-grants", tag = "tenants", security(("bearer" = [])),
    request_body = NewGrant, responses((status = 201), (status = 404)))]
pub async fn create_grant(
    state: web::Data<AppState>,
    auth: PlatformAuth,
    id: web::Path<Uuid>,
    body: web::Json<NewGrant>,
) -> ApiResult<HttpResponse> {
    let cx = auth.0.platform(&state).await?;
    let tenant = find(&cx, *id).await?;
    let max_minutes = state.cfg.auth.max_grant_secs / 60;
    if !(1..=max_minutes).contains(&body.minutes) {
        return Err(ApiError::invalid(format!(
            "minutes must be between 1 and {max_minutes}"
        )));
    }
    let reason = input::name("reason", &body.reason)?;
    let admin = cx.actor.id.ok_or_else(ApiError::unauthenticated)?;

    let now = Utc::now();
    let grant = platform_grant::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.id),
        platform_admin_id: Set(admin),
        reason: Set(reason.clone()),
        created_at: Set(now),
        expires_at: Set(now + Duration::minutes(body.minutes)),
        revoked_at: Set(None),
    }
    .insert(&cx.tx)
    .await?;
    let subject = Subject {
        kind: SubjectKind::Support,
        id: admin,
        tenant: Some(tenant.id),
        grant: Some(grant.id),
    };
    let tokens = session::start(&cx.tx, &state, &subject)
        .await
        .map_err(ApiError::internal)?;

    let details = json!({ "reason": reason, "expires_at": grant.expires_at });
    cx.audit(
        tenant.id,
        "support.grant",
        Some(("platform_grant", grant.id)),
        details,
    )
    .await?;
    cx.commit().await?;
    Ok(HttpResponse::Created().json(json!({ "grant": grant, "tokens": tokens })))
}

/// Whether a slug is taken (used by bootstrap).
pub async fn by_slug<C: ConnectionTrait>(db: &C, slug: &str) -> ApiResult<Option<tenant::Model>> {
    Ok(tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(slug))
        .one(db)
        .await?)
}

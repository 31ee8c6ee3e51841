//! `/api/v1/users`: the people of a tenant.
//!
//! Users are tenant-level objects: `users.read` / `users.write` for the
//! whole tenant. Disabling or deleting a user ends their sessions at once.

use super::input;
use crate::auth::{password, session, Auth, TenantCx};
use crate::entity::user;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use argus_core::Permission::{UsersRead, UsersWrite};
use argus_core::Secret;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, ModelTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub email: String,
    pub display_name: Option<String>,
    #[schema(value_type = String)]
    pub password: Secret<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub display_name: Option<String>,
    /// `active` or `disabled`.
    pub status: Option<String>,
    #[schema(value_type = Option<String>)]
    pub password: Option<Secret<String>>,
}

/// Loads a user of the caller's tenant, or 404 (also without `users.read`).
pub async fn visible(cx: &TenantCx, id: Uuid) -> ApiResult<user::Model> {
    if !cx.grants.tenant_wide(UsersRead) {
        return Err(ApiError::not_found("user"));
    }
    user::Entity::find_by_id(id)
        .filter(user::Column::TenantId.eq(cx.tenant))
        .one(&cx.tx)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))
}

/// Inserts a user; shared with the platform admin's "first admin" route.
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    email: &str,
    display_name: Option<&str>,
    pw: &Secret<String>,
) -> ApiResult<user::Model> {
    let email = input::email(email)?;
    let display_name = input::name("display_name", display_name.unwrap_or(&email))?;
    password::check_strength(pw.expose()).map_err(ApiError::invalid)?;
    let password_hash = password::hash(pw.clone())
        .await
        .map_err(ApiError::internal)?;

    let user = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant),
        email: Set(email),
        display_name: Set(display_name),
        password_hash: Set(password_hash),
        status: Set("active".into()),
        created_at: Set(Utc::now()),
        last_login_at: Set(None),
    };
    user.insert(db).await.map_err(|e| match ApiError::from(e) {
        err if err.kind == crate::error::Kind::AlreadyExists => {
            ApiError::conflict("a user with this email already exists")
        }
        err => err,
    })
}

/// Lists the tenant's users.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = [user::Model])))]
pub async fn list(state: web::Data<AppState>, auth: Auth) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    cx.require(UsersRead)?;
    let users = user::Entity::find()
        .filter(user::Column::TenantId.eq(cx.tenant))
        .order_by_asc(user::Column::Email)
        .all(&cx.tx)
        .await?;
    Ok(HttpResponse::Ok().json(users))
}

/// Creates a user (with no role yet: bind one with `/role-bindings`).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", security(("bearer" = [])),
    request_body = NewUser, responses((status = 201, body = user::Model), (status = 409)))]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<NewUser>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    cx.require(UsersWrite)?;

    let user = insert(
        &cx.tx,
        cx.tenant,
        &body.email,
        body.display_name.as_deref(),
        &body.password,
    )
    .await?;

    cx.audit(
        "user.create",
        Some(("user", user.id)),
        json!({ "email": user.email }),
    )
    .await?;
    cx.commit().await?;
    Ok(HttpResponse::Created().json(user))
}

/// One user.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = user::Model), (status = 404)))]
pub async fn get(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    Ok(HttpResponse::Ok().json(visible(&cx, *id).await?))
}

/// Changes a user's name, status or password. Disabling ends their sessions.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    request_body = UserPatch, responses((status = 200, body = user::Model), (status = 404)))]
pub async fn update(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: web::Json<UserPatch>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    let user = visible(&cx, *id).await?;
    cx.require(UsersWrite)?;
    super::guard::may_manage_user(&cx, user.id).await?;
    if body.status.as_deref() == Some("disabled") {
        super::guard::keeps_an_owner(&cx, Some(user.id), None).await?;
    }

    let mut changed = vec![];
    let mut active: user::ActiveModel = user.into();
    if let Some(v) = &body.display_name {
        active.display_name = Set(input::name("display_name", v)?);
        changed.push("display_name");
    }
    if let Some(v) = &body.status {
        if v != "active" && v != "disabled" {
            return Err(ApiError::invalid(
                "status must be \"active\" or \"disabled\"",
            ));
        }
        active.status = Set(v.clone());
        changed.push("status");
    }
    if let Some(pw) = &body.password {
        password::check_strength(pw.expose()).map_err(ApiError::invalid)?;
        active.password_hash = Set(password::hash(pw.clone())
            .await
            .map_err(ApiError::internal)?);
        changed.push("password");
    }
    let user = active.update(&cx.tx).await?;
    if user.status == "disabled" || body.password.is_some() {
        session::revoke_all(&cx.tx, user.id, "user disabled or password changed").await?;
    }

    cx.audit(
        "user.update",
        Some(("user", user.id)),
        json!({ "changed": changed, "status": user.status }),
    )
    .await?;
    cx.commit().await?;
    Ok(HttpResponse::Ok().json(user))
}

/// Deletes a user and ends their sessions.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    responses((status = 204), (status = 404)))]
pub async fn delete(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    let user = visible(&cx, *id).await?;
    cx.require(UsersWrite)?;
    if Some(user.id) == cx.actor.id {
        return Err(ApiError::new(
            crate::error::Kind::FailedPrecondition,
            "you cannot delete yourself",
        ));
    }
    super::guard::may_manage_user(&cx, user.id).await?;
    super::guard::keeps_an_owner(&cx, Some(user.id), None).await?;

    let (user_id, email) = (user.id, user.email.clone());
    session::revoke_all(&cx.tx, user_id, "user deleted").await?;
    user.delete(&cx.tx).await?;

    cx.audit(
        "user.delete",
        Some(("user", user_id)),
        json!({ "email": email }),
    )
    .await?;
    cx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

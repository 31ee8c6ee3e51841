//! `/api/v1/roles`: built-in and custom roles.
//!
//! Built-in roles (owner, admin, operator, viewer, auditor, installer) are
//! created with the tenant and cannot be changed or deleted. Custom roles
//! are any set of known permissions.

use super::{guard, input};
use crate::auth::{Auth, TenantCx};
use crate::entity::role;
use crate::error::{ApiError, ApiResult, Kind};
use crate::rbac::Grant;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use argus_core::permission::BUILTIN_ROLES;
use argus_core::Permission::{self, RolesRead, RolesWrite};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, ModelTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRole {
    pub name: String,
    pub description: Option<String>,
    /// Permission names such as `cameras.read`, `live.view`.
    #[schema(value_type = Vec<String>)]
    pub permissions: Vec<Permission>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolePatch {
    pub name: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = Option<Vec<String>>)]
    pub permissions: Option<Vec<Permission>>,
}

/// Creates the built-in roles of a new tenant.
pub async fn create_builtins<C: ConnectionTrait>(db: &C, tenant: Uuid) -> Result<(), DbErr> {
    for b in BUILTIN_ROLES {
        role::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant),
            name: Set(b.name.into()),
            description: Set(b.description.into()),
            permissions: Set(json!(b.permissions)),
            builtin: Set(true),
            created_at: Set(Utc::now()),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Finds a tenant's role by name.
pub async fn by_name<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    name: &str,
) -> Result<Option<role::Model>, DbErr> {
    role::Entity::find()
        .filter(role::Column::TenantId.eq(tenant))
        .filter(role::Column::Name.eq(name))
        .one(db)
        .await
}

/// Loads a role of the caller's tenant, or 404 (also without `roles.read`).
pub async fn visible(cx: &TenantCx, id: Uuid) -> ApiResult<role::Model> {
    if !cx.grants.tenant_wide(RolesRead) {
        return Err(ApiError::not_found("role"));
    }
    role::Entity::find_by_id(id)
        .filter(role::Column::TenantId.eq(cx.tenant))
        .one(&cx.tx)
        .await?
        .ok_or_else(|| ApiError::not_found("role"))
}

/// A custom role's name: a valid name that no built-in role has.
fn role_name(value: &str) -> ApiResult<String> {
    let name = input::name("name", value)?;
    if BUILTIN_ROLES
        .iter()
        .any(|b| b.name.eq_ignore_ascii_case(&name))
    {
        let msg = format!("\"{name}\" is the name of a built-in role");
        return Err(ApiError::conflict(msg));
    }
    Ok(name)
}

fn permission_set(mut perms: Vec<Permission>) -> serde_json::Value {
    perms.sort_by_key(|p| crate::auth::context::perm_name(*p));
    perms.dedup();
    json!(perms)
}

/// Lists the tenant's roles.
#[utoipa::path(get, path = "/api/v1/roles", tag = "roles", security(("bearer" = [])),
    responses((status = 200, body = [role::Model])))]
pub async fn list(state: web::Data<AppState>, auth: Auth) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    cx.require(RolesRead)?;
    let roles = role::Entity::find()
        .filter(role::Column::TenantId.eq(cx.tenant))
        .order_by_asc(role::Column::Name)
        .all(&cx.tx)
        .await?;
    Ok(HttpResponse::Ok().json(roles))
}

/// Creates a custom role.
#[utoipa::path(post, path = "/api/v1/roles", tag = "roles", security(("bearer" = [])),
    request_body = NewRole, responses((status = 201, body = role::Model), (status = 409)))]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<NewRole>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    cx.require(RolesWrite)?;
    let name = role_name(&body.name)?;
    let wanted = body.permissions.iter().copied().collect();
    guard::may_grant(
        &cx,
        &Grant {
            permissions: wanted,
            site: None,
        },
    )?;
    let description = input::description(body.description.as_deref().unwrap_or(""))?;

    let role = role::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(cx.tenant),
        name: Set(name),
        description: Set(description),
        permissions: Set(permission_set(body.permissions.clone())),
        builtin: Set(false),
        created_at: Set(Utc::now()),
    }
    .insert(&cx.tx)
    .await?;

    cx.audit(
        "role.create",
        Some(("role", role.id)),
        json!({ "name": role.name, "permissions": role.permissions }),
    )
    .await?;
    cx.commit().await?;
    Ok(HttpResponse::Created().json(role))
}

/// One role.
#[utoipa::path(get, path = "/api/v1/roles/{id}", tag = "roles", security(("bearer" = [])),
    responses((status = 200, body = role::Model), (status = 404)))]
pub async fn get(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    Ok(HttpResponse::Ok().json(visible(&cx, *id).await?))
}

/// Changes a custom role; takes effect on its users' next request.
#[utoipa::path(patch, path = "/api/v1/roles/{id}", tag = "roles", security(("bearer" = [])),
    request_body = RolePatch, responses((status = 200, body = role::Model), (status = 404), (status = 409)))]
pub async fn update(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: web::Json<RolePatch>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    let role = visible(&cx, *id).await?;
    cx.require(RolesWrite)?;
    if role.builtin {
        return Err(ApiError::new(
            Kind::FailedPrecondition,
            "built-in roles cannot be changed",
        ));
    }
    let old = guard::role_permissions(&role).into_iter().collect();
    guard::may_grant(
        &cx,
        &Grant {
            permissions: old,
            site: None,
        },
    )?;
    if let Some(new) = &body.permissions {
        let new = new.iter().copied().collect();
        guard::may_grant(
            &cx,
            &Grant {
                permissions: new,
                site: None,
            },
        )?;
    }

    let mut active: role::ActiveModel = role.into();
    if let Some(v) = &body.name {
        active.name = Set(role_name(v)?);
    }
    if let Some(v) = &body.description {
        active.description = Set(input::description(v)?);
    }
    if let Some(v) = &body.permissions {
        active.permissions = Set(permission_set(v.clone()));
    }
    let role = active.update(&cx.tx).await?;

    cx.audit(
        "role.update",
        Some(("role", role.id)),
        json!({ "name": role.name, "permissions": role.permissions }),
    )
    .await?;
    cx.commit().await?;
    Ok(HttpResponse::Ok().json(role))
}

/// Deletes a custom role and its bindings.
#[utoipa::path(delete, path = "/api/v1/roles/{id}", tag = "roles", security(("bearer" = [])),
    responses((status = 204), (status = 404), (status = 409)))]
pub async fn delete(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    let role = visible(&cx, *id).await?;
    cx.require(RolesWrite)?;
    if role.builtin {
        return Err(ApiError::new(
            Kind::FailedPrecondition,
            "built-in roles cannot be deleted",
        ));
    }
    let old = guard::role_permissions(&role).into_iter().collect();
    guard::may_grant(
        &cx,
        &Grant {
            permissions: old,
            site: None,
        },
    )?;

    let (role_id, name) = (role.id, role.name.clone());
    role.delete(&cx.tx).await?;

    cx.audit(
        "role.delete",
        Some(("role", role_id)),
        json!({ "name": name }),
    )
    .await?;
    cx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

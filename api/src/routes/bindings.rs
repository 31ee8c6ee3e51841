//! `/api/v1/role-bindings`: which user has which role, where.
//!
//! A binding without `site_id` applies to the whole tenant; with one, it
//! grants only the role's site-level permissions on that site. Changing
//! bindings needs `roles.write` for the whole tenant.

use super::{guard, roles, sites, users};
use crate::auth::{Auth, TenantCx};
use crate::entity::{role, role_binding};
use crate::error::{ApiError, ApiResult};
use crate::rbac::Grant;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use argus_core::Permission::{RolesRead, RolesWrite};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, ModelTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBinding {
    pub user_id: Uuid,
    pub role_id: Uuid,
    /// Limit the role to one site; omit for the whole tenant.
    pub site_id: Option<Uuid>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BindingFilter {
    pub user_id: Option<Uuid>,
}

/// Binds `role` to `user` (used by tenant creation too).
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    user: Uuid,
    role: Uuid,
    site: Option<Uuid>,
) -> Result<role_binding::Model, DbErr> {
    role_binding::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant),
        user_id: Set(user),
        role_id: Set(role),
        site_id: Set(site),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
}

async fn exists(cx: &TenantCx, user: Uuid, role: Uuid, site: Option<Uuid>) -> ApiResult<bool> {
    let mut q = role_binding::Entity::find()
        .filter(role_binding::Column::TenantId.eq(cx.tenant))
        .filter(role_binding::Column::UserId.eq(user))
        .filter(role_binding::Column::RoleId.eq(role));
    q = match site {
        Some(s) => q.filter(role_binding::Column::SiteId.eq(s)),
        None => q.filter(role_binding::Column::SiteId.is_null()),
    };
    Ok(q.one(&cx.tx).await?.is_some())
}

async fn visible(cx: &TenantCx, id: Uuid) -> ApiResult<role_binding::Model> {
    if !cx.grants.tenant_wide(RolesRead) {
        return Err(ApiError::not_found("role binding"));
    }
    role_binding::Entity::find_by_id(id)
        .filter(role_binding::Column::TenantId.eq(cx.tenant))
        .one(&cx.tx)
        .await?
        .ok_or_else(|| ApiError::not_found("role binding"))
}

/// Lists role bindings, optionally of one user.
#[utoipa::path(get, path = "/api/v1/role-bindings", tag = "roles", security(("bearer" = [])),
    params(BindingFilter), responses((status = 200, body = [role_binding::Model])))]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    filter: web::Query<BindingFilter>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    cx.require(RolesRead)?;
    let mut q = role_binding::Entity::find().filter(role_binding::Column::TenantId.eq(cx.tenant));
    if let Some(user) = filter.user_id {
        q = q.filter(role_binding::Column::UserId.eq(user));
    }
    let list = q
        .order_by_asc(role_binding::Column::CreatedAt)
        .all(&cx.tx)
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Gives a user a role, for the tenant or one site.
#[utoipa::path(post, path = "/api/v1/role-bindings", tag = "roles", security(("bearer" = [])),
    request_body = NewBinding, responses((status = 201, body = role_binding::Model), (status = 404)))]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<NewBinding>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    cx.require(RolesWrite)?;
    let user = users::visible(&cx, body.user_id).await?;
    let role = roles::visible(&cx, body.role_id).await?;
    if let Some(site) = body.site_id {
        sites::visible(&cx, site).await?;
    }
    let permissions = guard::role_permissions(&role).into_iter().collect();
    guard::may_grant(
        &cx,
        &Grant {
            permissions,
            site: body.site_id,
        },
    )?;
    if exists(&cx, user.id, role.id, body.site_id).await? {
        return Err(ApiError::conflict("this user already has this role there"));
    }

    let binding = insert(&cx.tx, cx.tenant, user.id, role.id, body.site_id).await?;

    let details = json!({ "user": user.email, "role": role.name, "site_id": body.site_id });
    cx.audit(
        "role_binding.create",
        Some(("role_binding", binding.id)),
        details,
    )
    .await?;
    cx.commit().await?;
    Ok(HttpResponse::Created().json(binding))
}

/// Takes a role away; takes effect on the user's next request.
#[utoipa::path(delete, path = "/api/v1/role-bindings/{id}", tag = "roles", security(("bearer" = [])),
    responses((status = 204), (status = 404)))]
pub async fn delete(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    let binding = visible(&cx, *id).await?;
    cx.require(RolesWrite)?;
    if let Some(role) = role::Entity::find_by_id(binding.role_id)
        .one(&cx.tx)
        .await?
    {
        let permissions = guard::role_permissions(&role).into_iter().collect();
        guard::may_grant(
            &cx,
            &Grant {
                permissions,
                site: binding.site_id,
            },
        )?;
    }
    guard::keeps_an_owner(&cx, None, Some(binding.id)).await?;

    let details = json!({ "user_id": binding.user_id, "role_id": binding.role_id, "site_id": binding.site_id });
    let binding_id = binding.id;
    binding.delete(&cx.tx).await?;

    cx.audit(
        "role_binding.delete",
        Some(("role_binding", binding_id)),
        details,
    )
    .await?;
    cx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

//! Guards against privilege escalation inside a tenant.
//!
//! Nobody may hand out, take away or take over more than they hold: a
//! caller changes a user, a role or a binding only when their own grants
//! cover every permission involved. And a tenant always keeps at least one
//! active owner, so it can never lock itself out.

use crate::auth::TenantCx;
use crate::entity::{role, role_binding, user};
use crate::error::{ApiError, ApiResult, Kind};
use crate::rbac::{Grant, Grants};
use argus_core::Permission;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

/// The permissions a role's JSON column lists (unknown names skipped).
pub fn role_permissions(role: &role::Model) -> Vec<Permission> {
    serde_json::from_value::<Vec<serde_json::Value>>(role.permissions.clone())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect()
}

/// The grants `user` holds in the caller's tenant.
pub async fn grants_of(cx: &TenantCx, user: Uuid) -> ApiResult<Grants> {
    let bindings = role_binding::Entity::find()
        .filter(role_binding::Column::TenantId.eq(cx.tenant))
        .filter(role_binding::Column::UserId.eq(user))
        .all(&cx.tx)
        .await?;
    let mut grants = Vec::new();
    for b in bindings {
        if let Some(r) = role::Entity::find_by_id(b.role_id).one(&cx.tx).await? {
            grants.push(Grant {
                permissions: role_permissions(&r).into_iter().collect(),
                site: b.site_id,
            });
        }
    }
    Ok(Grants(grants))
}

/// 403 unless the caller holds everything `user` holds.
pub async fn may_manage_user(cx: &TenantCx, user: Uuid) -> ApiResult<()> {
    if cx.actor.id == Some(user) {
        return Ok(());
    }
    if !cx.grants.covers_all(&grants_of(cx, user).await?) {
        return Err(ApiError::forbidden(
            "this user has permissions you do not have",
        ));
    }
    Ok(())
}

/// 403 unless the caller holds every permission of `grant`.
pub fn may_grant(cx: &TenantCx, grant: &Grant) -> ApiResult<()> {
    if !cx.grants.covers(grant) {
        return Err(ApiError::forbidden(
            "you cannot grant permissions you do not have",
        ));
    }
    Ok(())
}

/// 409 if the change would leave the tenant without an active owner:
/// `except_user` is being disabled or deleted, or `except_binding` removed.
pub async fn keeps_an_owner(
    cx: &TenantCx,
    except_user: Option<Uuid>,
    except_binding: Option<Uuid>,
) -> ApiResult<()> {
    let owner = role::Entity::find()
        .filter(role::Column::TenantId.eq(cx.tenant))
        .filter(role::Column::Name.eq("owner"))
        .filter(role::Column::Builtin.eq(true))
        .one(&cx.tx)
        .await?
        .ok_or_else(|| ApiError::internal("tenant without an owner role"))?;
    let bindings = role_binding::Entity::find()
        .filter(role_binding::Column::TenantId.eq(cx.tenant))
        .filter(role_binding::Column::RoleId.eq(owner.id))
        .filter(role_binding::Column::SiteId.is_null())
        .all(&cx.tx)
        .await?;
    for b in bindings {
        if Some(b.user_id) == except_user || Some(b.id) == except_binding {
            continue;
        }
        let active = user::Entity::find_by_id(b.user_id)
            .one(&cx.tx)
            .await?
            .is_some_and(|u| u.status == "active");
        if active {
            return Ok(());
        }
    }
    Err(ApiError::new(
        Kind::FailedPrecondition,
        "the tenant must keep at least one active owner",
    ))
}

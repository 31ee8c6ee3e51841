//! Who an email and password belong to.
//!
//! With a tenant slug, the user of that tenant. Without one, the platform
//! admin with that email if there is one, else the user with that email if
//! exactly one tenant has it; several tenants need the slug.

use super::token::SubjectKind;
use crate::entity::{platform_admin, tenant, user};
use crate::error::{ApiError, ApiResult};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

/// An account found for a login attempt.
pub struct Account {
    pub kind: SubjectKind,
    pub id: Uuid,
    pub tenant: Option<tenant::Model>,
    pub email: String,
    pub password_hash: String,
    pub active: bool,
}

/// The audit chain a login attempt for `tenant` belongs to.
pub fn chain_of(tenant: Option<&tenant::Model>) -> Uuid {
    tenant.map(|t| t.id).unwrap_or(crate::audit::PLATFORM_CHAIN)
}

/// Finds the account; `Ok(None)` when there is none (still audited).
pub async fn find<C: ConnectionTrait>(
    db: &C,
    email: &str,
    slug: Option<&str>,
) -> ApiResult<(Option<Account>, Option<tenant::Model>)> {
    if let Some(slug) = slug {
        let tenant = tenant::Entity::find()
            .filter(tenant::Column::Slug.eq(slug))
            .one(db)
            .await?;
        let Some(tenant) = tenant else {
            return Ok((None, None));
        };
        let found = user::Entity::find()
            .filter(user::Column::TenantId.eq(tenant.id))
            .filter(user::Column::Email.eq(email))
            .one(db)
            .await?;
        let account = found.map(|u| from_user(u, &tenant));
        return Ok((account, Some(tenant)));
    }

    let admin = platform_admin::Entity::find()
        .filter(platform_admin::Column::Email.eq(email))
        .one(db)
        .await?;
    if let Some(a) = admin {
        let active = a.status == "active";
        let account = Account {
            kind: SubjectKind::Platform,
            id: a.id,
            tenant: None,
            email: a.email,
            password_hash: a.password_hash,
            active,
        };
        return Ok((Some(account), None));
    }

    let users = user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .limit(2)
        .all(db)
        .await?;
    match users.len() {
        0 => Ok((None, None)),
        1 => {
            let u = users.into_iter().next().expect("one user");
            let tenant = tenant::Entity::find_by_id(u.tenant_id).one(db).await?;
            let tenant = tenant.ok_or_else(|| ApiError::internal("user without tenant"))?;
            Ok((Some(from_user(u, &tenant)), Some(tenant)))
        }
        _ => Err(ApiError::new(
            crate::error::Kind::InvalidArgument,
            "this email exists in several tenants: give the tenant's slug as \"tenant\"",
        )),
    }
}

fn from_user(u: user::Model, tenant: &tenant::Model) -> Account {
    let active = u.status == "active" && tenant.status == "active";
    Account {
        kind: SubjectKind::User,
        id: u.id,
        tenant: Some(tenant.clone()),
        email: u.email,
        password_hash: u.password_hash,
        active,
    }
}

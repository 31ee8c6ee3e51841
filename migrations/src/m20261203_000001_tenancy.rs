//! Tenants, people and permissions: tenants, platform admins, users, roles,
//! role bindings, sites, login sessions with their refresh tokens, and the
//! time-limited grants through which platform admins act inside a tenant.

use crate::cols::*;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000001_tenancy"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in tables() {
            m.create_table(t).await?;
        }
        for i in indexes() {
            m.create_index(i).await?;
        }
        Ok(())
    }
}

fn tables() -> Vec<TableCreateStatement> {
    vec![
        table("tenants")
            .col(id())
            .col(text("slug").unique_key())
            .col(text("name"))
            .col(text("status"))
            .col(ts("created_at"))
            .to_owned(),
        table("platform_admins")
            .col(id())
            .col(text("email").unique_key())
            .col(text("password_hash"))
            .col(text("status"))
            .col(ts("created_at"))
            .col(ts_null("last_login_at"))
            .to_owned(),
        table("users")
            .col(id())
            .col(uuid("tenant_id"))
            .col(text("email"))
            .col(text("display_name"))
            .col(text("password_hash"))
            .col(text("status"))
            .col(ts("created_at"))
            .col(ts_null("last_login_at"))
            .foreign_key(&mut fk("users", "tenant_id", "tenants"))
            .index(&mut tenant_key("users"))
            .to_owned(),
        table("roles")
            .col(id())
            .col(uuid("tenant_id"))
            .col(text("name"))
            .col(text("description"))
            .col(json("permissions"))
            .col(boolean("builtin"))
            .col(ts("created_at"))
            .foreign_key(&mut fk("roles", "tenant_id", "tenants"))
            .index(&mut tenant_key("roles"))
            .to_owned(),
        table("sites")
            .col(id())
            .col(uuid("tenant_id"))
            .col(text("name"))
            .col(text("timezone"))
            .col(ts("created_at"))
            .foreign_key(&mut fk("sites", "tenant_id", "tenants"))
            .index(&mut tenant_key("sites"))
            .to_owned(),
        table("role_bindings")
            .col(id())
            .col(uuid("tenant_id"))
            .col(uuid("user_id"))
            .col(uuid("role_id"))
            .col(uuid_null("site_id"))
            .col(ts("created_at"))
            .foreign_key(&mut tenant_fk("role_bindings", "user_id", "users"))
            .foreign_key(&mut tenant_fk("role_bindings", "role_id", "roles"))
            .foreign_key(&mut tenant_fk("role_bindings", "site_id", "sites"))
            .to_owned(),
        // A login session; its id is the refresh-token family and the `sid`
        // claim of every access token issued in it. Written only by the auth
        // path, never through a tenant-scoped query.
        table("sessions")
            .col(id())
            .col(text("subject_kind"))
            .col(uuid("subject_id"))
            .col(uuid_null("tenant_id"))
            .col(uuid_null("grant_id"))
            .col(ts("created_at"))
            .col(ts("expires_at"))
            .col(ts_null("revoked_at"))
            .col(text_null("revoked_reason"))
            .to_owned(),
        table("refresh_tokens")
            .col(id())
            .col(uuid("session_id"))
            .col(text("token_hash").unique_key())
            .col(ts("created_at"))
            .col(ts("expires_at"))
            .col(ts_null("used_at"))
            .foreign_key(&mut fk("refresh_tokens", "session_id", "sessions"))
            .to_owned(),
        table("platform_grants")
            .col(id())
            .col(uuid("tenant_id"))
            .col(uuid("platform_admin_id"))
            .col(text("reason"))
            .col(ts("created_at"))
            .col(ts("expires_at"))
            .col(ts_null("revoked_at"))
            .foreign_key(&mut fk("platform_grants", "tenant_id", "tenants"))
            .foreign_key(&mut fk(
                "platform_grants",
                "platform_admin_id",
                "platform_admins",
            ))
            .to_owned(),
    ]
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        unique("users", &["tenant_id", "email"]),
        unique("roles", &["tenant_id", "name"]),
    ]
}

//! Row-level security on PostgreSQL: the second wall behind query scoping.
//!
//! Tenant-scoped requests run each transaction as the role `argus_app` with
//! the setting `argus.tenant_id` set for that transaction only
//! (`set_config(…, true)`, the function form of `SET LOCAL`). The policies
//! below let that role see and write only rows of that tenant; without the
//! setting it sees nothing. The role that ran the migrations (the api's own
//! connection user) keeps full access for the auth path and platform admin
//! work. `FORCE` makes the policies apply to the table owner too. On SQLite
//! this migration does nothing.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// The database role tenant-scoped transactions switch to.
pub const APP_ROLE: &str = "argus_app";

/// The per-transaction setting that names the caller's tenant.
pub const TENANT_SETTING: &str = "argus.tenant_id";

/// Tables whose rows belong to one tenant, with the column naming it.
const TENANT_TABLES: &[(&str, &str)] = &[
    ("tenants", "id"),
    ("users", "tenant_id"),
    ("roles", "tenant_id"),
    ("role_bindings", "tenant_id"),
    ("sites", "tenant_id"),
    ("relays", "tenant_id"),
    ("cameras", "tenant_id"),
    ("audit_events", "tenant_id"),
    ("audit_heads", "tenant_id"),
    ("platform_grants", "tenant_id"),
];

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000004_row_level_security"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = m.get_connection();
        db.execute_unprepared(&role_sql()).await?;
        for (table, column) in TENANT_TABLES {
            db.execute_unprepared(&policy_sql(table, column)).await?;
        }
        Ok(())
    }
}

/// Creates the app role (roles are cluster-wide, so tolerate a concurrent
/// creator) and grants it the least it needs: the audit log is insert-only.
fn role_sql() -> String {
    format!(
        "DO $$ BEGIN CREATE ROLE {APP_ROLE} NOLOGIN;
           EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
         DO $$ BEGIN EXECUTE format('GRANT {APP_ROLE} TO %I', current_user);
           EXCEPTION WHEN others THEN NULL; END $$;
         GRANT USAGE ON SCHEMA public TO {APP_ROLE};
         GRANT SELECT, INSERT, UPDATE, DELETE
           ON users, roles, role_bindings, sites, relays, cameras TO {APP_ROLE};
         GRANT SELECT, INSERT, UPDATE ON audit_heads TO {APP_ROLE};
         GRANT SELECT, INSERT ON audit_events TO {APP_ROLE};
         GRANT SELECT ON tenants, sessions, platform_grants TO {APP_ROLE};
         GRANT UPDATE (revoked_at, revoked_reason) ON sessions TO {APP_ROLE};"
    )
}

fn policy_sql(table: &str, column: &str) -> String {
    let tenant = format!("nullif(current_setting('{TENANT_SETTING}', true), '')::uuid");
    format!(
        "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
         ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
         CREATE POLICY tenant_isolation ON {table} TO {APP_ROLE}
           USING ({column} = {tenant}) WITH CHECK ({column} = {tenant});
         CREATE POLICY owner_access ON {table} TO CURRENT_USER
           USING (true) WITH CHECK (true);"
    )
}

//! Lets a tenant end a platform admin's support grant on itself.
//!
//! Tenant-scoped transactions (role `argus_app`) may set `revoked_at` on
//! their own tenant's grants, and nothing else: row-level security already
//! limits them to their tenant's rows. On SQLite this does nothing.

use crate::m20261203_000004_row_level_security::APP_ROLE;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000005_grant_revocation"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let sql = format!("GRANT UPDATE (revoked_at) ON platform_grants TO {APP_ROLE}");
        m.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }
}

//! Database connection, migrations, and the tenant-scoped transaction.
//!
//! Postgres in production and tests, SQLite for `argus dev`. Every request
//! that acts inside a tenant runs in a transaction that, on Postgres, first
//! switches to the restricted role and names the tenant (see the
//! row-level-security migration), so a query that forgot its `tenant_id`
//! filter still sees only that tenant's rows.

use argus_migrations::{Migrator, MigratorTrait, APP_ROLE, TENANT_SETTING};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr,
};
use std::time::Duration;
use uuid::Uuid;

/// Opens a pool for `url` (`postgres://…` or `sqlite://…`).
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10));
    if url.starts_with("sqlite:") {
        // One writer at a time is what SQLite can do; a single connection
        // turns lock contention into queueing instead of SQLITE_BUSY.
        opts.max_connections(1);
    } else {
        opts.max_connections(16).min_connections(1);
    }
    Database::connect(opts).await
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Makes the rest of `tx` act as the restricted role inside `tenant`.
pub async fn scope_to_tenant(tx: &DatabaseTransaction, tenant: Uuid) -> Result<(), DbErr> {
    if tx.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    // A Uuid formats as hex and dashes only: safe to inline.
    let sql = format!(
        "SET LOCAL ROLE {APP_ROLE}; SELECT set_config('{TENANT_SETTING}', '{tenant}', true)"
    );
    tx.execute_unprepared(&sql).await.map(|_| ())
}

/// Rewrites `?` placeholders to `$1, $2…` for Postgres.
pub fn placeholders(backend: DbBackend, sql: &str) -> String {
    if backend != DbBackend::Postgres {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres_only() {
        let sql = "a = ? AND b = ?";
        assert_eq!(placeholders(DbBackend::Postgres, sql), "a = $1 AND b = $2");
        assert_eq!(placeholders(DbBackend::Sqlite, sql), sql);
    }
}

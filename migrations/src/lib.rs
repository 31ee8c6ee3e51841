//! The Argus schema as forward-only migrations.
//!
//! Every migration runs on PostgreSQL (production, tests) and on SQLite
//! (`argus dev`). Postgres-only features, such as row-level security, are
//! applied in their own migration that does nothing on SQLite. See
//! `migrations/README.md` for how to change the schema without downtime.

pub use sea_orm_migration::prelude::*;

mod cols;
mod m20261203_000001_tenancy;
mod m20261203_000002_devices;
mod m20261203_000003_audit;
mod m20261203_000004_row_level_security;
mod m20261203_000005_grant_revocation;
mod m20261204_000006_recording;
mod m20261204_000007_health;
mod m20261204_000008_live_homes;
mod m20261204_000009_camera_audio;

pub use m20261203_000004_row_level_security::{APP_ROLE, TENANT_SETTING};

/// Runs the migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261203_000001_tenancy::Migration),
            Box::new(m20261203_000002_devices::Migration),
            Box::new(m20261203_000003_audit::Migration),
            Box::new(m20261203_000004_row_level_security::Migration),
            Box::new(m20261203_000005_grant_revocation::Migration),
            Box::new(m20261204_000006_recording::Migration),
            Box::new(m20261204_000007_health::Migration),
            Box::new(m20261204_000008_live_homes::Migration),
            Box::new(m20261204_000009_camera_audio::Migration),
        ]
    }
}

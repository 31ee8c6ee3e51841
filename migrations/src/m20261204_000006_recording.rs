//! The recording catalog, its encryption keys and the relay identity
//! columns (issue #3).
//!
//! Relays gain the X25519 key camera credentials are sealed to and their
//! version (their Ed25519 token key lives in `public_key`); cameras gain
//! their sealed credentials and segment length. New tables, each carrying
//! `tenant_id` with composite foreign keys so no row can point into
//! another tenant: `tenant_keys` (wrapped by the master key), `data_keys`
//! (per camera, wrapped by the tenant key; at most one current per camera),
//! `init_segments`, `segments` (keyed by deterministic ids, unique per
//! camera and start time) and `recording_gaps`. On Postgres each new table
//! gets the same row-level-security policies as the others.

use crate::cols::*;
use crate::m20261203_000004_row_level_security::{APP_ROLE, TENANT_SETTING};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// The tenant-owned tables this migration adds.
const TABLES: &[&str] = &[
    "tenant_keys",
    "data_keys",
    "init_segments",
    "segments",
    "recording_gaps",
];

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000006_recording"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        add_columns(m).await?;

        m.create_table(tenant_keys()).await?;
        m.create_table(data_keys()).await?;
        m.create_table(init_segments()).await?;
        // TODO(#3): partition `segments` by day on Postgres (declarative
        // partitioning needs the partition key in every unique key, so the
        // primary key becomes (tenant_id, camera_id, start_at, id)).
        m.create_table(segments()).await?;
        m.create_table(gaps()).await?;
        create_indexes(m).await?;

        if m.get_database_backend() == DbBackend::Postgres {
            secure(m).await?;
        }
        Ok(())
    }
}

async fn add_columns(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    // SQLite takes one column per ALTER TABLE.
    for col in [text_null("sealing_key"), text_null("version")] {
        let alter = Table::alter()
            .table(Alias::new("relays"))
            .add_column(col)
            .to_owned();
        m.alter_table(alter).await?;
    }
    let segment_secs = ColumnDef::new(Alias::new("segment_secs"))
        .integer()
        .not_null()
        .default(4)
        .to_owned();
    for col in [text_null("credentials_sealed"), segment_secs] {
        let alter = Table::alter()
            .table(Alias::new("cameras"))
            .add_column(col)
            .to_owned();
        m.alter_table(alter).await?;
    }
    Ok(())
}

fn tenant_keys() -> TableCreateStatement {
    table("tenant_keys")
        .col(id())
        .col(uuid("tenant_id"))
        .col(text("wrapped"))
        .col(ts("created_at"))
        .col(ts_null("retired_at"))
        .foreign_key(&mut fk("tenant_keys", "tenant_id", "tenants"))
        .index(&mut tenant_key("tenant_keys"))
        .to_owned()
}

fn data_keys() -> TableCreateStatement {
    table("data_keys")
        .col(id())
        .col(uuid("tenant_id"))
        .col(uuid("camera_id"))
        .col(uuid("tenant_key_id"))
        .col(text("wrapped"))
        .col(ts("created_at"))
        .col(ts_null("retired_at"))
        .foreign_key(&mut tenant_fk("data_keys", "camera_id", "cameras"))
        .foreign_key(&mut tenant_fk_late(
            "data_keys",
            "tenant_key_id",
            "tenant_keys",
        ))
        .index(&mut tenant_key("data_keys"))
        .to_owned()
}

fn init_segments() -> TableCreateStatement {
    table("init_segments")
        .col(id())
        .col(uuid("tenant_id"))
        .col(uuid("camera_id"))
        .col(uuid("key_id"))
        .col(text("object_key"))
        .col(big("bytes"))
        .col(text("sha256"))
        .col(text("codec"))
        .col(int("width"))
        .col(int("height"))
        .col(ts("created_at"))
        .foreign_key(&mut tenant_fk("init_segments", "camera_id", "cameras"))
        .foreign_key(&mut tenant_fk_late("init_segments", "key_id", "data_keys"))
        .index(&mut tenant_key("init_segments"))
        .to_owned()
}

fn segments() -> TableCreateStatement {
    table("segments")
        .col(id())
        .col(uuid("tenant_id"))
        .col(uuid("camera_id"))
        .col(uuid("init_id"))
        .col(uuid("key_id"))
        .col(uuid("run_id"))
        .col(ts("start_at"))
        .col(ts("end_at"))
        .col(text("object_key"))
        .col(big("bytes"))
        .col(text("sha256"))
        .col(ts("created_at"))
        .foreign_key(&mut tenant_fk("segments", "camera_id", "cameras"))
        .foreign_key(&mut tenant_fk_late("segments", "init_id", "init_segments"))
        .foreign_key(&mut tenant_fk_late("segments", "key_id", "data_keys"))
        .to_owned()
}

fn gaps() -> TableCreateStatement {
    table("recording_gaps")
        .col(id())
        .col(uuid("tenant_id"))
        .col(uuid("camera_id"))
        .col(ts("start_at"))
        .col(ts("end_at"))
        .col(text("reason"))
        .col(ts("created_at"))
        .foreign_key(&mut tenant_fk("recording_gaps", "camera_id", "cameras"))
        .to_owned()
}

/// Like `tenant_fk`, refusing to delete a key still in use; checked at the
/// end of the statement, so deleting a camera cascades to its segments and
/// its keys together.
fn tenant_fk_late(from: &str, column: &str, target: &str) -> ForeignKeyCreateStatement {
    tenant_fk(from, column, target)
        .on_delete(ForeignKeyAction::NoAction)
        .to_owned()
}

async fn create_indexes(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    // Unique per camera and start: also the index of range queries.
    m.create_index(unique("segments", &["tenant_id", "camera_id", "start_at"]))
        .await?;
    m.create_index(unique(
        "recording_gaps",
        &["tenant_id", "camera_id", "start_at"],
    ))
    .await?;
    // At most one current key per tenant and per camera (partial indexes
    // read the same on both backends).
    let db = m.get_connection();
    db.execute_unprepared(
        "CREATE UNIQUE INDEX IF NOT EXISTS ux_tenant_keys_current
           ON tenant_keys (tenant_id) WHERE retired_at IS NULL",
    )
    .await?;
    db.execute_unprepared(
        "CREATE UNIQUE INDEX IF NOT EXISTS ux_data_keys_current
           ON data_keys (tenant_id, camera_id) WHERE retired_at IS NULL",
    )
    .await?;
    Ok(())
}

/// Row-level security and grants for the new tables, as in
/// `m20261203_000004_row_level_security`. The catalog is append-only for
/// the app role; retention (the worker) runs as the owner.
async fn secure(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = m.get_connection();
    let tenant = format!("nullif(current_setting('{TENANT_SETTING}', true), '')::uuid");
    for t in TABLES {
        db.execute_unprepared(&format!(
            "ALTER TABLE {t} ENABLE ROW LEVEL SECURITY;
             ALTER TABLE {t} FORCE ROW LEVEL SECURITY;
             CREATE POLICY tenant_isolation ON {t} TO {APP_ROLE}
               USING (tenant_id = {tenant}) WITH CHECK (tenant_id = {tenant});
             CREATE POLICY owner_access ON {t} TO CURRENT_USER
               USING (true) WITH CHECK (true);"
        ))
        .await?;
    }
    db.execute_unprepared(&format!(
        "GRANT SELECT, INSERT ON tenant_keys, data_keys, init_segments, segments,
           recording_gaps TO {APP_ROLE};"
    ))
    .await?;
    Ok(())
}

//! Live-view homes (issue #4): which api node's SFU serves each watched
//! camera, so that with several api nodes every viewer of a camera lands on
//! the same one (the others redirect) and the node holding the camera's
//! relay connection knows where to push.
//!
//! One row per watched camera: its relay, the home node's public URL,
//! whether a push is wanted, and the home's last heartbeat; a row whose
//! heartbeat is old belongs to a node that died and may be taken over.
//! Rows are short-lived and cascade with their camera. Only the api's own
//! connection (the table owner) touches them; on Postgres the table still
//! gets the tenant policies of every other tenant-owned table.

use crate::cols::*;
use crate::m20261203_000004_row_level_security::{APP_ROLE, TENANT_SETTING};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000008_live_homes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let wanted = boolean("wanted").default(false).to_owned();
        let homes = table("live_homes")
            .col(uuid("camera_id").primary_key().to_owned())
            .col(uuid("tenant_id"))
            .col(uuid("relay_id"))
            .col(text("node_url"))
            .col(wanted)
            .col(ts("heartbeat_at"))
            .foreign_key(&mut tenant_fk("live_homes", "camera_id", "cameras"))
            .to_owned();
        m.create_table(homes).await?;
        if m.get_database_backend() == DbBackend::Postgres {
            secure(m).await?;
        }
        Ok(())
    }
}

async fn secure(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    let tenant = format!("nullif(current_setting('{TENANT_SETTING}', true), '')::uuid");
    m.get_connection()
        .execute_unprepared(&format!(
            "ALTER TABLE live_homes ENABLE ROW LEVEL SECURITY;
             ALTER TABLE live_homes FORCE ROW LEVEL SECURITY;
             CREATE POLICY tenant_isolation ON live_homes TO {APP_ROLE}
               USING (tenant_id = {tenant}) WITH CHECK (tenant_id = {tenant});
             CREATE POLICY owner_access ON live_homes TO CURRENT_USER
               USING (true) WITH CHECK (true);"
        ))
        .await?;
    Ok(())
}

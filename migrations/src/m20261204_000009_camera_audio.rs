//! A camera's audio as its relay reports it (issue #4): the encoding the
//! camera's SDP names, and the note live view gives when browsers cannot
//! play it (AAC and the like; Opus and G.711 are forwarded).
//!
//! Expand-only: two nullable columns on `cameras`, covered by the app
//! role's table-wide `UPDATE` and the tenant policies already in place.

use crate::cols::add_column;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000009_camera_audio"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in ["audio_codec", "audio_note"] {
            let def = ColumnDef::new(Alias::new(name)).text().null().to_owned();
            add_column(m, "cameras", def).await?;
        }
        Ok(())
    }
}

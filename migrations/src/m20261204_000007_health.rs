//! Camera and relay health, as relays report it over the control channel
//! (issue #3).
//!
//! Expand-only: every column is nullable or has a default, so an older api
//! keeps working against the new schema. The app role already holds
//! table-wide `UPDATE` on `cameras` and `relays` (see the row-level-security
//! migration), which covers these columns; row-level security still limits
//! each write to the transaction's tenant. The relay's `version` column
//! belongs to the recording migration (000006) and is not added here.

use crate::cols::add_column;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000007_health"
    }
}

/// Per camera: the state its relay last reported and when.
const CAMERA_COLUMNS: &[(&str, Kind)] = &[
    ("health_state", Kind::Text),
    ("health_at", Kind::Time),
    ("last_frame_at", Kind::Time),
    ("bitrate_bps", Kind::Big),
    ("codec", Kind::Text),
    ("width", Kind::Int),
    ("height", Kind::Int),
    ("last_error", Kind::Text),
];

/// Per relay: its control connection and upload backlog.
const RELAY_COLUMNS: &[(&str, Kind)] = &[
    ("connected_at", Kind::Time),
    ("disconnected_at", Kind::Time),
    ("protocol", Kind::Int),
    ("buffered_segments", Kind::Big),
    ("buffered_bytes", Kind::Big),
    ("dropped_segments", Kind::Big),
];

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Time,
    Big,
    Int,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let online = ColumnDef::new(Alias::new("online"))
            .boolean()
            .not_null()
            .default(false)
            .to_owned();
        add_column(m, "relays", online).await?;

        for (name, kind) in RELAY_COLUMNS {
            add_column(m, "relays", column(name, *kind)).await?;
        }
        for (name, kind) in CAMERA_COLUMNS {
            add_column(m, "cameras", column(name, *kind)).await?;
        }
        Ok(())
    }
}

/// A nullable column of `kind`.
fn column(name: &str, kind: Kind) -> ColumnDef {
    let mut def = ColumnDef::new(Alias::new(name));
    match kind {
        Kind::Text => def.text(),
        Kind::Time => def.timestamp_with_time_zone(),
        Kind::Big => def.big_integer(),
        Kind::Int => def.integer(),
    };
    def.null().to_owned()
}

//! The audit log: append-only and hash-chained per tenant.
//!
//! `audit_events.seq` numbers a tenant's events 1, 2, 3…; each event stores
//! the hash of the one before it. `audit_heads` holds each chain's latest
//! seq and hash; appending locks that row, so two writers of one tenant
//! cannot fork the chain. Platform-level events use the nil tenant id.

use crate::cols::*;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000003_audit"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(events()).await?;
        m.create_table(heads()).await?;
        m.create_index(unique("audit_events", &["tenant_id", "seq"]))
            .await?;
        Ok(())
    }
}

fn events() -> TableCreateStatement {
    table("audit_events")
        .col(id())
        .col(uuid("tenant_id"))
        .col(big("seq"))
        .col(ts("at"))
        .col(text("actor_kind"))
        .col(uuid_null("actor_id"))
        .col(text("actor_label"))
        .col(text("action"))
        .col(text_null("target_kind"))
        .col(uuid_null("target_id"))
        .col(text("outcome"))
        .col(text_null("client_ip"))
        .col(text_null("user_agent"))
        .col(json("details"))
        .col(text("prev_hash"))
        .col(text("hash"))
        .to_owned()
}

fn heads() -> TableCreateStatement {
    table("audit_heads")
        .col(
            ColumnDef::new(Alias::new("tenant_id"))
                .uuid()
                .not_null()
                .primary_key(),
        )
        .col(big("seq"))
        .col(text("hash"))
        .to_owned()
}

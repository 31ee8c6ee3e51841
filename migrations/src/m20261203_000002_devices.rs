//! What runs on a customer's site: relays (enrolled with a one-time claim
//! code) and the cameras they pull.

use crate::cols::*;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000002_devices"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(relays()).await?;
        m.create_table(cameras()).await?;
        m.create_index(unique("relays", &["claim_code_hash"]))
            .await?;
        Ok(())
    }
}

fn relays() -> TableCreateStatement {
    table("relays")
        .col(id())
        .col(uuid("tenant_id"))
        .col(uuid("site_id"))
        .col(text("name"))
        .col(text("status"))
        .col(text_null("claim_code_hash"))
        .col(ts_null("claim_expires_at"))
        .col(text_null("public_key"))
        .col(ts_null("last_seen_at"))
        .col(ts("created_at"))
        .foreign_key(&mut tenant_fk("relays", "site_id", "sites"))
        .index(&mut tenant_key("relays"))
        .to_owned()
}

fn cameras() -> TableCreateStatement {
    table("cameras")
        .col(id())
        .col(uuid("tenant_id"))
        .col(uuid("site_id"))
        .col(uuid_null("relay_id"))
        .col(text("name"))
        .col(text("source_url"))
        .col(int("retention_days"))
        .col(text("status"))
        .col(ts("created_at"))
        .col(ts("updated_at"))
        .foreign_key(&mut tenant_fk("cameras", "site_id", "sites"))
        .foreign_key(&mut tenant_fk_restrict("cameras", "relay_id", "relays"))
        .index(&mut tenant_key("cameras"))
        .to_owned()
}

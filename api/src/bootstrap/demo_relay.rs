//! The relay `argus dev` runs in its own process for the demo tenant.
//!
//! Created on first use on the demo site, it records every camera of that
//! site that has no relay yet (the simulated camera). When its state dir
//! holds no identity (first run, or the dir was deleted) it needs a claim
//! code: the relay is reset to `pending` with a fresh one, as an installer
//! would do from the relay list.

use crate::audit::{self, Actor, Event, RequestMeta};
use crate::entity::{camera, relay, site};
use crate::routes::{relays, tenants};
use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

const NAME: &str = "Demo relay";

/// The demo relay's id and, when `enrolled` is false, a one-time claim
/// code it must enroll with.
pub async fn ensure(
    db: &DatabaseConnection,
    slug: &str,
    enrolled: bool,
) -> anyhow::Result<(Uuid, Option<String>)> {
    let tenant = tenants::by_slug(db, slug)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .ok_or_else(|| anyhow::anyhow!("no tenant {slug}"))?;
    let tx = db.begin().await?;

    let existing = relay::Entity::find()
        .filter(relay::Column::TenantId.eq(tenant.id))
        .filter(relay::Column::Name.eq(NAME))
        .one(&tx)
        .await?;
    let relay = match existing {
        Some(r) => r,
        None => create(&tx, tenant.id).await?,
    };
    attach_cameras(&tx, &relay).await?;

    let code = match enrolled && relay.status == "active" {
        true => None,
        false => Some(reset_claim(&tx, relay.clone()).await?),
    };
    tx.commit().await?;
    Ok((relay.id, code))
}

async fn create(tx: &DatabaseTransaction, tenant: Uuid) -> anyhow::Result<relay::Model> {
    let site = site::Entity::find()
        .filter(site::Column::TenantId.eq(tenant))
        .order_by_asc(site::Column::CreatedAt)
        .one(tx)
        .await?;
    let Some(site) = site else {
        anyhow::bail!("the demo tenant has no site: create one for the demo relay");
    };
    let relay = relay::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant),
        site_id: Set(site.id),
        name: Set(NAME.into()),
        status: Set("pending".into()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    record(tx, &relay, "relay.create").await?;
    Ok(relay)
}

/// Gives the relay every camera of its site that no relay records.
async fn attach_cameras(tx: &DatabaseTransaction, relay: &relay::Model) -> anyhow::Result<()> {
    camera::Entity::update_many()
        .col_expr(camera::Column::RelayId, Some(relay.id).into())
        .filter(camera::Column::TenantId.eq(relay.tenant_id))
        .filter(camera::Column::SiteId.eq(relay.site_id))
        .filter(camera::Column::RelayId.is_null())
        .exec(tx)
        .await?;
    Ok(())
}

async fn reset_claim(tx: &DatabaseTransaction, relay: relay::Model) -> anyhow::Result<String> {
    let (relay, code, _) = relays::reissue_claim(tx, relay, Duration::hours(1))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    record(tx, &relay, "relay.claim_code").await?;
    Ok(code)
}

async fn record(
    tx: &DatabaseTransaction,
    relay: &relay::Model,
    action: &str,
) -> anyhow::Result<()> {
    let ev = Event {
        actor: &Actor::system(),
        action,
        target: Some(("relay", relay.id)),
        outcome: "success",
        details: json!({ "name": relay.name }),
        meta: &RequestMeta::default(),
    };
    audit::append(tx, relay.tenant_id, ev).await?;
    Ok(())
}

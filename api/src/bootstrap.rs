//! First-run setup: the first platform admin, and for `argus dev` a demo
//! tenant with its admin. Idempotent: an existing account is left alone.

pub mod demo_relay;

use crate::audit::{self, Actor, Event, RequestMeta};
use crate::auth::password;
use crate::entity::platform_admin;
use crate::routes::tenants;
use argus_core::Secret;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

/// Creates platform admin `email` unless it exists; true if created.
pub async fn platform_admin(
    db: &DatabaseConnection,
    email: &str,
    pw: &Secret<String>,
) -> anyhow::Result<bool> {
    let email = email.trim().to_lowercase();
    let existing = platform_admin::Entity::find()
        .filter(platform_admin::Column::Email.eq(&email))
        .one(db)
        .await?;
    if existing.is_some() {
        return Ok(false);
    }
    password::check_strength(pw.expose()).map_err(anyhow::Error::msg)?;

    let tx = db.begin().await?;
    let admin = platform_admin::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.clone()),
        password_hash: Set(password::hash(pw.clone()).await?),
        status: Set("active".into()),
        created_at: Set(Utc::now()),
        last_login_at: Set(None),
    }
    .insert(&tx)
    .await?;
    let ev = Event {
        actor: &Actor::system(),
        action: "platform_admin.create",
        target: Some(("platform_admin", admin.id)),
        outcome: "success",
        details: json!({ "email": email }),
        meta: &RequestMeta::default(),
    };
    audit::append(&tx, audit::PLATFORM_CHAIN, ev).await?;
    tx.commit().await?;
    Ok(true)
}

/// Creates tenant `slug` with an owner unless the tenant exists; true if created.
pub async fn tenant_with_owner(
    db: &DatabaseConnection,
    slug: &str,
    name: &str,
    email: &str,
    pw: &Secret<String>,
) -> anyhow::Result<bool> {
    if tenants::by_slug(db, slug)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .is_some()
    {
        return Ok(false);
    }
    let tx = db.begin().await?;
    let tenant = tenants::insert(&tx, slug, name)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let user = tenants::insert_owner(&tx, tenant.id, email, None, pw)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let system = Actor::system();
    let meta = RequestMeta::default();
    let ev = Event {
        actor: &system,
        action: "tenant.create",
        target: Some(("tenant", tenant.id)),
        outcome: "success",
        details: json!({ "slug": slug, "owner": user.email }),
        meta: &meta,
    };
    audit::append(&tx, tenant.id, ev).await?;
    tx.commit().await?;
    Ok(true)
}

/// Gives tenant `slug` a site and a simulated camera, for `argus dev`.
pub async fn demo_site_and_camera(db: &DatabaseConnection, slug: &str) -> anyhow::Result<()> {
    use crate::entity::{camera, site};
    let tenant = tenants::by_slug(db, slug)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let tenant = tenant.ok_or_else(|| anyhow::anyhow!("no tenant {slug}"))?;
    let now = Utc::now();
    let tx = db.begin().await?;
    let site = site::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.id),
        name: Set("Demo site".into()),
        timezone: Set("UTC".into()),
        created_at: Set(now),
    }
    .insert(&tx)
    .await?;
    let cam = camera::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.id),
        site_id: Set(site.id),
        relay_id: Set(None),
        name: Set("Simulated camera".into()),
        // Recorded by the demo relay (see `demo_relay`).
        source_url: Set("sim://demo".into()),
        retention_days: Set(7),
        status: Set("pending".into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    let system = Actor::system();
    let meta = RequestMeta::default();
    for (action, kind, id) in [
        ("site.create", "site", site.id),
        ("camera.create", "camera", cam.id),
    ] {
        let ev = Event {
            actor: &system,
            action,
            target: Some((kind, id)),
            outcome: "success",
            details: json!({}),
            meta: &meta,
        };
        audit::append(&tx, tenant.id, ev).await?;
    }
    tx.commit().await?;
    Ok(())
}

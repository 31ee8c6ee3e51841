//! The audit log: who did what to which object, when, from where, and how
//! it ended. Append-only and hash-chained per tenant (see `chain`).
//!
//! An event is appended inside the same transaction as the change it
//! records, so a change without its event (or the reverse) never commits.

pub mod chain;
pub mod routes;

use crate::entity::{audit_event, audit_head};
use chrono::{DurationRound, TimeDelta, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QuerySelect, Set};
use serde_json::Value;
use uuid::Uuid;

/// The chain of platform-level events (tenants created, platform logins).
pub const PLATFORM_CHAIN: Uuid = Uuid::nil();

/// Who acted.
#[derive(Clone, Debug)]
pub struct Actor {
    /// `user`, `platform`, `support`, `anonymous` or `system`.
    pub kind: &'static str,
    pub id: Option<Uuid>,
    /// A human-readable name, e.g. an email.
    pub label: String,
}

impl Actor {
    pub fn anonymous(label: impl Into<String>) -> Self {
        Self {
            kind: "anonymous",
            id: None,
            label: label.into(),
        }
    }

    pub fn system() -> Self {
        Self {
            kind: "system",
            id: None,
            label: "argus".into(),
        }
    }
}

/// Where a request came from.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// One thing to record.
pub struct Event<'a> {
    pub actor: &'a Actor,
    pub action: &'a str,
    pub target: Option<(&'a str, Uuid)>,
    /// `success`, `failure` or `denied`.
    pub outcome: &'a str,
    pub details: Value,
    pub meta: &'a RequestMeta,
}

/// Appends `ev` to `tenant`'s chain inside the caller's transaction.
pub async fn append<C: ConnectionTrait>(db: &C, tenant: Uuid, ev: Event<'_>) -> Result<(), DbErr> {
    let head = lock_head(db, tenant).await?;
    let at = Utc::now()
        .duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or_else(|_| Utc::now());

    let mut model = audit_event::Model {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        seq: head.seq + 1,
        at,
        actor_kind: ev.actor.kind.to_string(),
        actor_id: ev.actor.id,
        actor_label: clip(&ev.actor.label, MAX_LABEL).to_string(),
        action: ev.action.to_string(),
        target_kind: ev.target.map(|(kind, _)| kind.to_string()),
        target_id: ev.target.map(|(_, id)| id),
        outcome: ev.outcome.to_string(),
        client_ip: ev.meta.client_ip.clone(),
        user_agent: ev
            .meta
            .user_agent
            .as_deref()
            .map(|ua| clip(ua, MAX_LABEL).to_string()),
        details: ev.details,
        prev_hash: head.hash.clone(),
        hash: String::new(),
    };
    model.hash = chain::hash(&model);

    let new_head = audit_head::ActiveModel {
        tenant_id: Set(tenant),
        seq: Set(model.seq),
        hash: Set(model.hash.clone()),
    };
    audit_event::ActiveModel::from(model).insert(db).await?;
    new_head.update(db).await?;
    Ok(())
}

/// Longest actor label or user agent kept: an anonymous login's label is
/// whatever email the caller typed, so it is clipped, not trusted.
const MAX_LABEL: usize = 256;

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let end = (0..=max)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0);
    &s[..end]
}

/// Creates the chain's head if needed, then locks it until the transaction
/// ends, so appends of one tenant are serialised.
async fn lock_head<C: ConnectionTrait>(db: &C, tenant: Uuid) -> Result<audit_head::Model, DbErr> {
    let genesis = audit_head::ActiveModel {
        tenant_id: Set(tenant),
        seq: Set(0),
        hash: Set(String::new()),
    };
    audit_head::Entity::insert(genesis)
        .on_conflict(
            OnConflict::column(audit_head::Column::TenantId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;

    let mut query = audit_head::Entity::find_by_id(tenant);
    if db.get_database_backend() == DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    query
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("audit head".into()))
}

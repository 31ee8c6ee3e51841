//! A login attempt, from email and password to a new session.
//!
//! Who an email belongs to: with a tenant slug, that tenant's user; without
//! one, the platform admin with that email, else every tenant user with
//! it. The password is checked against each candidate (a dummy hash when
//! there is none, so unknown emails take as long); exactly one match logs
//! in, matches in several tenants ask for the slug. Whether an email exists
//! is never revealed without its password.
//!
//! Failures are throttled per account (by account id, however the request
//! names it) and per client IP, and every failure is audited. While an
//! account is blocked, only the first refused attempt is audited, so a
//! flood cannot grow the log without bound.

use super::session::{self, Subject, Tokens};
use super::{password, token::SubjectKind};
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::entity::{platform_admin, tenant, user};
use crate::error::{ApiError, ApiResult, Kind};
use crate::state::AppState;
use argus_core::Secret;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

/// Most tenants one email is tried in without a slug.
const MAX_CANDIDATES: u64 = 5;

/// An account an email may belong to.
pub struct Account {
    pub kind: SubjectKind,
    pub id: Uuid,
    pub tenant: Option<tenant::Model>,
    pub email: String,
    pub password_hash: String,
    pub active: bool,
}

impl Account {
    fn actor(&self) -> Actor {
        Actor {
            kind: self.kind.as_str(),
            id: Some(self.id),
            label: self.email.clone(),
        }
    }

    fn chain(&self) -> Uuid {
        self.tenant
            .as_ref()
            .map(|t| t.id)
            .unwrap_or(audit::PLATFORM_CHAIN)
    }
}

/// Runs one login attempt.
pub async fn attempt(
    state: &AppState,
    email: &str,
    pw: &Secret<String>,
    slug: Option<&str>,
    meta: &RequestMeta,
) -> ApiResult<Tokens> {
    let email = email.trim().to_lowercase();
    let (candidates, slug_tenant) = candidates(&state.db, &email, slug).await?;
    let chain = slug_tenant
        .map(|t| t.id)
        .or_else(|| candidates.first().map(Account::chain))
        .unwrap_or(audit::PLATFORM_CHAIN);
    let mut keys: Vec<String> = candidates
        .iter()
        .map(|a| format!("account:{}", a.id))
        .collect();
    keys.push(format!("email:{}:{email}", slug.unwrap_or("*")));
    let ip_key = format!("ip:{}", meta.client_ip.as_deref().unwrap_or("-"));

    if let Some(secs) = blocked(state, &keys, &ip_key) {
        if state.limiter.first_denial(&keys[0]) {
            record(
                state,
                chain,
                &Actor::anonymous(&email),
                "denied",
                "rate_limited",
                meta,
            )
            .await?;
        }
        let mut err = ApiError::new(Kind::RateLimited, "too many failed logins; try again later");
        err.retry_after = Some(secs);
        return Err(err);
    }

    let mut matches = Vec::new();
    for account in candidates {
        if password::verify(pw.clone(), Some(account.password_hash.clone())).await {
            matches.push(account);
        }
    }
    if matches.is_empty() {
        password::verify(pw.clone(), None).await; // same time for unknown emails
    }
    let account = match matches.len() {
        1 if matches[0].active => matches.remove(0),
        n => {
            if n > 1 {
                return Err(ApiError::invalid("this email and password match several tenants: give the tenant's slug as \"tenant\""));
            }
            for k in keys.iter().chain([&ip_key]) {
                state.limiter.record_failure(k);
            }
            let (actor, reason) = match matches.first() {
                Some(a) => (a.actor(), "inactive"),
                None => (Actor::anonymous(&email), "bad_credentials"),
            };
            record(state, chain, &actor, "failure", reason, meta).await?;
            return Err(ApiError::unauthenticated());
        }
    };
    for k in &keys {
        state.limiter.clear(k);
    }
    start(state, &account, meta).await
}

fn blocked(state: &AppState, keys: &[String], ip_key: &str) -> Option<u64> {
    let cfg = &state.cfg.auth;
    keys.iter()
        .find_map(|k| state.limiter.blocked_for(k, cfg.max_failures_per_account))
        .or_else(|| state.limiter.blocked_for(ip_key, cfg.max_failures_per_ip))
}

async fn record(
    state: &AppState,
    chain: Uuid,
    actor: &Actor,
    outcome: &str,
    reason: &str,
    meta: &RequestMeta,
) -> ApiResult<()> {
    let ev = Event {
        actor,
        action: "auth.login",
        target: None,
        outcome,
        details: json!({ "reason": reason }),
        meta,
    };
    Ok(audit::append(&state.db, chain, ev).await?)
}

async fn start(state: &AppState, account: &Account, meta: &RequestMeta) -> ApiResult<Tokens> {
    let tx = state.db.begin().await?;
    let now = Some(Utc::now());
    if account.tenant.is_some() {
        user::ActiveModel {
            id: Set(account.id),
            last_login_at: Set(now),
            ..Default::default()
        }
        .update(&tx)
        .await?;
    } else {
        platform_admin::ActiveModel {
            id: Set(account.id),
            last_login_at: Set(now),
            ..Default::default()
        }
        .update(&tx)
        .await?;
    }
    let subject = Subject {
        kind: account.kind,
        id: account.id,
        tenant: account.tenant.as_ref().map(|t| t.id),
        grant: None,
    };
    let tokens = session::start(&tx, state, &subject)
        .await
        .map_err(ApiError::internal)?;

    let actor = account.actor();
    let ev = Event {
        actor: &actor,
        action: "auth.login",
        target: None,
        outcome: "success",
        details: json!({}),
        meta,
    };
    audit::append(&tx, account.chain(), ev).await?;
    tx.commit().await?;
    Ok(tokens)
}

/// The accounts `email` may mean, and the tenant a slug named (if any).
async fn candidates<C: ConnectionTrait>(
    db: &C,
    email: &str,
    slug: Option<&str>,
) -> ApiResult<(Vec<Account>, Option<tenant::Model>)> {
    if let Some(slug) = slug {
        let tenant = tenant::Entity::find()
            .filter(tenant::Column::Slug.eq(slug))
            .one(db)
            .await?;
        let Some(tenant) = tenant else {
            return Ok((vec![], None));
        };
        let found = user::Entity::find()
            .filter(user::Column::TenantId.eq(tenant.id))
            .filter(user::Column::Email.eq(email))
            .one(db)
            .await?;
        let accounts = found.into_iter().map(|u| from_user(u, &tenant)).collect();
        return Ok((accounts, Some(tenant)));
    }

    let admin = platform_admin::Entity::find()
        .filter(platform_admin::Column::Email.eq(email))
        .one(db)
        .await?;
    if let Some(a) = admin {
        let active = a.status == "active";
        let account = Account {
            kind: SubjectKind::Platform,
            id: a.id,
            tenant: None,
            email: a.email,
            password_hash: a.password_hash,
            active,
        };
        return Ok((vec![account], None));
    }

    let users = user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .limit(MAX_CANDIDATES)
        .all(db)
        .await?;
    let mut accounts = Vec::new();
    for u in users {
        if let Some(t) = tenant::Entity::find_by_id(u.tenant_id).one(db).await? {
            accounts.push(from_user(u, &t));
        }
    }
    Ok((accounts, None))
}

fn from_user(u: user::Model, tenant: &tenant::Model) -> Account {
    let active = u.status == "active" && tenant.status == "active";
    Account {
        kind: SubjectKind::User,
        id: u.id,
        tenant: Some(tenant.clone()),
        email: u.email,
        password_hash: u.password_hash,
        active,
    }
}

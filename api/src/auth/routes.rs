//! `/api/v1/auth/*` and `/api/v1/me`.

use super::context::request_meta;
use super::session::{self, Rotation, Subject, Tokens};
use super::{login, password, Auth};
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::entity::{platform_admin, user};
use crate::error::{ApiError, ApiResult, Kind};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use argus_core::Secret;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set, TransactionTrait};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    #[schema(value_type = String)]
    pub password: Secret<String>,
    /// The tenant's slug; needed only when the email exists in several tenants.
    pub tenant: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(value_type = String)]
    pub refresh_token: Secret<String>,
}

/// Logs in with email and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Tokens), (status = 401), (status = 429)))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let meta = request_meta(&req);
    let email = body.email.trim().to_lowercase();
    let ip_key = format!("ip:{}", meta.client_ip.as_deref().unwrap_or("-"));
    let account_key = format!("account:{}:{email}", body.tenant.as_deref().unwrap_or("*"));

    let (account, tenant) = login::find(&state.db, &email, body.tenant.as_deref()).await?;
    let chain = login::chain_of(tenant.as_ref());
    let auth = &state.cfg.auth;
    let blocked = state
        .limiter
        .blocked_for(&account_key, auth.max_failures_per_account)
        .or_else(|| state.limiter.blocked_for(&ip_key, auth.max_failures_per_ip));
    if let Some(secs) = blocked {
        record_login(
            &state.db,
            chain,
            &Actor::anonymous(&email),
            "rate_limited",
            &meta,
        )
        .await?;
        let mut err = ApiError::new(Kind::RateLimited, "too many failed logins; try again later");
        err.retry_after = Some(secs);
        return Err(err);
    }

    let stored = account.as_ref().map(|a| a.password_hash.clone());
    let password_ok = password::verify(body.password.clone(), stored).await;
    let account = match account {
        Some(a) if password_ok && a.active => a,
        other => {
            state.limiter.record_failure(&account_key);
            state.limiter.record_failure(&ip_key);
            let reason = if password_ok && other.is_some() {
                "inactive"
            } else {
                "bad_credentials"
            };
            let actor = other
                .map(|a| Actor {
                    kind: a.kind.as_str(),
                    id: Some(a.id),
                    label: a.email,
                })
                .unwrap_or_else(|| Actor::anonymous(&email));
            record_login(&state.db, chain, &actor, reason, &meta).await?;
            return Err(ApiError::unauthenticated());
        }
    };
    state.limiter.clear(&account_key);

    let tx = state.db.begin().await?;
    touch_last_login(&tx, &account).await?;
    let subject = Subject {
        kind: account.kind,
        id: account.id,
        tenant: account.tenant.as_ref().map(|t| t.id),
        grant: None,
    };
    let tokens = session::start(&tx, &state, &subject)
        .await
        .map_err(ApiError::internal)?;
    let actor = Actor {
        kind: account.kind.as_str(),
        id: Some(account.id),
        label: account.email.clone(),
    };
    let ev = Event {
        actor: &actor,
        action: "auth.login",
        target: None,
        outcome: "success",
        details: json!({}),
        meta: &meta,
    };
    audit::append(&tx, chain, ev).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(tokens))
}

async fn record_login<C: ConnectionTrait>(
    db: &C,
    chain: Uuid,
    actor: &Actor,
    reason: &str,
    meta: &RequestMeta,
) -> ApiResult<()> {
    let outcome = if reason == "rate_limited" {
        "denied"
    } else {
        "failure"
    };
    let ev = Event {
        actor,
        action: "auth.login",
        target: None,
        outcome,
        details: json!({ "reason": reason }),
        meta,
    };
    Ok(audit::append(db, chain, ev).await?)
}

async fn touch_last_login<C: ConnectionTrait>(db: &C, account: &login::Account) -> ApiResult<()> {
    let now = Some(Utc::now());
    if account.tenant.is_some() {
        user::ActiveModel {
            id: Set(account.id),
            last_login_at: Set(now),
            ..Default::default()
        }
        .update(db)
        .await?;
    } else {
        platform_admin::ActiveModel {
            id: Set(account.id),
            last_login_at: Set(now),
            ..Default::default()
        }
        .update(db)
        .await?;
    }
    Ok(())
}

/// Exchanges a refresh token for new tokens. A replayed refresh token
/// revokes its whole session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = Tokens), (status = 401)))]
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    let meta = request_meta(&req);
    let tx = state.db.begin().await?;
    let rotation = session::rotate(&tx, &state, body.refresh_token.expose())
        .await
        .map_err(ApiError::internal)?;
    match rotation {
        Rotation::Rotated(tokens, _) => {
            tx.commit().await?;
            Ok(HttpResponse::Ok().json(tokens))
        }
        Rotation::Replayed(sess) => {
            let actor = Actor {
                kind: "anonymous",
                id: Some(sess.subject_id),
                label: "refresh token holder".into(),
            };
            let chain = sess.tenant_id.unwrap_or(audit::PLATFORM_CHAIN);
            let ev = Event {
                actor: &actor,
                action: "auth.refresh_replayed",
                target: Some(("session", sess.id)),
                outcome: "denied",
                details: json!({}),
                meta: &meta,
            };
            audit::append(&tx, chain, ev).await?;
            tx.commit().await?;
            Err(ApiError::unauthenticated())
        }
        Rotation::Invalid => Err(ApiError::unauthenticated()),
    }
}

/// Ends the caller's session at once: its access and refresh tokens stop working.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 401)), security(("bearer" = [])))]
pub async fn logout(state: web::Data<AppState>, auth: Auth) -> ApiResult<HttpResponse> {
    let sid = auth.claims.sid;
    let chain = auth.claims.tid.unwrap_or(audit::PLATFORM_CHAIN);
    let (actor, tx, meta) = match auth.claims.tid {
        Some(_) => {
            let cx = auth.tenant(&state).await?;
            (cx.actor, cx.tx, cx.meta)
        }
        None => {
            let cx = auth.platform(&state).await?;
            (cx.actor, cx.tx, cx.meta)
        }
    };
    tx.commit().await?;

    let tx = state.db.begin().await?;
    session::revoke(&tx, sid, "logout").await?;
    let ev = Event {
        actor: &actor,
        action: "auth.logout",
        target: Some(("session", sid)),
        outcome: "success",
        details: json!({}),
        meta: &meta,
    };
    audit::append(&tx, chain, ev).await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Who the caller is, and what they may do.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200), (status = 401)), security(("bearer" = [])))]
pub async fn me(state: web::Data<AppState>, auth: Auth) -> ApiResult<HttpResponse> {
    let kind = auth.claims.kind;
    let sub = auth.claims.sub;
    if auth.claims.tid.is_none() {
        let cx = auth.platform(&state).await?;
        let admin = platform_admin::Entity::find_by_id(sub)
            .one(&cx.tx)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        return Ok(HttpResponse::Ok().json(json!({ "kind": kind, "platform_admin": admin })));
    }
    let cx = auth.tenant(&state).await?;
    let tenant = crate::entity::tenant::Entity::find_by_id(cx.tenant)
        .one(&cx.tx)
        .await?;
    let user = user::Entity::find_by_id(sub).one(&cx.tx).await?;
    let grants: Vec<_> = cx
        .grants
        .0
        .iter()
        .map(|g| {
            let mut perms: Vec<String> = g
                .permissions
                .iter()
                .map(|p| super::context::perm_name(*p))
                .collect();
            perms.sort();
            json!({ "site_id": g.site, "permissions": perms })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "kind": kind, "tenant": tenant, "user": user, "actor": cx.actor.label, "grants": grants })))
}

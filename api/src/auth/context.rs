//! Who is calling, and the transaction they act in.
//!
//! `Auth` is the extractor every protected route takes: it verifies the
//! bearer token (no database yet). `Auth::tenant` then opens the request's
//! transaction, checks in one query that the session, the user and the
//! tenant are all still active (so logout, disabling a user or suspending
//! a tenant take effect at once), loads the caller's grants, and scopes
//! the transaction to the token's tenant. The tenant only ever comes from
//! the verified token.

use super::token::{self, Claims, SubjectKind};
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::entity::session;
use crate::error::{ApiError, ApiResult};
use crate::rbac::{Grant, Grants};
use crate::state::AppState;
use actix_web::{dev::Payload, web::Data, FromRequest, HttpRequest};
use argus_core::Permission;
use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbErr, QueryResult, Statement, TransactionTrait, Value,
};
use std::future::{ready, Ready};
use std::net::IpAddr;
use uuid::Uuid;

/// A verified access token plus where the request came from.
#[derive(Clone)]
pub struct Auth {
    pub claims: Claims,
    pub meta: RequestMeta,
}

/// Where the request came from, for the audit log and login throttling.
pub fn request_meta(req: &HttpRequest) -> RequestMeta {
    let user_agent = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok());
    let proxies = req
        .app_data::<Data<AppState>>()
        .map(|s| s.cfg.trusted_proxies.as_slice())
        .unwrap_or_default();
    RequestMeta {
        client_ip: client_ip(req, proxies).map(|ip| ip.to_string()),
        user_agent: user_agent.map(|ua| ua.chars().take(256).collect()),
    }
}

/// The peer's address or, when the peer is a trusted proxy, the nearest
/// untrusted hop it reports in `X-Forwarded-For`.
fn client_ip(req: &HttpRequest, proxies: &[IpAddr]) -> Option<IpAddr> {
    let mut ip = req.peer_addr()?.ip();
    if !proxies.contains(&ip) {
        return Some(ip);
    }
    let forwarded = req.headers().get_all("x-forwarded-for");
    let hops: Vec<&str> = forwarded
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for hop in hops.iter().rev() {
        let Ok(hop) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        ip = hop;
        if !proxies.contains(&ip) {
            break;
        }
    }
    Some(ip)
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(extract(req))
    }
}

/// The request's `Authorization` header, if it is text.
pub fn authorization(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
}

/// The token of a `Bearer` credential; the scheme name is
/// case-insensitive (RFC 9110 §11.1).
pub fn bearer_token(header: Option<&str>) -> Option<&str> {
    header
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}

fn extract(req: &HttpRequest) -> ApiResult<Auth> {
    let state = req
        .app_data::<Data<AppState>>()
        .ok_or_else(|| ApiError::internal("no state"))?;
    let bearer = bearer_token(authorization(req)).ok_or_else(ApiError::unauthenticated)?;
    let claims = token::verify(&state.keys, &state.cfg.auth, bearer)
        .ok_or_else(ApiError::unauthenticated)?;

    let span = tracing::Span::current();
    span.record("enduser.id", tracing::field::display(claims.sub));
    if let Some(tid) = claims.tid {
        span.record("tenant.id", tracing::field::display(tid));
    }
    Ok(Auth {
        claims,
        meta: request_meta(req),
    })
}

/// A verified platform admin's token; anyone else gets 403 before the
/// body is even read.
pub struct PlatformAuth(pub Auth);

impl FromRequest for PlatformAuth {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(extract(req).and_then(|auth| match auth.claims.kind {
            SubjectKind::Platform => Ok(PlatformAuth(auth)),
            _ => Err(ApiError::forbidden("this route is for platform admins")),
        }))
    }
}

/// A request acting inside one tenant.
pub struct TenantCx {
    pub tx: DatabaseTransaction,
    pub tenant: Uuid,
    pub actor: Actor,
    pub grants: Grants,
    pub meta: RequestMeta,
}

/// A platform admin's request, outside every tenant.
pub struct PlatformCx {
    pub tx: DatabaseTransaction,
    pub actor: Actor,
    pub meta: RequestMeta,
}

impl Auth {
    /// Opens the tenant-scoped transaction for a `user` or `support` token.
    pub async fn tenant(self, state: &AppState) -> ApiResult<TenantCx> {
        let c = &self.claims;
        let Some(tenant) = c.tid else {
            return Err(ApiError::forbidden(
                "this route needs a tenant user's token",
            ));
        };
        let tx = state.db.begin().await?;
        let rows = query(
            &tx,
            session_sql(c.kind),
            vec![c.sid.into(), c.sub.into(), tenant.into()],
        )
        .await?;
        let first = rows.first().ok_or_else(ApiError::unauthenticated)?;
        check_expiry(first)?;

        let grants = match c.kind {
            SubjectKind::Support => Grants(vec![Grant {
                permissions: argus_core::permission::ALL.iter().copied().collect(),
                site: None,
            }]),
            _ => grants_from_rows(&rows)?,
        };
        let actor = Actor {
            kind: c.kind.as_str(),
            id: Some(c.sub),
            label: label(first, c)?,
        };
        crate::db::scope_to_tenant(&tx, tenant).await?;
        Ok(TenantCx {
            tx,
            tenant,
            actor,
            grants,
            meta: self.meta,
        })
    }

    /// Opens a transaction for a platform admin's token.
    pub async fn platform(self, state: &AppState) -> ApiResult<PlatformCx> {
        let c = &self.claims;
        if c.kind != SubjectKind::Platform {
            return Err(ApiError::forbidden("this route is for platform admins"));
        }
        let tx = state.db.begin().await?;
        let rows = query(&tx, session_sql(c.kind), vec![c.sid.into(), c.sub.into()]).await?;
        let first = rows.first().ok_or_else(ApiError::unauthenticated)?;
        check_expiry(first)?;
        let actor = Actor {
            kind: "platform",
            id: Some(c.sub),
            label: label(first, c)?,
        };
        Ok(PlatformCx {
            tx,
            actor,
            meta: self.meta,
        })
    }
}

/// One row per role binding (at least one row) while the session is live.
fn session_sql(kind: SubjectKind) -> &'static str {
    match kind {
        SubjectKind::User => {
            "SELECT u.email AS label, s.expires_at AS expires_at, r.permissions AS permissions,
                    b.site_id AS site_id
             FROM sessions s
             JOIN users u ON u.id = s.subject_id
             JOIN tenants t ON t.id = u.tenant_id
             LEFT JOIN role_bindings b ON b.user_id = u.id AND b.tenant_id = u.tenant_id
             LEFT JOIN roles r ON r.id = b.role_id AND r.tenant_id = u.tenant_id
             WHERE s.id = ? AND s.subject_id = ? AND u.tenant_id = ? AND s.revoked_at IS NULL
               AND s.subject_kind = 'user' AND u.status = 'active' AND t.status = 'active'"
        }
        SubjectKind::Support => {
            "SELECT p.email AS label, s.expires_at AS expires_at, g.expires_at AS grant_expires_at
             FROM sessions s
             JOIN platform_admins p ON p.id = s.subject_id
             JOIN platform_grants g ON g.id = s.grant_id
             JOIN tenants t ON t.id = g.tenant_id
             WHERE s.id = ? AND s.subject_id = ? AND g.tenant_id = ? AND s.revoked_at IS NULL
               AND g.revoked_at IS NULL AND p.status = 'active' AND t.status = 'active'"
        }
        SubjectKind::Platform => {
            "SELECT p.email AS label, s.expires_at AS expires_at
             FROM sessions s JOIN platform_admins p ON p.id = s.subject_id
             WHERE s.id = ? AND s.subject_id = ? AND s.revoked_at IS NULL
               AND s.subject_kind = 'platform' AND p.status = 'active'"
        }
    }
}

/// Whether a stored session may still be used: not revoked or expired, its
/// subject (and tenant, and support grant) still active. Refresh asks this
/// so that a disabled user or a suspended tenant cannot mint new tokens.
pub async fn session_is_live<C: ConnectionTrait>(
    db: &C,
    sess: &session::Model,
) -> Result<bool, DbErr> {
    let kind = super::session::parse_kind(&sess.subject_kind);
    let mut values: Vec<Value> = vec![sess.id.into(), sess.subject_id.into()];
    if kind != SubjectKind::Platform {
        let Some(tenant) = sess.tenant_id else {
            return Ok(false);
        };
        values.push(tenant.into());
    }
    let rows = query(db, session_sql(kind), values).await?;
    Ok(rows.first().is_some_and(|row| check_expiry(row).is_ok()))
}

async fn query<C: ConnectionTrait>(
    tx: &C,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<QueryResult>, DbErr> {
    let backend = tx.get_database_backend();
    let sql = crate::db::placeholders(backend, sql);
    tx.query_all(Statement::from_sql_and_values(backend, sql, values))
        .await
}

fn check_expiry(row: &QueryResult) -> ApiResult<()> {
    let now = Utc::now();
    let expires: DateTime<Utc> = row.try_get("", "expires_at")?;
    let grant_expires: Option<DateTime<Utc>> = row.try_get("", "grant_expires_at").unwrap_or(None);
    if expires <= now || grant_expires.is_some_and(|g| g <= now) {
        return Err(ApiError::unauthenticated());
    }
    Ok(())
}

fn label(row: &QueryResult, c: &Claims) -> ApiResult<String> {
    let email: String = row.try_get("", "label")?;
    Ok(match c.kind {
        SubjectKind::Support => format!("{email} (platform support)"),
        _ => email,
    })
}

fn grants_from_rows(rows: &[QueryResult]) -> ApiResult<Grants> {
    let mut grants = Vec::new();
    for row in rows {
        let perms: Option<serde_json::Value> = row.try_get("", "permissions")?;
        let Some(perms) = perms else { continue };
        let site: Option<Uuid> = row.try_get("", "site_id")?;
        let list: Vec<String> = serde_json::from_value(perms).map_err(ApiError::internal)?;
        let permissions = list
            .iter()
            .filter_map(|p| {
                serde_json::from_value::<Permission>(serde_json::Value::String(p.clone())).ok()
            })
            .collect();
        grants.push(Grant { permissions, site });
    }
    Ok(Grants(grants))
}

impl TenantCx {
    /// Requires `perm` for the whole tenant; 403 otherwise.
    pub fn require(&self, perm: Permission) -> ApiResult<()> {
        if self.grants.tenant_wide(perm) {
            return Ok(());
        }
        Err(ApiError::forbidden(format!(
            "missing permission {}",
            perm_name(perm)
        )))
    }

    /// Requires `perm` somewhere (tenant-wide or on a site); 403 otherwise.
    pub fn require_anywhere(&self, perm: Permission) -> ApiResult<()> {
        if self.grants.anywhere(perm) {
            return Ok(());
        }
        Err(ApiError::forbidden(format!(
            "missing permission {}",
            perm_name(perm)
        )))
    }

    /// Records an event in this tenant's audit log, in this transaction.
    pub async fn audit(
        &self,
        action: &str,
        target: Option<(&str, Uuid)>,
        details: serde_json::Value,
    ) -> ApiResult<()> {
        let ev = Event {
            actor: &self.actor,
            action,
            target,
            outcome: "success",
            details,
            meta: &self.meta,
        };
        Ok(audit::append(&self.tx, self.tenant, ev).await?)
    }

    pub async fn commit(self) -> ApiResult<()> {
        Ok(self.tx.commit().await?)
    }
}

impl PlatformCx {
    /// Records an event in `tenant`'s chain (or the platform chain).
    pub async fn audit(
        &self,
        tenant: Uuid,
        action: &str,
        target: Option<(&str, Uuid)>,
        details: serde_json::Value,
    ) -> ApiResult<()> {
        let ev = Event {
            actor: &self.actor,
            action,
            target,
            outcome: "success",
            details,
            meta: &self.meta,
        };
        Ok(audit::append(&self.tx, tenant, ev).await?)
    }

    pub async fn commit(self) -> ApiResult<()> {
        Ok(self.tx.commit().await?)
    }
}

/// The permission's wire name, e.g. `cameras.write`.
pub fn perm_name(perm: Permission) -> String {
    serde_json::to_value(perm)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

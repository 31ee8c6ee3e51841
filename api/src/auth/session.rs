//! Login sessions and their refresh tokens.
//!
//! A session is a refresh-token family. Each refresh token works once: using
//! it marks it used and issues the next one. Presenting a used token again
//! means it was stolen (or the client is confused): the whole session is
//! revoked, and every access token carrying its `sid` stops working.

use super::token::{self, Claims, SubjectKind};
use crate::entity::{refresh_token, session};
use crate::state::AppState;
use base64::Engine;
use chrono::{Duration, Utc};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// What a successful login or refresh returns.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Tokens {
    pub access_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub refresh_token: String,
}

/// Who a new session is for.
pub struct Subject {
    pub kind: SubjectKind,
    pub id: Uuid,
    pub tenant: Option<Uuid>,
    pub grant: Option<Uuid>,
}

/// Starts a session for `who` and issues its first tokens.
pub async fn start<C: ConnectionTrait>(
    db: &C,
    state: &AppState,
    who: &Subject,
) -> anyhow::Result<Tokens> {
    let now = Utc::now();
    let sid = Uuid::now_v7();
    session::ActiveModel {
        id: Set(sid),
        subject_kind: Set(who.kind.as_str().to_string()),
        subject_id: Set(who.id),
        tenant_id: Set(who.tenant),
        grant_id: Set(who.grant),
        created_at: Set(now),
        expires_at: Set(now + Duration::seconds(state.cfg.auth.session_ttl_secs)),
        revoked_at: Set(None),
        revoked_reason: Set(None),
    }
    .insert(db)
    .await?;
    issue(db, state, who.kind, who.id, who.tenant, sid).await
}

/// The outcome of presenting a refresh token.
pub enum Rotation {
    Rotated(Tokens, session::Model),
    /// Unknown, expired, or its session is over.
    Invalid,
    /// Already used: the session has now been revoked.
    Replayed(session::Model),
}

/// Exchanges a refresh token for new tokens.
pub async fn rotate<C: ConnectionTrait>(
    db: &C,
    state: &AppState,
    presented: &str,
) -> anyhow::Result<Rotation> {
    let now = Utc::now();
    let found = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash(presented)))
        .one(db)
        .await?;
    let Some(rt) = found else {
        return Ok(Rotation::Invalid);
    };
    let Some(sess) = session::Entity::find_by_id(rt.session_id).one(db).await? else {
        return Ok(Rotation::Invalid);
    };
    if sess.revoked_at.is_some() || sess.expires_at <= now || rt.expires_at <= now {
        return Ok(Rotation::Invalid);
    }
    if !super::context::session_is_live(db, &sess).await? {
        revoke(db, sess.id, "subject no longer active").await?;
        return Ok(Rotation::Invalid);
    }

    // Mark used only if still unused: of two concurrent refreshes, one wins.
    let claimed = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, now.into())
        .filter(refresh_token::Column::Id.eq(rt.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    if claimed.rows_affected == 0 {
        revoke(db, sess.id, "refresh token replayed").await?;
        return Ok(Rotation::Replayed(sess));
    }

    let kind = parse_kind(&sess.subject_kind);
    let tokens = issue(db, state, kind, sess.subject_id, sess.tenant_id, sess.id).await?;
    Ok(Rotation::Rotated(tokens, sess))
}

/// Ends a session: its refresh tokens and access tokens stop working.
pub async fn revoke<C: ConnectionTrait>(db: &C, sid: Uuid, reason: &str) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Utc::now().into())
        .col_expr(session::Column::RevokedReason, reason.into())
        .filter(session::Column::Id.eq(sid))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await
        .map(|_| ())
}

/// Ends every session of one subject, e.g. a user who was disabled.
pub async fn revoke_all<C: ConnectionTrait>(
    db: &C,
    subject: Uuid,
    reason: &str,
) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Utc::now().into())
        .col_expr(session::Column::RevokedReason, reason.into())
        .filter(session::Column::SubjectId.eq(subject))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await
        .map(|_| ())
}

pub fn parse_kind(s: &str) -> SubjectKind {
    match s {
        "platform" => SubjectKind::Platform,
        "support" => SubjectKind::Support,
        _ => SubjectKind::User,
    }
}

async fn issue<C: ConnectionTrait>(
    db: &C,
    state: &AppState,
    kind: SubjectKind,
    sub: Uuid,
    tenant: Option<Uuid>,
    sid: Uuid,
) -> anyhow::Result<Tokens> {
    let cfg = &state.cfg.auth;
    let claims = Claims::new(cfg, kind, sub, tenant, sid);
    let access_token = token::sign(&state.keys, &claims)?;

    let refresh = random_token();
    let now = Utc::now();
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        session_id: Set(sid),
        token_hash: Set(hash(&refresh)),
        created_at: Set(now),
        expires_at: Set(now + Duration::seconds(cfg.refresh_ttl_secs)),
        used_at: Set(None),
    }
    .insert(db)
    .await?;

    Ok(Tokens {
        access_token,
        token_type: "Bearer",
        expires_in: cfg.access_ttl_secs,
        refresh_token: refresh,
    })
}

/// 256 random bits, URL-safe base64.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Refresh tokens and claim codes are stored as their SHA-256 only.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

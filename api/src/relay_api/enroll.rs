//! `POST /relay/v1/enroll`: a relay trades its one-time claim code for an
//! identity bound to the public keys it generated itself.
//!
//! The code is looked up by its hash; it must be unexpired and its relay
//! still `pending`. Enrolling stores both keys and the version, makes the
//! relay `active` and clears the code in one conditional update, so two
//! racing enrollments with one code cannot both win. An unknown, used or
//! expired code gets the same 401.

use crate::audit::{self, Event};
use crate::auth::session::hash;
use crate::entity::{relay, tenant};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use argus_core::sealed;
use argus_core::wire::{EnrollRequest, EnrollResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::json;

/// Longest version string kept.
const MAX_VERSION: usize = 64;

/// Enrolls a relay with its claim code.
pub async fn enroll(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<EnrollRequest>,
) -> ApiResult<HttpResponse> {
    check_keys(&body)?;
    let version = clean_version(&body.version)?;
    let code_hash = hash(body.claim_code.expose());

    let tx = state.db.begin().await?;
    let relay = relay::Entity::find()
        .filter(relay::Column::ClaimCodeHash.eq(&code_hash))
        .one(&tx)
        .await?
        .filter(|r| r.status == "pending" && r.claim_expires_at.is_some_and(|t| t > Utc::now()))
        .ok_or_else(ApiError::unauthenticated)?;
    let tenant_active = tenant::Entity::find_by_id(relay.tenant_id)
        .one(&tx)
        .await?
        .is_some_and(|t| t.status == "active");
    if !tenant_active {
        return Err(ApiError::unauthenticated());
    }

    let done = relay::Entity::update_many()
        .col_expr(
            relay::Column::PublicKey,
            Expr::value(body.signing_key.clone()),
        )
        .col_expr(
            relay::Column::SealingKey,
            Expr::value(body.sealing_key.clone()),
        )
        .col_expr(relay::Column::Version, Expr::value(version.clone()))
        .col_expr(relay::Column::Status, Expr::value("active"))
        .col_expr(
            relay::Column::ClaimCodeHash,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            relay::Column::ClaimExpiresAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .filter(relay::Column::Id.eq(relay.id))
        .filter(relay::Column::ClaimCodeHash.eq(&code_hash))
        .filter(relay::Column::Status.eq("pending"))
        .exec(&tx)
        .await?;
    if done.rows_affected != 1 {
        return Err(ApiError::unauthenticated());
    }

    let meta = crate::auth::context::request_meta(&req);
    let ev = Event {
        actor: &super::auth::actor(&relay),
        action: "relay.enroll",
        target: Some(("relay", relay.id)),
        outcome: "success",
        details: json!({ "version": version }),
        meta: &meta,
    };
    audit::append(&tx, relay.tenant_id, ev).await?;
    tx.commit().await?;
    tracing::info!(relay.id = %relay.id, tenant.id = %relay.tenant_id, "relay enrolled");

    Ok(HttpResponse::Created().json(EnrollResponse {
        relay_id: relay.id,
        tenant_id: relay.tenant_id,
        site_id: relay.site_id,
    }))
}

/// 400 unless both public keys are 32 bytes of base64url.
fn check_keys(body: &EnrollRequest) -> ApiResult<()> {
    let signing_ok = URL_SAFE_NO_PAD
        .decode(&body.signing_key)
        .is_ok_and(|b| b.len() == 32);
    if !signing_ok {
        return Err(ApiError::invalid(
            "signing_key must be an Ed25519 public key: 32 bytes, base64url without padding",
        ));
    }
    if !sealed::is_public_key(&body.sealing_key) {
        return Err(ApiError::invalid(
            "sealing_key must be an X25519 public key: 32 bytes, base64url without padding",
        ));
    }
    Ok(())
}

/// The version as stored: printable ASCII, at most [`MAX_VERSION`] bytes.
fn clean_version(v: &str) -> ApiResult<String> {
    let v = v.trim();
    let printable = v.bytes().all(|b| (0x20..0x7f).contains(&b));
    if v.is_empty() || v.len() > MAX_VERSION || !printable {
        return Err(ApiError::invalid(format!(
            "version must be 1 to {MAX_VERSION} printable ASCII characters"
        )));
    }
    Ok(v.to_string())
}

//! `/api/v1/relays`: the on-site relays of a tenant.
//!
//! Creating a relay returns a one-time claim code (shown once, stored only
//! as its hash, valid 24 hours) that the installer gives the relay
//! container; `POST /relays/{id}/claim-code` issues a new one. Enrollment
//! itself is the relay's side (TODO(#3)).

use super::{input, sites};
use crate::auth::session::{hash, random_token};
use crate::auth::{Auth, TenantCx};
use crate::entity::{camera, relay};
use crate::error::{ApiError, ApiResult};
use crate::rbac::Sites;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use argus_core::Permission::{RelaysRead, RelaysWrite};
use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, ModelTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

const CLAIM_TTL_HOURS: i64 = 24;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRelay {
    pub site_id: Uuid,
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelayPatch {
    pub name: Option<String>,
    /// `revoked` locks the relay out at once.
    pub status: Option<String>,
}

/// Loads a relay the caller may see, or 404.
pub async fn visible(cx: &TenantCx, id: Uuid) -> ApiResult<relay::Model> {
    let found = relay::Entity::find_by_id(id)
        .filter(relay::Column::TenantId.eq(cx.tenant))
        .one(&cx.tx)
        .await?;
    match found {
        Some(r) if cx.grants.on_site(RelaysRead, r.site_id) => Ok(r),
        _ => Err(ApiError::not_found("relay")),
    }
}

/// Lists the relays the caller can see.
#[utoipa::path(get, path = "/api/v1/relays", tag = "relays", security(("bearer" = [])),
    responses((status = 200, body = [relay::Model])))]
pub async fn list(state: web::Data<AppState>, auth: Auth) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    cx.require_anywhere(RelaysRead)?;

    let mut q = relay::Entity::find().filter(relay::Column::TenantId.eq(cx.tenant));
    if let Sites::Only(ids) = cx.grants.sites(RelaysRead) {
        q = q.filter(relay::Column::SiteId.is_in(ids));
    }
    let relays = q.order_by_asc(relay::Column::Name).all(&cx.tx).await?;
    Ok(HttpResponse::Ok().json(relays))
}

/// Registers a relay on a site; the answer carries its one-time claim code.
#[utoipa::path(post, path = "/api/v1/relays", tag = "relays", security(("bearer" = [])),
    request_body = NewRelay, responses((status = 201)))]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<NewRelay>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    cx.require_anywhere(RelaysWrite)?;
    let site = sites::visible(&cx, body.site_id).await?;
    super::require_on_site(&cx, RelaysWrite, site.id)?;
    let name = input::name("name", &body.name)?;

    let code = random_token();
    let relay = relay::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(cx.tenant),
        site_id: Set(site.id),
        name: Set(name),
        status: Set("pending".into()),
        claim_code_hash: Set(Some(hash(&code))),
        claim_expires_at: Set(Some(Utc::now() + Duration::hours(CLAIM_TTL_HOURS))),
        public_key: Set(None),
        last_seen_at: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&cx.tx)
    .await?;

    cx.audit(
        "relay.create",
        Some(("relay", relay.id)),
        json!({ "name": relay.name, "site_id": relay.site_id }),
    )
    .await?;
    cx.commit().await?;
    Ok(HttpResponse::Created().json(json!({ "relay": relay, "claim_code": code })))
}

/// One relay.
#[utoipa::path(get, path = "/api/v1/relays/{id}", tag = "relays", security(("bearer" = [])),
    responses((status = 200, body = relay::Model), (status = 404)))]
pub async fn get(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    Ok(HttpResponse::Ok().json(visible(&cx, *id).await?))
}

/// Renames a relay or revokes it.
#[utoipa::path(patch, path = "/api/v1/relays/{id}", tag = "relays", security(("bearer" = [])),
    request_body = RelayPatch, responses((status = 200, body = relay::Model), (status = 404)))]
pub async fn update(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: web::Json<RelayPatch>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    let relay = visible(&cx, *id).await?;
    super::require_on_site(&cx, RelaysWrite, relay.site_id)?;

    let mut active: relay::ActiveModel = relay.into();
    if let Some(v) = &body.name {
        active.name = Set(input::name("name", v)?);
    }
    if let Some(v) = &body.status {
        if v != "revoked" {
            return Err(ApiError::invalid("status can only be set to \"revoked\""));
        }
        active.status = Set("revoked".into());
        active.claim_code_hash = Set(None);
    }
    let relay = active.update(&cx.tx).await?;

    cx.audit(
        "relay.update",
        Some(("relay", relay.id)),
        json!({ "name": relay.name, "status": relay.status }),
    )
    .await?;
    cx.commit().await?;
    if relay.status == "revoked" {
        // Its open control channel ends now (the hub re-checks the relay
        // and closes it as revoked), not at its next heartbeat.
        state.hub.config_changed(relay.id);
    }
    Ok(HttpResponse::Ok().json(relay))
}

/// Issues a new one-time claim code, to enroll a replacement relay (a new
/// box, or one whose state dir was lost). The relay goes back to `pending`:
/// its old keys stop working at once, and camera passwords sealed to them
/// are cleared (`has_credentials` turns false: enter them again once the
/// replacement has enrolled).
#[utoipa::path(post, path = "/api/v1/relays/{id}/claim-code", tag = "relays", security(("bearer" = [])),
    responses((status = 200), (status = 404)))]
pub async fn claim_code(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    let relay = visible(&cx, *id).await?;
    super::require_on_site(&cx, RelaysWrite, relay.site_id)?;
    if relay.status == "revoked" {
        return Err(ApiError::new(
            crate::error::Kind::FailedPrecondition,
            "relay is revoked",
        ));
    }

    let was_enrolled = relay.public_key.is_some();
    let ttl = Duration::hours(CLAIM_TTL_HOURS);
    let (relay, code, cleared) = reissue_claim(&cx.tx, relay, ttl).await?;

    let details = json!({ "replaces_enrolled": was_enrolled, "credentials_cleared": cleared });
    cx.audit("relay.claim_code", Some(("relay", relay.id)), details)
        .await?;
    cx.commit().await?;
    state.hub.disconnect(relay.id);
    Ok(HttpResponse::Ok().json(json!({ "relay": relay, "claim_code": code })))
}

/// Puts `relay` back to `pending` with a new one-time claim code valid for
/// `ttl`: its keys stop working and the camera passwords sealed to them
/// are cleared. Returns the relay, the code and how many cameras lost
/// their credentials. The caller audits and commits.
pub async fn reissue_claim(
    tx: &DatabaseTransaction,
    relay: relay::Model,
    ttl: Duration,
) -> ApiResult<(relay::Model, String, u64)> {
    let code = random_token();
    let mut active: relay::ActiveModel = relay.into();
    active.status = Set("pending".into());
    active.public_key = Set(None);
    active.sealing_key = Set(None);
    active.claim_code_hash = Set(Some(hash(&code)));
    active.claim_expires_at = Set(Some(Utc::now() + ttl));
    let relay = active.update(tx).await?;

    let cleared = camera::Entity::update_many()
        .col_expr(
            camera::Column::CredentialsSealed,
            Option::<String>::None.into(),
        )
        .filter(camera::Column::TenantId.eq(relay.tenant_id))
        .filter(camera::Column::RelayId.eq(relay.id))
        .filter(camera::Column::CredentialsSealed.is_not_null())
        .exec(tx)
        .await?
        .rows_affected;
    Ok((relay, code, cleared))
}

/// Removes a relay.
#[utoipa::path(delete, path = "/api/v1/relays/{id}", tag = "relays", security(("bearer" = [])),
    responses((status = 204), (status = 404)))]
pub async fn delete(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    let relay = visible(&cx, *id).await?;
    super::require_on_site(&cx, RelaysWrite, relay.site_id)?;

    let (relay_id, name) = (relay.id, relay.name.clone());
    // Its cameras are recorded by nobody now: say so, and drop passwords
    // that were sealed to this relay's key.
    camera::Entity::update_many()
        .col_expr(camera::Column::RelayId, Option::<Uuid>::None.into())
        .col_expr(camera::Column::Status, "pending".into())
        .col_expr(camera::Column::HealthState, Option::<String>::None.into())
        .col_expr(
            camera::Column::CredentialsSealed,
            Option::<String>::None.into(),
        )
        .filter(camera::Column::TenantId.eq(cx.tenant))
        .filter(camera::Column::RelayId.eq(relay_id))
        .exec(&cx.tx)
        .await?;
    relay.delete(&cx.tx).await?;

    cx.audit(
        "relay.delete",
        Some(("relay", relay_id)),
        json!({ "name": name }),
    )
    .await?;
    cx.commit().await?;
    state.hub.disconnect(relay_id);
    Ok(HttpResponse::NoContent().finish())
}

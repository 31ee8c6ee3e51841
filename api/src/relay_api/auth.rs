//! `RelayAuth`: the extractor of every authenticated `/relay/v1` route.
//!
//! `Authorization: Bearer <token>` signed by the relay: read the relay id
//! it claims, load that relay and its tenant, verify the signature with the
//! key the relay enrolled, and refuse (401, always the same message) a
//! relay that is not `active` or whose tenant is not. Nothing is cached,
//! so revoking a relay or suspending its tenant takes effect at once.

use crate::audit::{Actor, RequestMeta};
use crate::entity::{relay, tenant};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use argus_core::relay_token;
use futures_util::future::LocalBoxFuture;
use sea_orm::{DatabaseTransaction, EntityTrait, TransactionTrait};

/// An authenticated, active relay of an active tenant.
pub struct RelayAuth {
    pub relay: relay::Model,
    pub meta: RequestMeta,
}

impl RelayAuth {
    /// A transaction scoped to the relay's tenant (row-level security on).
    pub async fn begin(&self, state: &AppState) -> ApiResult<DatabaseTransaction> {
        let tx = state.db.begin().await?;
        crate::db::scope_to_tenant(&tx, self.relay.tenant_id).await?;
        Ok(tx)
    }

    /// The relay as the audit log names it.
    pub fn actor(&self) -> Actor {
        actor(&self.relay)
    }
}

/// `relay` as the audit log names it.
pub fn actor(relay: &relay::Model) -> Actor {
    Actor {
        kind: "relay",
        id: Some(relay.id),
        label: relay.name.clone(),
    }
}

impl FromRequest for RelayAuth {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<Data<AppState>>()
                .ok_or_else(|| ApiError::internal("no state"))?;
            let header = crate::auth::context::authorization(&req);
            let relay = authenticate(state, header).await?;
            let span = tracing::Span::current();
            span.record("tenant.id", tracing::field::display(relay.tenant_id));
            span.record("enduser.id", tracing::field::display(relay.id));
            Ok(RelayAuth {
                relay,
                meta: crate::auth::context::request_meta(&req),
            })
        })
    }
}

/// The relay an `Authorization` header authenticates, or 401.
pub async fn authenticate(state: &AppState, header: Option<&str>) -> ApiResult<relay::Model> {
    let token = crate::auth::context::bearer_token(header).ok_or_else(ApiError::unauthenticated)?;
    let id = relay_token::claimed_relay(token).ok_or_else(ApiError::unauthenticated)?;

    let relay = relay::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
    let key = relay
        .public_key
        .as_deref()
        .ok_or_else(ApiError::unauthenticated)?;
    let now = chrono::Utc::now().timestamp();
    let claims = relay_token::verify(token, key, now).ok_or_else(ApiError::unauthenticated)?;
    if claims.sub != relay.id || relay.status != "active" {
        return Err(ApiError::unauthenticated());
    }

    let tenant = tenant::Entity::find_by_id(relay.tenant_id)
        .one(&state.db)
        .await?;
    if tenant.is_none_or(|t| t.status != "active") {
        return Err(ApiError::unauthenticated());
    }
    Ok(relay)
}

//! `/relay/v1`: the api as relays see it. Its own route table, apart from
//! the tenant api's `ROUTES`: relays authenticate with tokens they sign
//! themselves ([`auth::RelayAuth`]), never with a user's session.
//!
//! Every handler acts in a transaction scoped to the relay's tenant, and
//! reaches only the cameras assigned to that relay: any other camera,
//! another relay's or another tenant's, is 404.

pub mod auth;
pub mod commits;
pub mod config;
pub mod enroll;
pub mod slots;

use crate::entity::camera;
use crate::error::{ApiError, ApiResult};
use actix_web::web;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

/// Largest JSON body on these routes (a commit batch).
const MAX_JSON: usize = 1024 * 1024;

/// Every `/relay/v1` route as (method, path template).
pub const RELAY_ROUTES: &[(&str, &str)] = &[
    ("post", "/relay/v1/enroll"),
    ("get", "/relay/v1/config"),
    ("get", "/relay/v1/cameras/{id}/key"),
    ("post", "/relay/v1/slots"),
    ("post", "/relay/v1/commits"),
    ("get", "/relay/v1/connect"),
    ("post", "/relay/v1/cameras/{id}/whip"),
    ("delete", "/relay/v1/cameras/{id}/whip/{ingest_id}"),
];

/// Registers the relay routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let json = web::JsonConfig::default()
        .limit(MAX_JSON)
        .error_handler(crate::app::json_error);
    cfg.service(
        web::scope("/relay/v1")
            .app_data(json)
            .route("/enroll", web::post().to(enroll::enroll))
            .route("/config", web::get().to(config::config))
            .route("/cameras/{id}/key", web::get().to(config::key))
            .route("/slots", web::post().to(slots::slot))
            .route("/commits", web::post().to(commits::commit))
            .route("/connect", web::get().to(crate::control::connect))
            .route(
                "/cameras/{id}/whip",
                web::post().to(crate::live::routes::whip),
            )
            .route(
                "/cameras/{id}/whip/{ingest_id}",
                web::delete().to(crate::live::routes::whip_delete),
            ),
    );
}

/// The camera `id` if it is assigned to `relay`; 404 otherwise.
pub async fn relay_camera<C: ConnectionTrait>(
    db: &C,
    relay: &crate::entity::relay::Model,
    id: Uuid,
) -> ApiResult<camera::Model> {
    camera::Entity::find_by_id(id)
        .filter(camera::Column::TenantId.eq(relay.tenant_id))
        .filter(camera::Column::RelayId.eq(relay.id))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("camera"))
}

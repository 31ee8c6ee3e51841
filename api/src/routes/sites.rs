//! `/api/v1/sites`: the places a tenant's cameras are.
//!
//! Seeing a site needs `sites.read` on it; a site binding shows only its own
//! site. Creating sites needs `sites.write` for the whole tenant.

use super::input;
use crate::auth::{Auth, TenantCx};
use crate::entity::{camera, relay, site};
use crate::error::{ApiError, ApiResult};
use crate::rbac::Sites;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use argus_core::Permission::{SitesRead, SitesWrite};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, ModelTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSite {
    pub name: String,
    /// IANA time zone; default `UTC`.
    pub timezone: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SitePatch {
    pub name: Option<String>,
    pub timezone: Option<String>,
}

/// Loads a site the caller may see with `perm`, or 404.
pub async fn visible(cx: &TenantCx, id: Uuid) -> ApiResult<site::Model> {
    let found = site::Entity::find_by_id(id)
        .filter(site::Column::TenantId.eq(cx.tenant))
        .one(&cx.tx)
        .await?;
    match found {
        Some(s) if cx.grants.on_site(SitesRead, s.id) => Ok(s),
        _ => Err(ApiError::not_found("site")),
    }
}

/// Lists the sites the caller can see.
#[utoipa::path(get, path = "/api/v1/sites", tag = "sites", security(("bearer" = [])),
    responses((status = 200, body = [site::Model])))]
pub async fn list(state: web::Data<AppState>, auth: Auth) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    cx.require_anywhere(SitesRead)?;

    let mut q = site::Entity::find().filter(site::Column::TenantId.eq(cx.tenant));
    if let Sites::Only(ids) = cx.grants.sites(SitesRead) {
        q = q.filter(site::Column::Id.is_in(ids));
    }
    let sites = q.order_by_asc(site::Column::Name).all(&cx.tx).await?;
    Ok(HttpResponse::Ok().json(sites))
}

/// Creates a site.
#[utoipa::path(post, path = "/api/v1/sites", tag = "sites", security(("bearer" = [])),
    request_body = NewSite, responses((status = 201, body = site::Model)))]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<NewSite>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    cx.require(SitesWrite)?;
    let name = input::name("name", &body.name)?;
    let timezone = input::timezone(body.timezone.as_deref().unwrap_or("UTC"))?;

    let site = site::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(cx.tenant),
        name: Set(name),
        timezone: Set(timezone),
        created_at: Set(Utc::now()),
    }
    .insert(&cx.tx)
    .await?;

    cx.audit(
        "site.create",
        Some(("site", site.id)),
        json!({ "name": site.name }),
    )
    .await?;
    cx.commit().await?;
    Ok(HttpResponse::Created().json(site))
}

/// One site.
#[utoipa::path(get, path = "/api/v1/sites/{id}", tag = "sites", security(("bearer" = [])),
    responses((status = 200, body = site::Model), (status = 404)))]
pub async fn get(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    let site = visible(&cx, *id).await?;
    Ok(HttpResponse::Ok().json(site))
}

/// Renames a site or changes its time zone.
#[utoipa::path(patch, path = "/api/v1/sites/{id}", tag = "sites", security(("bearer" = [])),
    request_body = SitePatch, responses((status = 200, body = site::Model), (status = 404)))]
pub async fn update(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: web::Json<SitePatch>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    let site = visible(&cx, *id).await?;
    super::require_on_site(&cx, SitesWrite, site.id)?;

    let mut active: site::ActiveModel = site.into();
    if let Some(name) = &body.name {
        active.name = Set(input::name("name", name)?);
    }
    if let Some(tz) = &body.timezone {
        active.timezone = Set(input::timezone(tz)?);
    }
    let site = active.update(&cx.tx).await?;

    cx.audit(
        "site.update",
        Some(("site", site.id)),
        json!({ "name": site.name, "timezone": site.timezone }),
    )
    .await?;
    cx.commit().await?;
    Ok(HttpResponse::Ok().json(site))
}

/// Deletes a site with its cameras and relays.
#[utoipa::path(delete, path = "/api/v1/sites/{id}", tag = "sites", security(("bearer" = [])),
    responses((status = 204), (status = 404)))]
pub async fn delete(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    let site = visible(&cx, *id).await?;
    cx.require(SitesWrite)?;

    let (site_id, name) = (site.id, site.name.clone());
    let cameras = camera::Entity::find()
        .filter(camera::Column::SiteId.eq(site_id))
        .count(&cx.tx)
        .await?;
    let relays = relay::Entity::find()
        .filter(relay::Column::SiteId.eq(site_id))
        .count(&cx.tx)
        .await?;
    site.delete(&cx.tx).await?;

    // The site's cameras and relays go with it (foreign keys cascade).
    let details = json!({ "name": name, "cameras_removed": cameras, "relays_removed": relays });
    cx.audit("site.delete", Some(("site", site_id)), details)
        .await?;
    cx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

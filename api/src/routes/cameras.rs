//! `/api/v1/cameras`: the cameras of a tenant, each on one site.
//!
//! Seeing a camera needs `cameras.read` on its site; changing it needs
//! `cameras.write` there. Moving a camera needs both on the target site.

use super::{input, relays, sites};
use crate::auth::{Auth, TenantCx};
use crate::entity::camera;
use crate::error::{ApiError, ApiResult};
use crate::rbac::Sites;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use argus_core::Permission::{CamerasRead, CamerasWrite};
use argus_core::{sealed, Secret};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, ModelTrait, QueryFilter, QueryOrder, Set,
};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCamera {
    pub site_id: Uuid,
    pub name: String,
    /// `rtsp://host/path` (no credentials) or `sim://name`.
    pub source_url: String,
    /// The relay that pulls it; must be on the same site.
    pub relay_id: Option<Uuid>,
    /// Default 30.
    pub retention_days: Option<i32>,
    /// Camera login, sealed to the relay's key (needs an enrolled relay);
    /// give both or neither. Never returned: responses say `has_credentials`.
    pub username: Option<String>,
    #[schema(value_type = Option<String>)]
    pub password: Option<Secret<String>>,
    /// Target segment length in seconds, 1 to 60; default 4.
    pub segment_secs: Option<i32>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CameraPatch {
    pub name: Option<String>,
    pub source_url: Option<String>,
    /// A relay on the camera's site, or `null` to detach the camera.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    pub relay_id: Option<Option<Uuid>>,
    pub retention_days: Option<i32>,
    /// New camera login (both or neither), sealed to the camera's relay.
    /// Moving a camera with credentials to another relay needs them again.
    pub username: Option<String>,
    #[schema(value_type = Option<String>)]
    pub password: Option<Secret<String>>,
    /// Target segment length in seconds, 1 to 60.
    pub segment_secs: Option<i32>,
}

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<Uuid>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

/// Loads a camera the caller may see, or 404.
pub async fn visible(cx: &TenantCx, id: Uuid) -> ApiResult<camera::Model> {
    let found = camera::Entity::find_by_id(id)
        .filter(camera::Column::TenantId.eq(cx.tenant))
        .one(&cx.tx)
        .await?;
    match found {
        Some(c) if cx.grants.on_site(CamerasRead, c.site_id) => Ok(c),
        _ => Err(ApiError::not_found("camera")),
    }
}

/// Lists the cameras the caller can see.
#[utoipa::path(get, path = "/api/v1/cameras", tag = "cameras", security(("bearer" = [])),
    responses((status = 200, body = [camera::Model])))]
pub async fn list(state: web::Data<AppState>, auth: Auth) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    cx.require_anywhere(CamerasRead)?;

    let mut q = camera::Entity::find().filter(camera::Column::TenantId.eq(cx.tenant));
    if let Sites::Only(ids) = cx.grants.sites(CamerasRead) {
        q = q.filter(camera::Column::SiteId.is_in(ids));
    }
    let cameras = q.order_by_asc(camera::Column::Name).all(&cx.tx).await?;
    Ok(HttpResponse::Ok().json(cameras))
}

/// Adds a camera to a site.
#[utoipa::path(post, path = "/api/v1/cameras", tag = "cameras", security(("bearer" = [])),
    request_body = NewCamera, responses((status = 201, body = camera::Model)))]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<NewCamera>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    cx.require_anywhere(CamerasWrite)?;
    let site = sites::visible(&cx, body.site_id).await?;
    super::require_on_site(&cx, CamerasWrite, site.id)?;
    check_relay(&cx, body.relay_id, site.id).await?;
    let name = input::name("name", &body.name)?;
    let source_url = input::camera_source(&body.source_url)?;
    let retention_days = input::retention_days(body.retention_days.unwrap_or(30))?;
    let segment_secs = segment_secs(body.segment_secs.unwrap_or(4))?;
    let credentials = seal_credentials(&cx, body.relay_id, &body.username, &body.password).await?;

    let now = Utc::now();
    let cam = camera::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(cx.tenant),
        site_id: Set(site.id),
        relay_id: Set(body.relay_id),
        name: Set(name),
        source_url: Set(source_url),
        retention_days: Set(retention_days),
        status: Set("pending".into()),
        created_at: Set(now),
        updated_at: Set(now),
        credentials_sealed: Set(credentials),
        segment_secs: Set(segment_secs),
        ..Default::default()
    }
    .insert(&cx.tx)
    .await?;

    cx.audit(
        "camera.create",
        Some(("camera", cam.id)),
        json!({ "name": cam.name, "site_id": cam.site_id }),
    )
    .await?;
    cx.commit().await?;
    if let Some(relay) = cam.relay_id {
        state.hub.config_changed(relay);
    }
    Ok(HttpResponse::Created().json(cam))
}

/// 400 unless `secs` is a sane segment length.
fn segment_secs(secs: i32) -> ApiResult<i32> {
    if !(1..=60).contains(&secs) {
        return Err(ApiError::invalid("segment_secs must be 1 to 60"));
    }
    Ok(secs)
}

/// Seals `user:password` to the X25519 key of `relay`; `None` if neither
/// is given. 400 if only one is, or the camera has no enrolled relay.
async fn seal_credentials(
    cx: &TenantCx,
    relay: Option<Uuid>,
    username: &Option<String>,
    password: &Option<Secret<String>>,
) -> ApiResult<Option<String>> {
    let (user, pass) = match (username, password) {
        (None, None) => return Ok(None),
        (Some(u), Some(p)) => (u, p.expose()),
        _ => return Err(ApiError::invalid("give username and password together")),
    };
    let printable = |s: &str| s.chars().all(|c| !c.is_control());
    if user.is_empty() || user.len() > 128 || user.contains(':') || !printable(user) {
        return Err(ApiError::invalid(
            "username must be 1 to 128 characters, without ':'",
        ));
    }
    if pass.len() > 256 || !printable(pass) {
        return Err(ApiError::invalid(
            "password must be at most 256 printable characters",
        ));
    }

    let no_relay = || ApiError::invalid("camera credentials need an enrolled relay (relay_id)");
    let relay = relays::visible(cx, relay.ok_or_else(no_relay)?).await?;
    let key = relay.sealing_key.ok_or_else(no_relay)?;
    let plain = Secret::new(format!("{user}:{pass}"));
    let sealed = sealed::seal(&key, plain.expose().as_bytes())
        .ok_or_else(|| ApiError::internal("relay sealing key unusable"))?;
    Ok(Some(sealed))
}

async fn check_relay(cx: &TenantCx, relay: Option<Uuid>, site: Uuid) -> ApiResult<()> {
    let Some(id) = relay else { return Ok(()) };
    let relay = relays::visible(cx, id).await?;
    if relay.site_id != site {
        return Err(ApiError::invalid(
            "relay_id must name a relay on the camera's site",
        ));
    }
    if relay.status == "revoked" {
        return Err(ApiError::invalid("relay_id names a revoked relay"));
    }
    Ok(())
}

/// One camera.
#[utoipa::path(get, path = "/api/v1/cameras/{id}", tag = "cameras", security(("bearer" = [])),
    responses((status = 200, body = camera::Model), (status = 404)))]
pub async fn get(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    let cam = visible(&cx, *id).await?;
    Ok(HttpResponse::Ok().json(cam))
}

/// Changes a camera's name, source, relay or retention.
#[utoipa::path(patch, path = "/api/v1/cameras/{id}", tag = "cameras", security(("bearer" = [])),
    request_body = CameraPatch, responses((status = 200, body = camera::Model), (status = 404)))]
pub async fn update(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: web::Json<CameraPatch>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    let cam = visible(&cx, *id).await?;
    super::require_on_site(&cx, CamerasWrite, cam.site_id)?;
    if let Some(relay) = body.relay_id {
        check_relay(&cx, relay, cam.site_id).await?;
    }
    let relay_after = body.relay_id.unwrap_or(cam.relay_id);
    let credentials = seal_credentials(&cx, relay_after, &body.username, &body.password).await?;
    if relay_after != cam.relay_id && cam.credentials_sealed.is_some() && credentials.is_none() {
        return Err(ApiError::invalid(
            "the camera's credentials are sealed to its current relay: \
             send username and password again to move it",
        ));
    }

    let before = cam.clone();
    let mut active: camera::ActiveModel = cam.into();
    if let Some(v) = &body.name {
        active.name = Set(input::name("name", v)?);
    }
    if let Some(v) = &body.source_url {
        active.source_url = Set(input::camera_source(v)?);
    }
    if let Some(v) = body.relay_id {
        active.relay_id = Set(v);
    }
    if let Some(v) = body.retention_days {
        active.retention_days = Set(input::retention_days(v)?);
    }
    if let Some(v) = body.segment_secs {
        active.segment_secs = Set(segment_secs(v)?);
    }
    if credentials.is_some() {
        active.credentials_sealed = Set(credentials);
    }
    active.updated_at = Set(Utc::now());
    let cam = active.update(&cx.tx).await?;

    let details = json!({ "name": cam.name, "changed": changed_fields(&before, &cam) });
    cx.audit("camera.update", Some(("camera", cam.id)), details)
        .await?;
    cx.commit().await?;
    for relay in [before.relay_id, cam.relay_id].into_iter().flatten() {
        state.hub.config_changed(relay);
    }
    Ok(HttpResponse::Ok().json(cam))
}

/// The fields an update changed (the source URL by name only: it may
/// name an internal host the log need not repeat).
fn changed_fields(a: &camera::Model, b: &camera::Model) -> Vec<&'static str> {
    let mut out = vec![];
    if a.name != b.name {
        out.push("name");
    }
    if a.source_url != b.source_url {
        out.push("source_url");
    }
    if a.relay_id != b.relay_id {
        out.push("relay_id");
    }
    if a.retention_days != b.retention_days {
        out.push("retention_days");
    }
    if a.segment_secs != b.segment_secs {
        out.push("segment_secs");
    }
    if a.credentials_sealed != b.credentials_sealed {
        out.push("credentials");
    }
    out
}

/// Removes a camera.
#[utoipa::path(delete, path = "/api/v1/cameras/{id}", tag = "cameras", security(("bearer" = [])),
    responses((status = 204), (status = 404)))]
pub async fn delete(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    let cam = visible(&cx, *id).await?;
    super::require_on_site(&cx, CamerasWrite, cam.site_id)?;

    let (cam_id, name, relay) = (cam.id, cam.name.clone(), cam.relay_id);
    cam.delete(&cx.tx).await?;

    cx.audit(
        "camera.delete",
        Some(("camera", cam_id)),
        json!({ "name": name }),
    )
    .await?;
    cx.commit().await?;
    if let Some(relay) = relay {
        state.hub.config_changed(relay);
    }
    Ok(HttpResponse::NoContent().finish())
}

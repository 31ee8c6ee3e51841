//! The route table: every `/api/v1` route, in one place.
//!
//! `ROUTES` lists (method, path) for each, generated from the same macro
//! call that registers the handlers; the OpenAPI test checks the document
//! covers exactly these, and the cross-tenant test walks all of them, so a
//! new route cannot be forgotten by either.

pub mod access_grants;
pub mod bindings;
pub mod cameras;
pub mod guard;
pub mod input;
pub mod pages;
pub mod relays;
pub mod roles;
pub mod segments;
pub mod sites;
pub mod tenants;
pub mod users;

use crate::audit::routes as audit;
use crate::auth::{routes as auth, TenantCx};
use crate::error::{ApiError, ApiResult};
use crate::live::routes as live;
use actix_web::web;
use argus_core::Permission;
use uuid::Uuid;

macro_rules! route_table {
    ($($method:ident $path:literal => $handler:path;)*) => {
        /// Every api route as (method, path template).
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        /// Registers every route of `ROUTES`, then the browser pages (`pages.rs`).
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $( cfg.route($path, web::$method().to($handler)); )*
            cfg.route("/live-test", web::get().to(pages::live_test));
        }
    };
}

route_table! {
    post "/api/v1/auth/login" => auth::login;
    post "/api/v1/auth/refresh" => auth::refresh;
    post "/api/v1/auth/logout" => auth::logout;
    get "/api/v1/me" => auth::me;

    get "/api/v1/tenants" => tenants::list;
    post "/api/v1/tenants" => tenants::create;
    get "/api/v1/tenants/{id}" => tenants::get;
    post "/api/v1/tenants/{id}/suspend" => tenants::suspend;
    post "/api/v1/tenants/{id}/resume" => tenants::resume;
    post "/api/v1/tenants/{id}/admins" => tenants::create_admin;
    post "/api/v1/tenants/{id}/access-grants" => tenants::create_grant;

    get "/api/v1/users" => users::list;
    post "/api/v1/users" => users::create;
    get "/api/v1/users/{id}" => users::get;
    patch "/api/v1/users/{id}" => users::update;
    delete "/api/v1/users/{id}" => users::delete;

    get "/api/v1/roles" => roles::list;
    post "/api/v1/roles" => roles::create;
    get "/api/v1/roles/{id}" => roles::get;
    patch "/api/v1/roles/{id}" => roles::update;
    delete "/api/v1/roles/{id}" => roles::delete;

    get "/api/v1/role-bindings" => bindings::list;
    post "/api/v1/role-bindings" => bindings::create;
    delete "/api/v1/role-bindings/{id}" => bindings::delete;

    get "/api/v1/sites" => sites::list;
    post "/api/v1/sites" => sites::create;
    get "/api/v1/sites/{id}" => sites::get;
    patch "/api/v1/sites/{id}" => sites::update;
    delete "/api/v1/sites/{id}" => sites::delete;

    get "/api/v1/cameras" => cameras::list;
    post "/api/v1/cameras" => cameras::create;
    get "/api/v1/cameras/{id}" => cameras::get;
    patch "/api/v1/cameras/{id}" => cameras::update;
    delete "/api/v1/cameras/{id}" => cameras::delete;
    get "/api/v1/cameras/{id}/segments" => segments::list;
    get "/api/v1/cameras/{id}/segments/{segment_id}/mp4" => segments::mp4;
    post "/api/v1/cameras/{id}/whep" => live::whep;
    get "/api/v1/live/sessions" => crate::live::stats::sessions;
    delete "/api/v1/live/sessions/{id}" => live::end;
    patch "/api/v1/live/sessions/{id}" => live::trickle;

    get "/api/v1/relays" => relays::list;
    post "/api/v1/relays" => relays::create;
    get "/api/v1/relays/{id}" => relays::get;
    patch "/api/v1/relays/{id}" => relays::update;
    delete "/api/v1/relays/{id}" => relays::delete;
    post "/api/v1/relays/{id}/claim-code" => relays::claim_code;

    get "/api/v1/access-grants" => access_grants::list;
    get "/api/v1/access-grants/{id}" => access_grants::get;
    delete "/api/v1/access-grants/{id}" => access_grants::revoke;

    get "/api/v1/audit" => audit::list;
    get "/api/v1/audit/verify" => audit::verify;
    get "/api/v1/audit/export" => audit::export;
}

/// What a request no route took gets: `405` with `Allow` when its path is
/// an api route's under another method (a WHEP client's `GET` or
/// `OPTIONS`, say), else `404`; both with the JSON error body.
pub async fn unmatched(req: actix_web::HttpRequest) -> actix_web::HttpResponse {
    use actix_web::dev::ResourceDef;
    use actix_web::ResponseError;
    static TEMPLATES: std::sync::LazyLock<Vec<(&str, ResourceDef)>> =
        std::sync::LazyLock::new(|| {
            ROUTES
                .iter()
                .map(|(m, path)| (*m, ResourceDef::new(*path)))
                .collect()
        });
    let path = req.path();
    let allowed: Vec<String> = TEMPLATES
        .iter()
        .filter(|(_, def)| def.is_match(path))
        .map(|(method, _)| method.to_ascii_uppercase())
        .collect();
    if allowed.is_empty() {
        return ApiError::not_found("route").error_response();
    }
    let allow = allowed.join(", ");
    let message = format!("{} is not allowed here; allowed: {allow}", req.method());
    let mut res = ApiError::new(crate::error::Kind::MethodNotAllowed, message).error_response();
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&allow) {
        res.headers_mut().insert(actix_web::http::header::ALLOW, v);
    }
    res
}

/// Requires `perm` on `site` for an object the caller can already see:
/// 403, since the object's existence is no secret to them.
pub fn require_on_site(cx: &TenantCx, perm: Permission, site: Uuid) -> ApiResult<()> {
    if cx.grants.on_site(perm, site) {
        return Ok(());
    }
    let name = crate::auth::context::perm_name(perm);
    Err(ApiError::forbidden(format!(
        "missing permission {name} on this site"
    )))
}

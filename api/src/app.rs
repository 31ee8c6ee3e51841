//! Assembles the HTTP server: middleware, extractor limits and their
//! errors, the route table, health, metrics and the API docs.

use crate::error::{ApiError, Kind};
use crate::openapi::ApiDoc;
use crate::state::AppState;
use crate::telemetry;
use actix_web::error::JsonPayloadError;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpResponse, HttpServer};
use sea_orm::ConnectionTrait;
use std::net::TcpListener;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// Largest JSON body accepted.
const MAX_JSON: usize = 64 * 1024;

/// Everything one app instance serves.
pub fn configure(state: web::Data<AppState>) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg| {
        cfg.app_data(state.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(MAX_JSON)
                    .error_handler(json_error),
            )
            .app_data(
                web::PathConfig::default()
                    .error_handler(|_, _| ApiError::not_found("object").into()),
            )
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|e, _| ApiError::invalid(e.to_string()).into()),
            )
            .configure(crate::routes::configure)
            .configure(crate::relay_api::configure)
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz))
            .route("/metrics", web::get().to(metrics))
            .route("/api/docs", web::get().to(docs_redirect))
            .service(SwaggerUi::new("/api/docs/{_:.*}").url("/api/openapi.json", ApiDoc::openapi()))
            .default_service(web::to(crate::routes::unmatched));
    }
}

/// `/api/docs` → `/api/docs/`, where Swagger UI lives.
async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header(("Location", "/api/docs/"))
        .finish()
}

/// Maps a JSON extractor failure to the api's error body.
pub(crate) fn json_error(err: JsonPayloadError, _: &actix_web::HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::new(
            Kind::PayloadTooLarge,
            format!("body larger than {limit} bytes"),
        ),
        JsonPayloadError::ContentType => {
            ApiError::new(Kind::UnsupportedMediaType, "body must be application/json")
        }
        JsonPayloadError::Deserialize(e) => ApiError::invalid(format!("invalid JSON body: {e}")),
        other => ApiError::invalid(format!("unreadable body: {other}")),
    };
    api.into()
}

/// Starts serving on `listener`; the returned server runs until stopped.
pub fn serve(
    state: web::Data<AppState>,
    listener: TcpListener,
    workers: usize,
) -> std::io::Result<actix_web::dev::Server> {
    if let Some(me) = state.live.cfg.node_url.clone() {
        let weak = std::sync::Arc::downgrade(&state.clone().into_inner());
        tokio::spawn(crate::live::nodes::run(weak, me));
    }
    let config = configure(state);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(telemetry::observe))
            .configure(config.clone())
    })
    .workers(workers)
    // A stop (SIGTERM) waits this long for requests in flight, well within
    // a container runtime's grace period.
    .shutdown_timeout(5)
    .listen(listener)?
    .run();
    Ok(server)
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let probe = sea_orm::Statement::from_string(state.db.get_database_backend(), "SELECT 1");
    match state.db.execute(probe).await {
        Ok(_) => HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })),
        Err(e) => {
            tracing::warn!(error = %e, "database not reachable");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({
                "error": { "code": "unavailable", "message": "database not reachable" }
            }))
        }
    }
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

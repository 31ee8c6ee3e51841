//! Logs and metrics.
//!
//! Every request runs in a span named `request` carrying `http.route`,
//! `http.request.method`, and `tenant.id` / `enduser.id` (empty until the
//! token is verified); when it ends, one event records the status and
//! `duration_ms`, at a level that follows the status. Bodies, headers and
//! query strings are never logged: they carry passwords and tokens.
//! Prometheus counts requests and their latency by route and status.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Data;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};
use std::time::Instant;
use tracing::{field::Empty, Instrument};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber: text, or JSON lines when `format` is `json`.
pub fn init_logging(format: &str, filter: &str) {
    let filter = argus_core::logging::with_quiet_webrtc(filter);
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = if format == "json" {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
    } else {
        builder.try_init()
    };
}

/// The Prometheus registry and the request metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
}

impl Metrics {
    pub fn new() -> Self {
        let labels = &["method", "route", "status"];
        let requests = IntCounterVec::new(
            Opts::new("argus_http_requests_total", "HTTP requests"),
            labels,
        )
        .expect("valid metric");
        let buckets = vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ];
        let opts = HistogramOpts::new("argus_http_request_duration_seconds", "HTTP latency")
            .buckets(buckets);
        let latency = HistogramVec::new(opts, labels).expect("valid metric");
        let registry = Registry::new();
        registry
            .register(Box::new(requests.clone()))
            .expect("register");
        registry
            .register(Box::new(latency.clone()))
            .expect("register");
        Self {
            registry,
            requests,
            latency,
        }
    }

    fn observe(&self, method: &str, route: &str, status: u16, secs: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(secs);
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Middleware: the request span, the request's log event, and its metrics.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let state = req.app_data::<Data<crate::state::AppState>>().cloned();
    let span = tracing::info_span!("request", http.route = %route, http.request.method = %method,
        tenant.id = Empty, enduser.id = Empty);
    let started = Instant::now();

    let res = next.call(req).instrument(span.clone()).await;

    let status = match &res {
        Ok(r) => r.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    let elapsed = started.elapsed();
    let duration_ms = elapsed.as_secs_f64() * 1000.0;
    // A 503 says "not now" (a camera with no video yet), not that the api failed.
    span.in_scope(|| match status {
        503 => tracing::warn!(http.response.status_code = status, duration_ms, "request"),
        500.. => tracing::error!(http.response.status_code = status, duration_ms, "request"),
        400..=499 => tracing::warn!(http.response.status_code = status, duration_ms, "request"),
        _ => tracing::info!(http.response.status_code = status, duration_ms, "request"),
    });
    if let Some(state) = state {
        state
            .metrics
            .observe(&method, &route, status, elapsed.as_secs_f64());
    }
    res
}

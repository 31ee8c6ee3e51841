//! The Argus cloud api: tenants, users, roles, sites, cameras, relays and
//! the audit log over REST (actix-web), stored with sea-orm on PostgreSQL
//! or, for `argus dev`, SQLite.
//!
//! A request flows through `telemetry::observe` (span, log line, metrics),
//! the route table in `routes`, the `auth::Auth` extractor (token), then
//! `Auth::tenant` (session check, grants, tenant-scoped transaction), the
//! handler, and `error::ApiError` for every failure.

pub mod app;
pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod config;
pub mod control;
pub mod db;
pub mod entity;
pub mod error;
pub mod keys;
pub mod live;
pub mod openapi;
pub mod rbac;
pub mod relay_api;
pub mod routes;
pub mod state;
pub mod storage;
pub mod telemetry;

pub use config::Config;
pub use state::AppState;

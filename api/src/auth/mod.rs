//! Authentication: passwords, access tokens, sessions, login throttling,
//! and the `Auth` extractor that protected routes take.

pub mod context;
pub mod keys;
pub mod limiter;
pub mod login;
pub mod password;
pub mod routes;
pub mod session;
pub mod token;

pub use context::{Auth, PlatformAuth, PlatformCx, TenantCx};

//! Types shared by every Argus component.
//!
//! This crate is linked by the cloud api and by the on-site relay, so
//! it holds no server code: only plain data types and the rules that both
//! sides must agree on.

pub mod envelope;
pub mod logging;
pub mod permission;
pub mod relay_token;
pub mod sealed;
pub mod secret;
pub mod wire;

pub use permission::Permission;
pub use secret::Secret;

//! sea-orm entities, one per table of `migrations/`.

pub mod audit_event;
pub mod audit_head;
pub mod camera;
pub mod platform_admin;
pub mod platform_grant;
pub mod refresh_token;
pub mod relay;
pub mod role;
pub mod role_binding;
pub mod session;
pub mod site;
pub mod tenant;
pub mod user;

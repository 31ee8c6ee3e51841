//! sea-orm entities, one per table of `migrations/`.

pub mod audit_event;
pub mod audit_head;
pub mod camera;
pub mod data_key;
pub mod init_segment;
pub mod platform_admin;
pub mod platform_grant;
pub mod recording_gap;
pub mod refresh_token;
pub mod relay;
pub mod role;
pub mod role_binding;
pub mod segment;
pub mod session;
pub mod site;
pub mod tenant;
pub mod tenant_key;
pub mod user;

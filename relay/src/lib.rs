//! The Argus relay: runs on a customer's site, pulls its IP cameras over
//! RTSP, cuts their video into fMP4 segments, encrypts each one and pushes
//! it to object storage over outbound connections only.
//!
//! Data flow, one module per step:
//! `source` (RTSP via retina, or the simulated camera) → `segmenter` and
//! `fmp4` (keyframe-aligned fragments) → `recorder` (one task per camera,
//! reconnecting) → `segment` events → `spool` (encrypted, bounded on-disk
//! buffer) → `uplink` (slot, PUT, commit) and `control` (the WebSocket to
//! the cloud). `identity` holds the relay's keys; `cloud` signs requests.

pub mod cloud;
pub mod config;
pub mod control;
pub mod fmp4;
pub mod identity;
pub mod recorder;
pub mod segment;
pub mod segmenter;
pub mod source;
pub mod spool;
pub mod uplink;

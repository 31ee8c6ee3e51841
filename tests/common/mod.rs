//! Shared by the end-to-end tests: the stack as processes, a GStreamer
//! camera, a link that can be cut, and checks on the recorded video.

#![allow(dead_code)]

pub mod browser;
pub mod camera;
pub mod catalog;
pub mod media;
pub mod proxy;
pub mod rest;
pub mod setup;
pub mod stack;

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("argus-{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

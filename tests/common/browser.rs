//! Live view in a real browser: `tests/browser/watch.mjs` drives Debian's
//! headless Chromium (playwright-core) on the api's `/live-test` page and
//! prints what each viewer decoded as one JSON line, parsed here.
//!
//! The access token travels only in the page URL's fragment, and no
//! message here prints that URL. `scripts/ensure-test-tools.sh` installs
//! Chromium and the npm packages.

use super::rest::{call, Admin};
use super::stack::PASSWORD;
use serde_json::{json, Value};
use std::path::Path;
use uuid::Uuid;

const WATCH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/watch.mjs");

/// The picture of one viewer's last frame, as `argusLive.pixels()` saw it.
#[derive(Debug, Clone, Copy)]
pub struct Pixels {
    pub mean: f64,
    pub stddev: f64,
    pub distinct_colors: u64,
}

/// What one viewer heard over the window (`getStats` of its audio track).
#[derive(Debug, Clone, Default)]
pub struct Audio {
    /// `audio/opus`, `audio/PCMU`…; `None`: no audio packet arrived.
    pub mime: Option<String>,
    pub packets_per_sec: f64,
    /// Decoded samples per second (48 000 when audio plays smoothly).
    pub samples_per_sec: f64,
    /// The last audio level, 0 (silence) to 1.
    pub level: f64,
    /// Share of the samples Chromium made up for lost or undecodable audio.
    pub concealed_share: f64,
    /// Mean power of the decoded audio (`totalAudioEnergy` per second; silence 0).
    pub power: f64,
}

/// What one viewer (a Chromium tab) saw over the watch window.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub state: String,
    pub error: Option<String>,
    /// `framesDecoded` at the start and the end of the window.
    pub frames: (u64, u64),
    /// Frames decoded per second over the window.
    pub fps: f64,
    pub window_secs: f64,
    pub first_frame_ms: Option<f64>,
    pub size: (u64, u64),
    pub pixels: Pixels,
    /// Status of the DELETE that ended the session.
    pub delete_status: Option<u64>,
    pub audio: Audio,
}

/// One run of `watch.mjs`: its viewers, and its stderr for messages.
pub struct Watch {
    pub viewers: Vec<Viewer>,
    pub success: bool,
    pub stderr: String,
}

fn num(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(0.0)
}

fn viewer(v: &Value) -> Viewer {
    let p = &v["pixels"];
    Viewer {
        state: v["state"].as_str().unwrap_or("").to_string(),
        error: v["error"].as_str().map(str::to_string),
        frames: (
            num(v, "framesDecodedT0") as u64,
            num(v, "framesDecodedT1") as u64,
        ),
        fps: num(v, "fps"),
        window_secs: num(v, "windowSecs"),
        first_frame_ms: v["firstFrameMs"].as_f64(),
        size: (num(v, "width") as u64, num(v, "height") as u64),
        pixels: Pixels {
            mean: num(p, "mean"),
            stddev: num(p, "stddev"),
            distinct_colors: num(p, "distinctColors") as u64,
        },
        delete_status: v["deleteStatus"].as_u64(),
        audio: audio(&v["audio"]),
    }
}

fn audio(a: &Value) -> Audio {
    Audio {
        mime: a["mimeType"].as_str().map(str::to_string),
        packets_per_sec: num(a, "packetsPerSec"),
        samples_per_sec: num(a, "samplesPerSec"),
        level: num(a, "level"),
        concealed_share: num(a, "concealedShare"),
        power: num(a, "power"),
    }
}

/// Watches `camera` as `token` from `viewers` tabs for `seconds`; saves
/// a screenshot of each tab (`shot`, then `shot-2.png`, …).
pub async fn watch(
    api: &str,
    camera: Uuid,
    token: &str,
    (seconds, viewers): (u32, u32),
    shot: &Path,
) -> Watch {
    let modules = Path::new(WATCH).with_file_name("node_modules");
    assert!(
        modules.join("playwright-core").exists(),
        "{} is missing: run scripts/ensure-test-tools.sh",
        modules.display()
    );
    let url = format!("{api}/live-test#camera={camera}&token={token}");
    let out = tokio::process::Command::new("node")
        .arg(WATCH)
        .args(["--url", &url, "--seconds", &seconds.to_string()])
        .args(["--viewers", &viewers.to_string(), "--timeout", "40"])
        .arg("--screenshot")
        .arg(shot)
        .output()
        .await
        .expect("node runs (scripts/ensure-test-tools.sh)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let line = stdout.lines().last().unwrap_or("");
    let parsed: Value = serde_json::from_str(line)
        .unwrap_or_else(|_| panic!("watch.mjs printed no JSON line; stderr: {stderr}"));
    let list = parsed["viewers"].as_array().cloned().unwrap_or_default();
    Watch {
        viewers: list.iter().map(viewer).collect(),
        success: out.status.success(),
        stderr,
    }
}

/// A user of the admin's tenant with the built-in `viewer` role (live view
/// only) on `site`; returns an access token for them.
pub async fn live_viewer(admin: &Admin, site: Uuid, email: &str, tenant: &str) -> String {
    let body = json!({ "email": email, "password": PASSWORD });
    let user = admin.req("post", "/api/v1/users", Some(body), 201).await;
    let roles = admin.req("get", "/api/v1/roles", None, 200).await;
    let viewer = roles
        .as_array()
        .unwrap_or_else(|| panic!("no role list in {roles}"))
        .iter()
        .find(|r| r["name"] == "viewer")
        .expect("built-in role viewer");
    let binding = json!({ "user_id": user["id"], "role_id": viewer["id"], "site_id": site });
    admin
        .req("post", "/api/v1/role-bindings", Some(binding), 201)
        .await;

    let login = json!({ "email": email, "password": PASSWORD, "tenant": tenant });
    let url = format!("{}/api/v1/auth/login", admin.base);
    let v = call(&admin.http, "post", &url, None, Some(login), 200).await;
    v["access_token"].as_str().unwrap().to_string()
}

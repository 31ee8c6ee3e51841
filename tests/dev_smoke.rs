//! `argus dev` as a user runs it: start on a fresh data dir, read the URL
//! and generated logins it prints, log in, create a site and a camera,
//! restart, and find everything still there (SQLite on disk). On the way,
//! watch the simulated camera live in headless Chromium, as the printed
//! live-view page would.

mod common;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Dev {
    child: Child,
    lines: Vec<String>,
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `argus dev` and reads its stdout until the data line.
fn start(dir: &std::path::Path, port: u16) -> Dev {
    let mut child = Command::new(env!("CARGO_BIN_EXE_argus"))
        .args([
            "dev",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir)
        .env_remove("ARGUS_BOOTSTRAP_ADMIN_PASSWORD")
        .env_remove("ARGUS_DEMO_ADMIN_PASSWORD")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("argus dev starts");
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut lines = vec![];
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        let done = line.trim_start().starts_with("data:");
        lines.push(line);
        if done {
            break;
        }
    }
    Dev { child, lines }
}

fn password_of(lines: &[String], who: &str) -> Option<String> {
    let line = lines.iter().find(|l| l.contains(who))?;
    let pw = line.split("password: ").nth(1)?.trim().to_string();
    (!pw.starts_with('(')).then_some(pw)
}

async fn wait_healthy(base: &str) {
    for _ in 0..100 {
        if reqwest::get(format!("{base}/healthz"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("argus dev did not become healthy at {base}");
}

async fn login(http: &reqwest::Client, base: &str, pw: &str) -> String {
    let res: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "email": "admin@demo.local", "password": pw, "tenant": "demo" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    res["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("login failed: {res}"))
        .to_string()
}

/// The simulated camera plays live in Chromium: frames at its rate, a real
/// picture. Prints how long the first frame took (not a timed assertion).
async fn watch_live(base: &str, camera: &Value, token: &str, dir: &std::path::Path) {
    let id = camera["id"].as_str().unwrap().parse().unwrap();
    let shot = dir.join("dev-live.png");
    let w = common::browser::watch(base, id, token, (4, 1), &shot).await;
    assert!(w.success, "watching live failed: {}", w.stderr);
    let v = &w.viewers[0];
    assert!(
        v.frames.1 > v.frames.0 && v.fps > 10.0,
        "not playing: {:?}",
        v.fps
    );
    assert!(
        v.pixels.stddev > 5.0 && v.pixels.distinct_colors > 4,
        "blank picture"
    );
    eprintln!(
        "argus dev: first live frame {:?} ms after the WHEP POST",
        v.first_frame_ms
    );
}

#[tokio::test]
async fn dev_mode_prints_logins_and_keeps_data_across_restarts() {
    let dir = std::env::temp_dir().join(format!("argus-dev-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();

    let dev = start(&dir, port);
    let out = dev.lines.concat();
    assert!(out.contains(&base), "URL not printed: {out}");
    let pw = password_of(&dev.lines, "demo tenant admin").expect("generated demo password printed");
    assert!(
        password_of(&dev.lines, "platform admin").is_some(),
        "platform login printed: {out}"
    );
    wait_healthy(&base).await;

    let token = login(&http, &base, &pw).await;
    let auth = format!("Bearer {token}");
    let cams: Value = http
        .get(format!("{base}/api/v1/cameras"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        cams[0]["source_url"], "sim://demo",
        "the simulated camera exists: {cams}"
    );
    assert!(
        out.contains(&format!("{base}/live-test")),
        "live view page not printed: {out}"
    );
    watch_live(&base, &cams[0], &token, &dir).await;
    let site: Value = http
        .post(format!("{base}/api/v1/sites"))
        .header("authorization", &auth)
        .json(&json!({ "name": "Warehouse" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cam = http
        .post(format!("{base}/api/v1/cameras"))
        .header("authorization", &auth)
        .json(&json!({
            "site_id": site["id"], "name": "Dock door", "source_url": "rtsp://192.0.2.7/stream1"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(cam.status(), 201);
    drop(dev);

    // Second run: same data; passwords are not printed again.
    let dev = start(&dir, port);
    assert!(
        password_of(&dev.lines, "demo tenant admin").is_none(),
        "password printed twice"
    );
    wait_healthy(&base).await;
    let token = login(&http, &base, &pw).await;
    let cams: Value = http
        .get(format!("{base}/api/v1/cameras"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = cams
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Dock door"),
        "camera survived the restart: {names:?}"
    );
    let verify: Value = http
        .get(format!("{base}/api/v1/audit/verify"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        verify["ok"], true,
        "audit chain on SQLite verifies: {verify}"
    );
    drop(dev);

    // A forgotten password is reset from the command line, and audited.
    let out = Command::new(env!("CARGO_BIN_EXE_argus"))
        .args(["admin", "--data-dir"])
        .arg(&dir)
        .args([
            "set-password",
            "--email",
            "admin@demo.local",
            "--tenant",
            "demo",
        ])
        .output()
        .expect("argus admin runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let new_pw = stdout.split(": ").last().unwrap().trim().to_string();
    let dev = start(&dir, port);
    wait_healthy(&base).await;
    let token = login(&http, &base, &new_pw).await;
    let events: Value = http
        .get(format!("{base}/api/v1/audit?action=auth.password_reset"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(events["events"][0]["actor_kind"], "system", "{events}");
    drop(dev);
    let _ = std::fs::remove_dir_all(&dir);
}

//! Shared by the recorder's integration tests: run the recorder on a camera,
//! collect its events, write them to disk and ask ffprobe what they are, and
//! start the GStreamer RTSP camera (`tests/camera/rtsp_camera.py`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use argus_core::wire::control::CameraHealth;
use argus_core::wire::CameraConfig;
use argus_core::Secret;
use argus_relay::recorder::{self, RecorderOptions};
use argus_relay::segment::{Gap, InitSegment, MediaSegment, RecorderEvent};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

/// Panics with a clear message when a tool the test needs is missing.
pub fn require_tool(name: &str) {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "{name} is required for this test: run scripts/ensure-test-tools.sh"
    );
}

/// A camera config for tests.
pub fn camera(url: &str, segment_secs: u32) -> CameraConfig {
    CameraConfig {
        id: Uuid::new_v4(),
        name: "test camera".into(),
        source_url: url.into(),
        credentials: None,
        segment_secs,
    }
}

/// A running recorder and what it sent so far.
pub struct Recording {
    pub rx: mpsc::Receiver<RecorderEvent>,
    pub health: watch::Receiver<CameraHealth>,
    pub task: tokio::task::JoinHandle<()>,
    pub events: Vec<RecorderEvent>,
}

/// Starts the recorder on `cam`.
pub fn start(cam: CameraConfig, creds: Option<&str>, opts: RecorderOptions) -> Recording {
    let (tx, rx) = mpsc::channel(256);
    let (htx, health) = watch::channel(CameraHealth::connecting(cam.id));
    let creds = creds.map(|c| Secret::new(c.to_string()));
    let task = tokio::spawn(recorder::run_with(cam, creds, tx, htx, opts));
    Recording {
        rx,
        health,
        task,
        events: Vec::new(),
    }
}

impl Recording {
    /// Collects events until `done` says so, or panics after `limit`.
    pub async fn until(&mut self, limit: Duration, done: impl Fn(&[RecorderEvent]) -> bool) {
        let deadline = tokio::time::Instant::now() + limit;
        while !done(&self.events) {
            let ev = tokio::time::timeout_at(deadline, self.rx.recv()).await;
            match ev {
                Ok(Some(ev)) => self.events.push(ev),
                Ok(None) => panic!("recorder stopped"),
                Err(_) => panic!("timed out; got {}", summary(&self.events)),
            }
        }
    }

    pub fn media(&self) -> Vec<&MediaSegment> {
        self.events
            .iter()
            .filter_map(|e| match e {
                RecorderEvent::Media(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    pub fn gaps(&self) -> Vec<&Gap> {
        self.events
            .iter()
            .filter_map(|e| match e {
                RecorderEvent::Gap(g) => Some(g),
                _ => None,
            })
            .collect()
    }

    pub fn inits(&self) -> Vec<&InitSegment> {
        self.events
            .iter()
            .filter_map(|e| match e {
                RecorderEvent::Init(i) => Some(i),
                _ => None,
            })
            .collect()
    }
}

pub fn media_count(events: &[RecorderEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, RecorderEvent::Media(_)))
        .count()
}

fn summary(events: &[RecorderEvent]) -> String {
    let kinds: Vec<_> = events
        .iter()
        .map(|e| match e {
            RecorderEvent::Init(_) => "init".to_string(),
            RecorderEvent::Media(_) => "media".to_string(),
            RecorderEvent::Gap(g) => format!("gap:{}", g.reason),
        })
        .collect();
    kinds.join(",")
}

/// Checks the recorder's ordering and timing rules on `events`: init before
/// its segments, ids deterministic, runs contiguous, nothing overlapping.
pub fn check_invariants(events: &[RecorderEvent]) {
    let mut inits = std::collections::HashSet::new();
    let mut prev: Option<&MediaSegment> = None;
    for ev in events {
        match ev {
            RecorderEvent::Init(i) => {
                inits.insert(i.id);
            }
            RecorderEvent::Media(m) => {
                assert!(inits.contains(&m.init_id), "init sent before its segments");
                assert_eq!(
                    m.id,
                    argus_core::wire::ids::segment_id(m.camera_id, m.start_us())
                );
                assert!(m.end > m.start);
                if let Some(p) = prev {
                    assert!(
                        m.start >= p.end,
                        "segments overlap: {:?} < {:?}",
                        m.start,
                        p.end
                    );
                    if p.run_id == m.run_id {
                        assert_eq!(p.end, m.start, "segments of a run are contiguous");
                    }
                }
                prev = Some(m);
            }
            RecorderEvent::Gap(g) => {
                assert!(g.end > g.start);
                if let Some(p) = prev {
                    assert_eq!(g.start, p.end, "a gap starts where recording stopped");
                }
            }
        }
    }
}

/// What ffprobe says about a file.
#[derive(Debug)]
pub struct Probe {
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub duration: f64,
}

/// Writes the init and the run's segments to `dir`, plus their concatenation.
pub fn write_run(dir: &Path, init: &InitSegment, segs: &[&MediaSegment]) -> PathBuf {
    std::fs::write(dir.join("init.mp4"), &init.bytes).unwrap();
    let mut all = init.bytes.clone();
    for (i, s) in segs.iter().enumerate() {
        assert_eq!(s.init_id, init.id);
        std::fs::write(dir.join(format!("seg{i:04}.m4s")), &s.bytes).unwrap();
        all.extend_from_slice(&s.bytes);
    }
    let path = dir.join("all.mp4");
    std::fs::write(&path, &all).unwrap();
    // To look at a recording: ARGUS_KEEP_RECORDINGS=/some/dir.
    if let Ok(keep) = std::env::var("ARGUS_KEEP_RECORDINGS") {
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::write(
            Path::new(&keep).join(format!("{}.mp4", init.camera_id)),
            &all,
        )
        .unwrap();
    }
    path
}

/// ffprobe's codec, size and duration, after a full decode by ffmpeg
/// succeeds without errors.
pub fn probe(path: &Path) -> Probe {
    require_tool("ffprobe");
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .args([
            "stream=codec_name,width,height:format=duration",
            "-of",
            "default=nw=1",
        ])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "ffprobe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k} in {text}"))
            .to_string()
    };

    let decode = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-xerror", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    let errors = String::from_utf8_lossy(&decode.stderr);
    assert!(
        decode.status.success() && errors.trim().is_empty(),
        "decode errors: {errors}"
    );
    Probe {
        codec: field("codec_name"),
        width: field("width").parse().unwrap(),
        height: field("height").parse().unwrap(),
        duration: field("duration").parse().unwrap(),
    }
}

/// Sum of the segments' durations in seconds.
pub fn recorded_secs(segs: &[&MediaSegment]) -> f64 {
    segs.iter()
        .map(|s| (s.end - s.start).num_microseconds().unwrap() as f64 / 1e6)
        .sum()
}

/// The GStreamer RTSP camera of `tests/camera/rtsp_camera.py`; killed on drop.
pub struct RtspCamera {
    pub url: String,
    child: Child,
}

impl RtspCamera {
    /// Starts the camera with extra flags and waits for its READY line.
    pub async fn start(args: &[&str]) -> Self {
        require_tool("gst-launch-1.0");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/camera/rtsp_camera.py");
        let mut child = Command::new("/usr/bin/python3")
            .arg(script)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start rtsp_camera.py");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(15), lines.next_line()).await;
        let line = ready
            .expect("camera READY in time")
            .unwrap()
            .expect("camera printed READY");
        let url = line.strip_prefix("READY ").expect("READY line").to_string();
        Self { url, child }
    }

    /// The port the camera listens on.
    pub fn port(&self) -> String {
        self.url
            .rsplit_once(':')
            .unwrap()
            .1
            .split('/')
            .next()
            .unwrap()
            .to_string()
    }

    /// Kills the camera (like a power cut).
    pub async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }
}

/// Options with short backoff for tests.
pub fn fast_options() -> RecorderOptions {
    RecorderOptions {
        backoff_min: Duration::from_millis(200),
        backoff_max: Duration::from_secs(1),
        ..Default::default()
    }
}

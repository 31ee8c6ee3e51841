//! A simulated IP camera: GStreamer's RTSP server on loopback
//! (`tests/camera/rtsp_camera.py`), killed when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// How the camera streams.
#[derive(Clone)]
pub struct CameraOpts {
    pub codec: &'static str,
    pub size: (u32, u32),
    pub fps: u32,
    /// Frames between keyframes.
    pub gop: u32,
    pub user: Option<(&'static str, &'static str)>,
    /// An audio track (a tone) in this codec: `pcmu`, `pcma`, `opus`, `aac`.
    pub audio: Option<&'static str>,
}

impl Default for CameraOpts {
    fn default() -> Self {
        Self {
            codec: "h264",
            size: (640, 360),
            fps: 25,
            gop: 25,
            user: None,
            audio: None,
        }
    }
}

/// A running camera.
pub struct Camera {
    /// `rtsp://127.0.0.1:PORT/cam`, without credentials.
    pub url: String,
    pub port: u16,
    opts: CameraOpts,
    child: Option<Child>,
}

impl Camera {
    pub fn start(opts: CameraOpts) -> Self {
        let port = super::stack::free_port();
        let mut cam = Self {
            url: format!("rtsp://127.0.0.1:{port}/cam"),
            port,
            opts,
            child: None,
        };
        cam.restart();
        cam
    }

    /// Starts the camera again on the same port (after [`Camera::stop`]),
    /// as a rebooted camera comes back.
    pub fn restart(&mut self) {
        self.stop();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/camera/rtsp_camera.py");
        let o = &self.opts;
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(script)
            .args(["--port", &self.port.to_string(), "--path", "cam"])
            .args(["--codec", o.codec, "--fps", &o.fps.to_string()])
            .args(["--size", &format!("{}x{}", o.size.0, o.size.1)])
            .args(["--gop", &o.gop.to_string()]);
        if let Some((u, p)) = o.user {
            cmd.args(["--user", u, "--password", p]);
        }
        if let Some(codec) = o.audio {
            cmd.args(["--audio", codec]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 with GStreamer (scripts/ensure-test-tools.sh)");
        wait_ready(&mut child);
        self.child = Some(child);
    }

    /// Kills the camera, as a power cut does.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        self.stop();
    }
}

fn wait_ready(child: &mut Child) {
    let out = child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.starts_with("READY") => break,
            Some(Ok(_)) => continue,
            _ => panic!("the GStreamer camera exited before it was ready"),
        }
    }
    // Keep draining its stdout so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
}

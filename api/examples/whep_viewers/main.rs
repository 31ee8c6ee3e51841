//! A load client for `bench/live_view.sh` (issue #4): N receive-only
//! WebRTC viewers of one stream, from Argus (WHEP) or from Janus's streaming
//! plugin, that count the RTP packets they get, while the CPU time of the
//! server process is read from `/proc/PID/stat` over the same window.
//!
//! ```text
//! whep_viewers --target argus --url http://127.0.0.1:8080 --camera ID --token JWT \
//!     [--viewers 10] [--warmup 5] [--seconds 20] [--pid PID] [--bind 127.0.0.1]
//! whep_viewers --target janus --url http://10.231.0.2:8088/janus --mountpoint 1 ...
//! ```
//!
//! Prints one JSON line: per-viewer packets in the window, the server's
//! and this client's CPU in % of one core, and the time from asking to
//! watch (WHEP POST, Janus `watch`) to each viewer's first RTP packet. A SIGTERM or Ctrl-C ends the
//! window early (the line is still printed). Invariants: all viewers are
//! connected (or given up on, and listed in `failed`) before the warm-up
//! starts; every session is ended on its server before exiting.

mod peer;
mod signal;

use peer::Peer;
use serde_json::json;
use signal::Leave;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

struct Opts {
    args: HashMap<String, String>,
}

impl Opts {
    fn parse() -> anyhow::Result<Self> {
        let argv: Vec<String> = std::env::args().skip(1).collect();
        let mut args = HashMap::new();
        for pair in argv.chunks(2) {
            let key = pair[0].strip_prefix("--");
            let (Some(key), Some(value)) = (key, pair.get(1)) else {
                anyhow::bail!("arguments are --key value pairs (see the file's doc)");
            };
            args.insert(key.to_string(), value.clone());
        }
        Ok(Self { args })
    }

    fn get(&self, key: &str, default: Option<&str>) -> anyhow::Result<String> {
        let value = self.args.get(key).map(String::as_str).or(default);
        value
            .map(str::to_string)
            .ok_or_else(|| anyhow::anyhow!("--{key} is required"))
    }

    fn num(&self, key: &str, default: &str) -> anyhow::Result<u64> {
        Ok(self.get(key, Some(default))?.parse()?)
    }
}

/// CPU seconds (user + system, all threads) of process `pid`.
fn cpu_secs(pid: &str, hz: f64) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<f64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    (fields.get(11).unwrap_or(&0.0) + fields.get(12).unwrap_or(&0.0)) / hz
}

/// An open viewer: its connection, how to leave, when it asked to watch.
type Viewer = (Peer, Leave, Instant);

/// Opens one viewer: connection, signaling, wait for ICE + DTLS.
async fn open(opts: &Opts, http: &reqwest::Client) -> anyhow::Result<Viewer> {
    let mut peer = Peer::new(&opts.get("bind", Some("127.0.0.1"))?).await?;
    let url = opts.get("url", None)?;
    let (leave, asked) = match opts.get("target", None)?.as_str() {
        "argus" => {
            let camera = opts.get("camera", None)?;
            let token = opts.get("token", None)?;
            signal::argus(http, &mut peer, &url, &camera, &token).await?
        }
        "janus" => signal::janus(http, &mut peer, &url, opts.num("mountpoint", "1")?).await?,
        other => anyhow::bail!("unknown --target {other} (argus or janus)"),
    };
    if !peer.connected(20).await {
        leave.leave(http).await;
        anyhow::bail!("not connected within 20 s");
    }
    Ok((peer, leave, asked))
}

/// Milliseconds from asking to watch to the first RTP packet, per viewer.
fn first_packet_ms(viewers: &[Viewer]) -> Vec<u64> {
    let mut ms: Vec<u64> = viewers
        .iter()
        .filter_map(|(p, _, asked)| p.counters.first.get().map(|t| (*t - *asked).as_millis()))
        .map(|m| m as u64)
        .collect();
    ms.sort_unstable();
    ms
}

/// Sleeps `secs`, or less if SIGTERM / Ctrl-C comes first.
async fn window(secs: u64) {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs(secs)) => {}
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

#[tokio::main(worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let opts = std::sync::Arc::new(Opts::parse()?);
    let (n, secs) = (opts.num("viewers", "1")?, opts.num("seconds", "20")?);
    let pid = opts.get("pid", Some("self"))?;
    let hz = opts.num("hz", "100")? as f64;
    let http = reqwest::Client::new();

    let mut opening = JoinSet::new();
    for _ in 0..n {
        let (opts, http) = (opts.clone(), http.clone());
        opening.spawn(async move { open(&opts, &http).await });
    }
    let (mut viewers, mut failed) = (vec![], vec![]);
    while let Some(r) = opening.join_next().await {
        match r? {
            Ok(v) => viewers.push(v),
            Err(e) => failed.push(format!("{e:#}")),
        }
    }
    tokio::time::sleep(Duration::from_secs(opts.num("warmup", "5")?)).await;

    let first_ms = first_packet_ms(&viewers);
    let before: Vec<(u64, u64)> = viewers.iter().map(|(p, ..)| p.counters.get()).collect();
    let (t0, s0, c0) = (Instant::now(), cpu_secs(&pid, hz), cpu_secs("self", hz));
    window(secs).await;
    let (t1, s1, c1) = (Instant::now(), cpu_secs(&pid, hz), cpu_secs("self", hz));
    let after: Vec<(u64, u64)> = viewers.iter().map(|(p, ..)| p.counters.get()).collect();

    for (peer, leave, _) in viewers {
        leave.leave(&http).await;
        let _ = peer.pc.close().await;
    }
    let span = (t1 - t0).as_secs_f64();
    let packets: Vec<u64> = before.iter().zip(&after).map(|(b, a)| a.0 - b.0).collect();
    let bytes: u64 = before.iter().zip(&after).map(|(b, a)| a.1 - b.1).sum();
    let got = packets.len().max(1) as f64;
    let line = json!({
        "target": opts.get("target", None)?,
        "viewers": n,
        "connected": packets.len(),
        "failed": failed,
        "window_secs": (span * 1000.0).round() / 1000.0,
        "server_cpu_pct": ((s1 - s0) / span * 1000.0).round() / 10.0,
        "client_cpu_pct": ((c1 - c0) / span * 1000.0).round() / 10.0,
        "packets": packets,
        "pps_per_viewer": (packets.iter().sum::<u64>() as f64 / got / span).round(),
        "kbps_per_viewer": (bytes as f64 * 8.0 / got / span / 1000.0).round(),
        "first_packet_ms_p50": first_ms.get(first_ms.len() / 2),
        "first_packet_ms_max": first_ms.last(),
    });
    println!("{line}");
    Ok(())
}

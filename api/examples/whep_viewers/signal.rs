//! Signaling for the two servers the benchmark compares, ending in the
//! same kind of [`Peer`]:
//!
//! - Argus: WHEP (RFC 9725): POST our offer with the bearer token, get 201,
//!   the answer and `Location`; DELETE that to leave.
//! - Janus 1.1's streaming plugin over its HTTP API: create a session,
//!   attach `janus.plugin.streaming`, `watch` a mountpoint, long-poll the
//!   session for the plugin's offer, answer with `start`, keep the session
//!   alive every 15 s until we `destroy` it.
//!
//! Invariant: every viewer this returns has had its answer applied; what
//! it needs to leave is in [`Leave`], with the instant its request to
//! watch went out (the WHEP POST, Janus's `watch`).

use crate::peer::Peer;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// How to end one viewer's session on its server.
pub enum Leave {
    Argus {
        session_url: String,
        token: String,
    },
    Janus {
        session_url: String,
        keepalive: JoinHandle<()>,
    },
}

impl Leave {
    pub async fn leave(self, http: &reqwest::Client) {
        match self {
            Leave::Argus { session_url, token } => {
                let _ = http.delete(session_url).bearer_auth(token).send().await;
            }
            Leave::Janus {
                session_url,
                keepalive,
            } => {
                keepalive.abort();
                let _ = janus_post(http, &session_url, json!({ "janus": "destroy" })).await;
            }
        }
    }
}

/// Watches camera `camera` on the Argus api at `base` over WHEP.
pub async fn argus(
    http: &reqwest::Client,
    peer: &mut Peer,
    base: &str,
    camera: &str,
    token: &str,
) -> anyhow::Result<(Leave, Instant)> {
    let offer = peer.offer().await?;
    let url = format!("{base}/api/v1/cameras/{camera}/whep");
    let posted = Instant::now();
    let res = http
        .post(&url)
        .bearer_auth(token)
        .header("content-type", "application/sdp")
        .body(offer)
        .send()
        .await?;
    let status = res.status();
    let location = res.headers().get("location").cloned();
    let answer = res.text().await?;
    anyhow::ensure!(status.as_u16() == 201, "WHEP POST: {status} {answer}");

    let location = location.ok_or_else(|| anyhow::anyhow!("WHEP answer has no Location"))?;
    let location = location.to_str()?;
    peer.accept(answer).await?;
    let leave = Leave::Argus {
        session_url: format!("{base}{location}"),
        token: token.to_string(),
    };
    Ok((leave, posted))
}

fn transaction() -> String {
    format!("t{:016x}", rand::random::<u64>())
}

/// POSTs one Janus request (a transaction id added); the reply's JSON.
async fn janus_post(http: &reqwest::Client, url: &str, mut body: Value) -> anyhow::Result<Value> {
    body["transaction"] = json!(transaction());
    let reply: Value = http.post(url).json(&body).send().await?.json().await?;
    anyhow::ensure!(reply["janus"] != "error", "Janus {url}: {reply}");
    Ok(reply)
}

/// Long-polls the session until an event brings a JSEP offer.
async fn janus_offer(http: &reqwest::Client, session_url: &str) -> anyhow::Result<String> {
    for _ in 0..10 {
        let url = format!("{session_url}?maxev=5&rid={}", rand::random::<u32>());
        let reply: Value = http.get(&url).send().await?.json().await?;
        let events = reply.as_array().cloned().unwrap_or_else(|| vec![reply]);
        for e in events {
            if let Some(err) = e["plugindata"]["data"].get("error") {
                anyhow::bail!("Janus watch: {err}");
            }
            if let Some(sdp) = e["jsep"]["sdp"].as_str() {
                return Ok(sdp.to_string());
            }
        }
    }
    anyhow::bail!("Janus sent no offer")
}

/// Watches mountpoint `mountpoint` of the Janus at `base` (`…/janus`).
pub async fn janus(
    http: &reqwest::Client,
    peer: &mut Peer,
    base: &str,
    mountpoint: u64,
) -> anyhow::Result<(Leave, Instant)> {
    let created = janus_post(http, base, json!({ "janus": "create" })).await?;
    let session_url = format!("{base}/{}", created["data"]["id"]);
    let attach = json!({ "janus": "attach", "plugin": "janus.plugin.streaming" });
    let attached = janus_post(http, &session_url, attach).await?;
    let handle_url = format!("{session_url}/{}", attached["data"]["id"]);

    let watch = json!({ "janus": "message", "body": { "request": "watch", "id": mountpoint } });
    let asked = Instant::now();
    janus_post(http, &handle_url, watch).await?;
    let offer = janus_offer(http, &session_url).await?;
    let answer = peer.answer(offer).await?;
    let start = json!({
        "janus": "message",
        "body": { "request": "start" },
        "jsep": { "type": "answer", "sdp": answer },
    });
    janus_post(http, &handle_url, start).await?;
    let done = json!({ "janus": "trickle", "candidate": { "completed": true } });
    janus_post(http, &handle_url, done).await?;

    let keepalive = tokio::spawn(keep_alive(http.clone(), session_url.clone()));
    let leave = Leave::Janus {
        session_url,
        keepalive,
    };
    Ok((leave, asked))
}

async fn keep_alive(http: reqwest::Client, session_url: String) {
    loop {
        tokio::time::sleep(Duration::from_secs(15)).await;
        let _ = janus_post(&http, &session_url, json!({ "janus": "keepalive" })).await;
    }
}

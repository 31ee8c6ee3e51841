//! Cameras whose DESCRIBE answer breaks the rules: an SDP without its `s=`
//! line (RFC 8866 §5.3 requires one) still records. A small TCP proxy on
//! loopback sits between the recorder and the GStreamer camera and removes
//! the line from the answer, the rest of the connection passing untouched.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// SDP answers the proxy rewrote.
static REWRITTEN: AtomicUsize = AtomicUsize::new(0);

/// Listens on loopback; every connection is forwarded to `upstream`, with
/// the first SDP answer's `s=` line removed.
async fn sdp_rewriting_proxy(upstream: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let camera = TcpStream::connect(&upstream).await.unwrap();
                let _ = forward(client, camera).await;
            });
        }
    });
    format!("127.0.0.1:{port}")
}

async fn forward(client: TcpStream, camera: TcpStream) -> std::io::Result<()> {
    let (mut cr, mut cw) = client.into_split();
    let (mut ur, mut uw) = camera.into_split();
    tokio::spawn(async move { tokio::io::copy(&mut cr, &mut uw).await });

    // Camera → client: whole responses until the SDP answer went by (it is
    // rewritten), then a plain copy.
    let mut buf = Vec::new();
    loop {
        let mut chunk = [0u8; 4096];
        let n = ur.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        while let Some((out, used, was_sdp)) = take_response(&buf) {
            cw.write_all(&out).await?;
            buf.drain(..used);
            if was_sdp {
                REWRITTEN.fetch_add(1, Ordering::SeqCst);
                cw.write_all(&buf).await?;
                tokio::io::copy(&mut ur, &mut cw).await?;
                return Ok(());
            }
        }
    }
}

/// The first whole response in `buf`: (what to send on, bytes used, whether
/// it was the SDP answer, whose `s=` line is then removed).
fn take_response(buf: &[u8]) -> Option<(Vec<u8>, usize, bool)> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_string())
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let body = std::str::from_utf8(buf.get(head_end..head_end + len)?).ok()?;
    if !head.to_ascii_lowercase().contains("application/sdp") {
        return Some((buf[..head_end + len].to_vec(), head_end + len, false));
    }

    let stripped: String = body
        .split_inclusive("\r\n")
        .filter(|l| !l.starts_with("s="))
        .collect();
    assert_ne!(
        stripped.len(),
        body.len(),
        "the SDP had an s= line to remove"
    );
    let head = head.replace(
        &format!("Content-Length: {len}"),
        &format!("Content-Length: {}", stripped.len()),
    );
    Some((
        format!("{head}{stripped}").into_bytes(),
        head_end + len,
        true,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdp_without_session_name_records() {
    let cam = RtspCamera::start(&["--port", "0", "--size", "320x240", "--gop", "25"]).await;
    let proxy = sdp_rewriting_proxy(format!("127.0.0.1:{}", cam.port())).await;
    let url = format!("rtsp://{proxy}/cam");

    let mut rec = start(camera(&url, 1), None, fast_options());
    rec.until(Duration::from_secs(25), |ev| media_count(ev) >= 2)
        .await;
    rec.task.abort();

    check_invariants(&rec.events);
    assert!(
        REWRITTEN.load(Ordering::SeqCst) >= 1,
        "the camera was reached through the proxy"
    );
    let dir = tempfile::tempdir().unwrap();
    let p = probe(&write_run(dir.path(), rec.inits()[0], &rec.media()));
    assert_eq!((p.codec.as_str(), p.width, p.height), ("h264", 320, 240));
}

#[test]
fn the_proxy_really_removes_the_line() {
    let options = "RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n";
    let (out, used, sdp) = take_response(options.as_bytes()).unwrap();
    assert_eq!(
        (out.len(), used, sdp),
        (options.len(), options.len(), false)
    );

    let answer = "RTSP/1.0 200 OK\r\nContent-Type: application/sdp\r\nContent-Length: 19\r\n\r\n\
                  v=0\r\ns=Cam\r\nt=0 0\r\n$\x00";
    let (out, used, sdp) = take_response(answer.as_bytes()).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.ends_with("Content-Length: 12\r\n\r\nv=0\r\nt=0 0\r\n"),
        "{out}"
    );
    assert_eq!((used, sdp), (answer.len() - 2, true));
    assert!(
        take_response(&answer.as_bytes()[..60]).is_none(),
        "waits for the whole body"
    );
}

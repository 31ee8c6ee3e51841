//! A TCP proxy on loopback that can cut the link, as a WAN outage does.
//!
//! While cut, connections already open stop carrying bytes and new ones
//! are accepted but never answered: like packets dropped on the way, the
//! relay sees timeouts rather than a polite refusal. Restoring closes the
//! stalled connections so the relay's retries start afresh.

use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A running proxy; dropping it stops it.
pub struct Proxy {
    pub addr: SocketAddr,
    cut: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Forwards a new loopback port to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, watch) = watch::channel(false);
        let watch = Arc::new(watch);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(pipe(client, upstream, (*watch).clone()));
            }
        });
        Self { addr, cut, task }
    }

    /// The proxy's URL with scheme `http`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts the outage.
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// Ends the outage.
    pub fn restore(&self) {
        self.cut.send_replace(false);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pipe(client: TcpStream, upstream: SocketAddr, mut cut: watch::Receiver<bool>) {
    let outage = *cut.borrow();
    if outage {
        // Accepted, never answered; closed when the outage ends.
        let _held = client;
        until(&mut cut, false).await;
        return;
    }
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = copy_until_cut(&mut cr, &mut sw, cut.clone());
    let down = copy_until_cut(&mut sr, &mut cw, cut.clone());
    tokio::select! {
        _ = up => {}
        _ = down => {}
        _ = outage_ends(cut) => {}
    }
}

/// Resolves once an outage has started and ended again.
async fn outage_ends(mut cut: watch::Receiver<bool>) {
    until(&mut cut, true).await;
    until(&mut cut, false).await;
}

/// Resolves when the link's state is `cut` (holding no lock after).
async fn until(watch: &mut watch::Receiver<bool>, cut: bool) {
    let _ = watch.wait_for(|c| *c == cut).await.map(|_| ());
}

/// Copies until EOF, an error, or the outage (then stalls, holding bytes).
async fn copy_until_cut(
    from: &mut (impl AsyncReadExt + Unpin),
    to: &mut (impl AsyncWriteExt + Unpin),
    mut cut: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = tokio::select! {
            r = from.read(&mut buf) => match r { Ok(0) | Err(_) => return, Ok(n) => n },
            _ = until(&mut cut, true) => std::future::pending().await,
        };
        let stalled = *cut.borrow();
        if stalled {
            std::future::pending::<()>().await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

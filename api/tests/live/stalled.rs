//! A WHEP viewer the test can freeze: its peer runs on a runtime of its
//! own, on a thread of its own, and [`Frozen::stall`] blocks that thread,
//! so nothing reads its socket or answers for it: a frozen browser tab, or
//! a viewer whose link stops draining. The rest of the test runs on.

use super::common::TestApp;
use super::peers;
use super::viewing::post_sdp;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// What the test asks of the viewer's thread.
enum Ask {
    Stall(Duration),
    Close,
}

pub struct Frozen {
    pub packets: mpsc::UnboundedReceiver<peers::Received>,
    pub session: String,
    asks: mpsc::UnboundedSender<Ask>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Watches `camera` with a viewer on a thread of its own; returns once it
/// is connected.
pub async fn watch(app: &TestApp, token: &str, camera: Uuid) -> Frozen {
    let (offer_tx, offer_rx) = oneshot::channel();
    let (answer_tx, answer_rx) = oneshot::channel::<String>();
    let (up_tx, up_rx) = oneshot::channel();
    let (asks, asked) = mpsc::unbounded_channel();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(run(offer_tx, answer_rx, up_tx, asked));
    });

    let (offer, packets) = offer_rx.await.expect("the viewer's offer");
    let path = format!("/api/v1/cameras/{camera}/whep");
    let (status, headers, answer) = post_sdp(app, &path, token, "application/sdp", offer).await;
    assert_eq!(status, 201, "WHEP: {answer}");
    let session = headers["location"].to_str().unwrap().to_string();
    answer_tx.send(answer).unwrap();
    up_rx.await.expect("the frozen viewer connected");
    Frozen {
        packets,
        session,
        asks,
        thread: Some(thread),
    }
}

/// The viewer's thread: offer, answer, connect, then do as asked.
async fn run(
    offer_tx: oneshot::Sender<(String, mpsc::UnboundedReceiver<peers::Received>)>,
    answer_rx: oneshot::Receiver<String>,
    up_tx: oneshot::Sender<()>,
    mut asked: mpsc::UnboundedReceiver<Ask>,
) {
    let (mut peer, packets) = peers::viewer().await;
    let offer = peer.offer().await;
    let _ = offer_tx.send((offer, packets));
    let Ok(answer) = answer_rx.await else {
        return;
    };
    peer.accept(answer).await;
    peer.connected().await;
    let _ = up_tx.send(());

    while let Some(Ask::Stall(d)) = asked.recv().await {
        // Blocks the runtime: every task of this peer stands still.
        std::thread::sleep(d);
    }
    let _ = peer.pc.close().await;
}

impl Frozen {
    /// Freezes the viewer for `d`, starting now.
    pub fn stall(&self, d: Duration) {
        self.asks.send(Ask::Stall(d)).unwrap();
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        let _ = self.asks.send(Ask::Close);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

//! Sending one camera to its viewers (the WHEP side of the SFU).
//!
//! One task per watched camera ([`task`]) owns every viewer's connection,
//! sans-IO (`rtc`: ICE lite, DTLS-SRTP, NACK responder, sender reports),
//! and one UDP socket per local address, shared by those viewers. Each
//! packet of the camera is rewritten and encrypted for every viewer in one
//! pass, and all the datagrams go out with one `sendmmsg`, a viewer's
//! packets of a frame as one GSO message ([`send`]): the cost of a viewer
//! is its SRTP and its share of a syscall, not a task, a socket and a
//! wake-up per packet.
//!
//! [`Egress`] is the handle: routes hand it negotiated viewers
//! ([`conn::negotiate`]), trickled candidates and departures. The task ends
//! once it has no viewer and no handle is left.

pub mod conn;
mod send;
mod settle;
pub mod socket;
mod task;

use super::CameraLive;
use rtc::peer_connection::transport::RTCIceCandidateInit;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// Called once when a viewer's connection is gone, for whatever reason.
pub type Ended = Box<dyn FnOnce() + Send>;

/// What a handle asks of the task.
enum Cmd {
    /// A new viewer; the reply says it is in (its ICE checks are known).
    Join(Box<conn::Conn>, Ended, oneshot::Sender<()>),
    Leave(Uuid),
    Candidate(
        Uuid,
        RTCIceCandidateInit,
        oneshot::Sender<Result<(), String>>,
    ),
}

/// A running egress.
#[derive(Clone)]
pub struct Egress {
    tx: mpsc::Sender<Cmd>,
    /// The local addresses of its sockets: the viewers' host candidates.
    pub addrs: Arc<Vec<SocketAddr>>,
}

impl Egress {
    /// Binds the sockets on `udp_addrs` and starts the task sending `cam`.
    pub fn start(cam: Arc<CameraLive>, udp_addrs: &[String]) -> std::io::Result<Self> {
        let sockets = socket::bind(udp_addrs)?;
        let addrs = sockets
            .iter()
            .map(|s| s.local_addr())
            .collect::<std::io::Result<Vec<_>>>()?;
        let (tx, rx) = mpsc::channel(256);
        tokio::spawn(task::run(task::Task::new(cam, sockets, addrs.clone()), rx));
        Ok(Self {
            tx,
            addrs: Arc::new(addrs),
        })
    }

    /// Hands the task a negotiated viewer; `ended` runs when it is gone.
    /// Returns once the task knows the viewer, so the viewer's first ICE
    /// check (sent as soon as it has the answer) is not taken for a
    /// stranger's and dropped (it would be retried only ~250 ms later).
    pub async fn join(&self, conn: conn::Conn, ended: Ended) {
        let (reply, joined) = oneshot::channel();
        if let Err(mpsc::error::SendError(Cmd::Join(_, ended, _))) =
            self.tx.send(Cmd::Join(Box::new(conn), ended, reply)).await
        {
            tracing::error!("live egress task is gone");
            ended();
            return;
        }
        let _ = joined.await;
    }

    /// Whether the task is gone (it only ends once no handle is left, so
    /// this means it failed).
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Ends viewer `id`'s connection.
    pub async fn leave(&self, id: Uuid) {
        let _ = self.tx.send(Cmd::Leave(id)).await;
    }

    /// A remote ICE candidate the viewer trickled.
    pub async fn add_candidate(&self, id: Uuid, init: RTCIceCandidateInit) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Cmd::Candidate(id, init, reply))
            .await
            .map_err(|_| "the session ended".to_string())?;
        answer.await.map_err(|_| "the session ended".to_string())?
    }
}

//! The loop of one camera's egress: the camera's packets, the viewers'
//! datagrams, their timers and the handles' commands, in one task.
//!
//! Each turn handles whatever woke it, then settles every connection that
//! something happened to (its events, its timer, its queued datagrams) and
//! sends all datagrams at once. Invariants: a viewer's first video packet
//! starts a keyframe (the GOP this task keeps, replayed when the viewer's
//! connection comes up, or the next keyframe); a viewer's connection is
//! closed and its `ended` called exactly once.

use super::conn::{Conn, Phase};
use super::send::Sender;
use super::settle::{drain, events, phase_over, Change};
use super::socket::{self, Datagram};
use super::{Cmd, Ended};
use crate::live::{camera, h264, CameraLive};
use rtc::rtp;
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Most packets taken from a queue per turn.
const BATCH: usize = 64;

/// Longest a frame's first packets wait for the rest of the frame.
const FRAME_HOLD: Duration = Duration::from_millis(2);

/// Most datagrams read from a socket per turn.
const READ_BURST: usize = 64;

/// When nothing is due: wake anyway this often.
const IDLE: Duration = Duration::from_secs(3600);

struct Viewer {
    conn: Conn,
    ended: Option<Ended>,
    /// Live, but waiting for a keyframe (nothing was cached when it came up).
    want_key: bool,
}

/// The task's state.
pub(super) struct Task {
    id: Uuid,
    cam: Arc<CameraLive>,
    sockets: Vec<UdpSocket>,
    local: Vec<SocketAddr>,
    viewers: HashMap<Uuid, Viewer>,
    /// Which viewer each remote address is.
    by_addr: HashMap<SocketAddr, Uuid>,
    gop: Vec<rtp::Packet>,
    /// The fan-out's generation `gop` belongs to.
    generation: u64,
    out: Vec<Datagram>,
    sender: Sender,
    buf: Vec<u8>,
}

impl Task {
    pub(super) fn new(
        cam: Arc<CameraLive>,
        sockets: Vec<UdpSocket>,
        local: Vec<SocketAddr>,
    ) -> Self {
        Self {
            id: Uuid::new_v4(),
            cam,
            sockets,
            local,
            viewers: HashMap::new(),
            by_addr: HashMap::new(),
            gop: Vec::new(),
            generation: 0,
            out: Vec::new(),
            sender: Sender { gso: true },
            buf: vec![0; 2048],
        }
    }
}

/// Runs until no viewer is left and every handle is dropped.
pub(super) async fn run(t: Task, cmds: mpsc::Receiver<Cmd>) {
    use tracing::Instrument;
    let span = tracing::info_span!("live.egress", camera.id = %t.cam.id);
    turns(t, cmds).instrument(span).await
}

async fn turns(mut t: Task, mut cmds: mpsc::Receiver<Cmd>) {
    t.generation = t.cam.fanout.generation();
    let (gop, mut video) = t.cam.fanout.subscribe(t.id);
    t.gop = gop;
    let (_, mut audio) = t.cam.audio.subscribe(t.id);
    let (mut vbatch, mut abatch) = (Vec::with_capacity(BATCH), Vec::with_capacity(BATCH));
    let (mut open, mut audio_open) = (true, true);
    let mut held: Vec<rtp::Packet> = Vec::with_capacity(BATCH);
    let mut hold_until: Option<tokio::time::Instant> = None;
    loop {
        t.settle(Instant::now());
        t.sender.send_all(&t.sockets, &mut t.out).await;
        if !open && t.viewers.is_empty() {
            break;
        }

        let wake = tokio::time::Instant::from_std(t.next_wake());
        tokio::select! {
            // Commands first (a viewer joins before its datagrams are read),
            // then the viewers' few datagrams, then the camera's many.
            biased;
            cmd = cmds.recv(), if open => match cmd {
                Some(cmd) => t.command(cmd),
                None => open = false,
            },
            i = socket::readable(&t.sockets) => t.read(i),
            n = video.recv_many(&mut vbatch, BATCH) => {
                if n == 0 {
                    break;
                }
                // A frame's packets come in a burst: sent together (one GSO
                // message per viewer) once its last one (the marker) is in.
                let frame_done = vbatch.last().is_some_and(|p| p.header.marker);
                held.append(&mut vbatch);
                if frame_done || held.len() >= BATCH {
                    t.video(held.drain(..));
                    hold_until = None;
                } else if hold_until.is_none() {
                    hold_until = Some(tokio::time::Instant::now() + FRAME_HOLD);
                }
            }
            _ = sleep_until_some(hold_until) => {
                t.video(held.drain(..));
                hold_until = None;
            }
            n = audio.recv_many(&mut abatch, BATCH), if audio_open => {
                audio_open = n > 0;
                let now = Instant::now();
                for pkt in abatch.drain(..) {
                    t.live().for_each(|v| v.conn.send_audio(&pkt, now));
                }
            }
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
    t.cam.fanout.unsubscribe(t.id);
    t.cam.audio.unsubscribe(t.id);
    let left: Vec<Uuid> = t.viewers.keys().copied().collect();
    left.into_iter().for_each(|id| t.end(id, "egress stopped"));
}

/// Sleeps until `at`; never, without one.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl Task {
    fn live(&mut self) -> impl Iterator<Item = &mut Viewer> {
        self.viewers.values_mut().filter(|v| v.conn.is_live())
    }

    fn command(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Join(conn, ended, reply) => {
                let viewer = Viewer {
                    conn: *conn,
                    ended: Some(ended),
                    want_key: false,
                };
                self.viewers.insert(viewer.conn.id, viewer);
                let _ = reply.send(());
            }
            Cmd::Leave(id) => self.end(id, "left"),
            Cmd::Candidate(id, init, reply) => {
                let res = match self.viewers.get_mut(&id) {
                    Some(v) => {
                        v.conn.dirty = true;
                        v.conn
                            .pc
                            .add_remote_candidate(init)
                            .map_err(|e| e.to_string())
                    }
                    None => Err("the session ended".into()),
                };
                let _ = reply.send(res);
            }
        }
    }

    /// The camera's video: kept in the GOP, sent to every live viewer.
    fn video(&mut self, pkts: impl Iterator<Item = rtp::Packet>) {
        let now = Instant::now();
        self.forget_old_gop();
        for pkt in pkts {
            let key = h264::starts_keyframe(&pkt.payload);
            camera::cache(&mut self.gop, &pkt, key);
            for v in self.live() {
                if v.want_key && !key {
                    continue;
                }
                v.want_key = false;
                v.conn.send_video(&pkt, now);
            }
        }
    }

    /// Drops the GOP kept of an ingest that ended (a viewer coming up
    /// then waits for the next ingest's keyframe, not a stale picture).
    fn forget_old_gop(&mut self) {
        let now = self.cam.fanout.generation();
        if now != self.generation {
            self.gop.clear();
            self.generation = now;
        }
    }

    /// Reads what `sockets[i]` has and hands each datagram to its viewer.
    fn read(&mut self, i: usize) {
        let now = Instant::now();
        for _ in 0..READ_BURST {
            let (n, from) = match self.sockets[i].try_recv_from(&mut self.buf) {
                Ok(got) => got,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::debug!(error = %e, "live egress socket read failed");
                    return;
                }
            };
            let Some(id) = self.viewer_of(from, n) else {
                continue;
            };
            let Some(v) = self.viewers.get_mut(&id) else {
                continue;
            };
            let early = !v.conn.ice_up && !socket::is_stun(&self.buf[..n]);
            let msg = TaggedBytesMut {
                now,
                transport: TransportContext {
                    local_addr: self.local[i],
                    peer_addr: from,
                    ecn: None,
                    transport_protocol: TransportProtocol::UDP,
                },
                message: bytes::BytesMut::from(&self.buf[..n]),
            };
            if early {
                v.conn.hold_early(msg);
                continue;
            }
            if let Err(e) = v.conn.pc.handle_read(msg) {
                tracing::trace!(session.id = %id, error = %e, "viewer datagram refused");
            }
            v.conn.dirty = true;
        }
    }

    /// The viewer a datagram of `n` bytes in `buf` from `from` belongs to:
    /// known by its address, or learnt from a STUN check's username.
    fn viewer_of(&mut self, from: SocketAddr, n: usize) -> Option<Uuid> {
        if let Some(id) = self.by_addr.get(&from) {
            return Some(*id);
        }
        let username = socket::stun_username(&self.buf[..n])?;
        let ufrag = socket::local_ufrag(&username);
        let v = self.viewers.values().find(|v| v.conn.ufrag == ufrag)?;
        self.by_addr.insert(from, v.conn.id);
        Some(v.conn.id)
    }

    /// Settles every viewer something happened to: due timers, events,
    /// the GOP for a viewer just up, queued datagrams; ends the dead.
    fn settle(&mut self, now: Instant) {
        self.forget_old_gop();
        let mut dead = Vec::new();
        for v in self.viewers.values_mut() {
            if v.conn.timer.is_some_and(|t| t <= now) {
                if let Err(e) = v.conn.pc.handle_timeout(now) {
                    tracing::trace!(session.id = %v.conn.id, error = %e, "viewer timer");
                }
                v.conn.dirty = true;
            }
            if let Some(why) = phase_over(&v.conn.phase, now) {
                dead.push((v.conn.id, why));
                continue;
            }
            if !v.conn.dirty {
                continue;
            }
            match events(&mut v.conn, now) {
                Some(Change::Up) => {
                    v.want_key = self.gop.is_empty();
                    let cached = self.gop.len();
                    tracing::debug!(session.id = %v.conn.id, cached, "viewer up");
                    self.gop.iter().for_each(|p| v.conn.send_video(p, now));
                }
                Some(Change::Gone(why)) => dead.push((v.conn.id, why)),
                None => {}
            }
            drain(&mut v.conn, &self.local, &mut self.out);
        }
        for (id, why) in dead {
            self.end(id, why);
        }
    }

    /// The earliest timer or phase deadline of any viewer.
    fn next_wake(&self) -> Instant {
        let idle = Instant::now() + IDLE;
        let due = self.viewers.values().flat_map(|v| {
            let phase = match v.conn.phase {
                Phase::Connecting { until } | Phase::Lost { until } => Some(until),
                Phase::Live => None,
            };
            v.conn.timer.into_iter().chain(phase)
        });
        due.min().unwrap_or(idle)
    }

    /// Closes viewer `id`'s connection and calls its `ended`.
    fn end(&mut self, id: Uuid, why: &str) {
        let Some(mut v) = self.viewers.remove(&id) else {
            return;
        };
        tracing::debug!(session.id = %id, why, "viewer ended");
        let _ = v.conn.pc.close();
        drain(&mut v.conn, &self.local, &mut self.out);
        self.by_addr.retain(|_, owner| *owner != id);
        if let Some(ended) = v.ended.take() {
            ended();
        }
    }
}

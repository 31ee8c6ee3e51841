//! Sending a turn's datagrams: all viewers' at once, with one `sendmmsg(2)`
//! per run of messages, and each viewer's consecutive datagrams of one
//! size as one UDP GSO message (`UDP_SEGMENT`, Linux 4.18): the kernel
//! walks its stack once per message instead of once per packet.
//!
//! Invariant: datagrams leave in the order they were queued; a GSO message
//! holds datagrams to one peer, all `seg` bytes long but the last, which is
//! not longer (what the kernel requires). A socket that refuses GSO is sent
//! to without it from then on.

use super::socket::Datagram;
use nix::sys::socket::{sendmmsg, ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage};
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Most messages handed to one `sendmmsg`.
const SEND_BATCH: usize = 256;

/// Most datagrams in one GSO message (the kernel's `UDP_MAX_SEGMENTS`).
const MAX_SEGMENTS: usize = 64;

/// Most bytes in one GSO message (under the 64 KiB of one IP packet).
const MAX_GSO_BYTES: usize = 60_000;

/// One message: `count` datagrams of the turn from `first`, to one peer.
#[derive(Debug, PartialEq)]
struct Msg {
    sock: usize,
    to: SocketAddr,
    first: usize,
    count: usize,
    bytes: usize,
    /// The GSO segment size; 0 for a message of one datagram.
    seg: u16,
}

/// Groups `out` into messages, in order.
fn plan(out: &[Datagram], gso: bool) -> Vec<Msg> {
    let mut msgs: Vec<Msg> = Vec::new();
    for (i, (sock, to, bytes)) in out.iter().enumerate() {
        let len = bytes.len();
        if let Some(m) = msgs
            .last_mut()
            .filter(|m| gso && m.sock == *sock && m.to == *to)
        {
            let size = out[m.first].2.len();
            let last_full = out[m.first + m.count - 1].2.len() == size;
            if last_full && len <= size && m.count < MAX_SEGMENTS && m.bytes + len <= MAX_GSO_BYTES
            {
                m.count += 1;
                m.bytes += len;
                m.seg = u16::try_from(size).unwrap_or(0);
                continue;
            }
        }
        let (sock, to, first) = (*sock, *to, i);
        msgs.push(Msg {
            sock,
            to,
            first,
            count: 1,
            bytes: len,
            seg: 0,
        });
    }
    msgs
}

/// What one egress sends with: its sockets, and whether GSO still works.
pub struct Sender {
    pub gso: bool,
}

impl Sender {
    /// Sends `out` (emptied) on `sockets`; a datagram the kernel refuses is
    /// dropped (UDP: the viewer's NACK asks again).
    pub async fn send_all(&mut self, sockets: &[UdpSocket], out: &mut Vec<Datagram>) {
        let msgs = plan(out, self.gso);
        let mut done = 0;
        while done < msgs.len() {
            let (sock, seg) = (msgs[done].sock, msgs[done].seg);
            let same = msgs[done..].iter().take(SEND_BATCH);
            let n = same.take_while(|m| m.sock == sock && m.seg == seg).count();
            let run = &msgs[done..done + n];
            match send_some(&sockets[sock], out, run).await {
                Ok(sent) => done += sent.max(1),
                Err(e) if seg > 0 && self.gso => {
                    tracing::warn!(error = %e, "UDP GSO refused: sending without it");
                    self.gso = false;
                    out.drain(..msgs[done].first);
                    return Box::pin(self.send_all(sockets, out)).await;
                }
                Err(e) => {
                    tracing::debug!(error = %e, to = %run[0].to, "datagram not sent");
                    done += 1;
                }
            }
        }
        out.clear();
    }
}

/// One `sendmmsg` of `run` (same socket, same segment size) once the
/// socket is writable: how many messages went.
async fn send_some(socket: &UdpSocket, out: &[Datagram], run: &[Msg]) -> io::Result<usize> {
    let iovs: Vec<Vec<IoSlice<'_>>> = run
        .iter()
        .map(|m| {
            out[m.first..m.first + m.count]
                .iter()
                .map(|d| IoSlice::new(&d.2))
                .collect()
        })
        .collect();
    let addrs: Vec<Option<SockaddrStorage>> = run
        .iter()
        .map(|m| Some(SockaddrStorage::from(m.to)))
        .collect();
    let seg = run[0].seg;
    loop {
        let sent = socket.try_io(Interest::WRITABLE, || {
            let space = (seg > 0).then(|| nix::cmsg_space!(u16));
            let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(run.len(), space);
            let gso = [ControlMessage::UdpGsoSegments(&seg)];
            let cmsgs: &[ControlMessage<'_>] = if seg > 0 { &gso } else { &[] };
            let fd = socket.as_raw_fd();
            let res = sendmmsg(fd, &mut headers, &iovs, &addrs, cmsgs, MsgFlags::empty());
            res.map(|r| r.count()).map_err(io::Error::from)
        });
        match sent {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => socket.writable().await?,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(to: u16, len: usize) -> Datagram {
        let addr = SocketAddr::from(([127, 0, 0, 1], to));
        (0, addr, bytes::BytesMut::zeroed(len))
    }

    #[test]
    fn a_viewers_run_of_one_size_is_one_message_ending_at_a_shorter_datagram() {
        let out = [
            d(1, 1200),
            d(1, 1200),
            d(1, 700),
            d(1, 1200),
            d(2, 1200),
            d(2, 1300),
        ];
        let got: Vec<(u16, usize, u16)> = plan(&out, true)
            .iter()
            .map(|m| (m.to.port(), m.count, m.seg))
            .collect();
        // 1200 1200 700 | 1200 (a new size run) | to 2: 1200 | 1300 is longer.
        assert_eq!(got, [(1, 3, 1200), (1, 1, 0), (2, 1, 0), (2, 1, 0)]);
        let off: Vec<usize> = plan(&out, false).iter().map(|m| m.count).collect();
        assert_eq!(off, [1; 6], "without GSO every datagram is its own message");
    }

    #[test]
    fn a_message_stays_within_the_kernels_limits() {
        let out: Vec<Datagram> = (0..100).map(|_| d(1, 1000)).collect();
        let counts: Vec<usize> = plan(&out, true).iter().map(|m| m.count).collect();
        assert_eq!(counts, [60, 40], "60 000 bytes at most per message");
        let small: Vec<Datagram> = (0..100).map(|_| d(1, 100)).collect();
        let counts: Vec<usize> = plan(&small, true).iter().map(|m| m.count).collect();
        assert_eq!(counts, [64, 36], "64 segments at most");
    }

    #[tokio::test]
    async fn gso_messages_arrive_as_the_datagrams_they_were() {
        let rx = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let tx = vec![tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap()];
        let to = rx.local_addr().unwrap();
        let sizes = [1200, 1200, 1200, 300, 1200, 80];
        let mut out: Vec<Datagram> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| (0, to, bytes::BytesMut::from(&vec![i as u8; n][..])))
            .collect();
        let mut sender = Sender { gso: true };
        sender.send_all(&tx, &mut out).await;
        assert!(out.is_empty());
        let mut buf = [0u8; 2000];
        for (i, &n) in sizes.iter().enumerate() {
            let (got, _) = rx.recv_from(&mut buf).await.unwrap();
            assert_eq!((got, buf[0]), (n, i as u8), "datagram {i}");
        }
        assert!(sender.gso, "loopback takes GSO");
    }
}

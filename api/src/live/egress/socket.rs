//! The UDP sockets of one camera's egress, shared by all its viewers:
//! binding them and telling which viewer a datagram is from (sending is
//! [`super::send`]).
//!
//! Which viewer a datagram is from is decided by its source address; an
//! address not seen yet is learnt from a STUN binding request, whose
//! USERNAME starts with the viewer's ICE ufrag (RFC 8445 §7.2.2).

use std::io;
use std::net::SocketAddr;
use std::task::Poll;
use tokio::net::UdpSocket;

/// Socket send buffer asked for: a keyframe for 50 viewers fits.
const SEND_BUFFER: usize = 8 << 20;

/// One datagram to send: socket index, destination, bytes.
pub type Datagram = (usize, SocketAddr, bytes::BytesMut);

/// Binds one socket per configured address (`0.0.0.0:0` style wildcards
/// expand to every usable interface address, since a candidate must be an
/// address a peer can reach).
pub fn bind(addrs: &[String]) -> io::Result<Vec<UdpSocket>> {
    use nix::sys::socket::{setsockopt, sockopt::SndBuf};
    let mut sockets = Vec::new();
    for addr in expand(addrs)? {
        let socket = std::net::UdpSocket::bind(addr)?;
        socket.set_nonblocking(true)?;
        let _ = setsockopt(&socket, SndBuf, &SEND_BUFFER);
        sockets.push(UdpSocket::from_std(socket)?);
    }
    Ok(sockets)
}

fn expand(addrs: &[String]) -> io::Result<Vec<SocketAddr>> {
    let mut out = Vec::new();
    for a in addrs {
        let addr: SocketAddr = a.parse().map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("bad udp address {a}"))
        })?;
        if !addr.ip().is_unspecified() {
            out.push(addr);
            continue;
        }
        let found = rtc::shared::ifaces::ifaces()?
            .into_iter()
            .filter_map(|i| i.addr);
        let usable = found.filter(|i| i.is_ipv4() == addr.is_ipv4() && usable(i.ip()));
        out.extend(usable.map(|i| SocketAddr::new(i.ip(), addr.port())));
    }
    out.dedup();
    match out.is_empty() {
        true => Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            "no usable udp address",
        )),
        false => Ok(out),
    }
}

/// Not loopback, unspecified nor link-local (a peer could not use it).
fn usable(ip: std::net::IpAddr) -> bool {
    let link_local = match ip {
        std::net::IpAddr::V4(v4) => v4.is_link_local(),
        std::net::IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    };
    !ip.is_loopback() && !ip.is_unspecified() && !link_local
}

/// Waits until one of `sockets` may have a datagram; its index.
pub async fn readable(sockets: &[UdpSocket]) -> usize {
    std::future::poll_fn(|cx| {
        for (i, s) in sockets.iter().enumerate() {
            if s.poll_recv_ready(cx).is_ready() {
                return Poll::Ready(i);
            }
        }
        Poll::Pending
    })
    .await
}

/// Whether a datagram is STUN (RFC 7983: its first byte is 0..=3; DTLS,
/// RTP and RTCP start higher).
pub fn is_stun(datagram: &[u8]) -> bool {
    datagram.first().is_some_and(|b| *b < 4)
}

/// The USERNAME of a STUN binding request, or `None` for anything else.
pub fn stun_username(datagram: &[u8]) -> Option<String> {
    // RFC 5389 §6: two zero bits, then the magic cookie at bytes 4..8.
    let is_stun = datagram.len() >= 20 && datagram[0] & 0xc0 == 0 && datagram[4..8] == MAGIC;
    if !is_stun {
        return None;
    }
    let mut msg = rtc::stun::message::Message::new();
    msg.unmarshal_binary(datagram).ok()?;
    let attr = rtc::stun::attributes::ATTR_USERNAME;
    rtc::stun::textattrs::TextAttribute::get_from_as(&msg, attr)
        .ok()
        .map(|t| t.text)
}

const MAGIC: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];

/// The viewer ufrag a USERNAME (`ours:theirs`) names.
pub fn local_ufrag(username: &str) -> &str {
    username.split(':').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binding_request_names_its_ufrag() {
        use rtc::stun::message::{Message, BINDING_REQUEST};
        use rtc::stun::textattrs::TextAttribute;
        let mut m = Message::new();
        let user = TextAttribute::new(rtc::stun::attributes::ATTR_USERNAME, "Ab12:zz9".into());
        m.build(&[Box::new(BINDING_REQUEST), Box::new(user)])
            .unwrap();
        let name = stun_username(&m.raw).unwrap();
        assert_eq!(local_ufrag(&name), "Ab12");
        assert_eq!(stun_username(&[0x80; 40]), None, "an RTP packet is no STUN");
    }

    #[test]
    fn wildcards_expand_and_explicit_addresses_stay() {
        let one = expand(&["127.0.0.1:0".into()]).unwrap();
        assert_eq!(one, ["127.0.0.1:0".parse::<SocketAddr>().unwrap()]);
        assert!(expand(&["nonsense".into()]).is_err());
        if let Ok(all) = expand(&["0.0.0.0:0".into()]) {
            assert!(all
                .iter()
                .all(|a| !a.ip().is_loopback() && !a.ip().is_unspecified()));
        }
    }
}

//! One viewer inside a camera's egress: its sans-IO peer connection
//! (`rtc`), the rewriters of its video and audio, and where it is in its
//! life (connecting, live, lost for a moment).
//!
//! Invariant: a viewer is sent no media before its connection is up; every
//! packet it is sent went through its own [`Rewriter`], so what it sees is
//! one valid RTP stream per track whatever the ingest did. A packet whose
//! codec the viewer did not negotiate is dropped, never sent under another
//! codec's payload type.

use super::super::rewrite::Rewriter;
use super::super::{audio, peer, stats::Counters};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::transport::RTCIceCandidateInit;
use rtc::peer_connection::transport::{CandidateConfig, CandidateHostConfig, RTCIceCandidate};
use rtc::peer_connection::RTCPeerConnection;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::RTCRtpSenderId;
use rtc::sansio::Protocol;
use rtc::shared::error::Error;
use rtc::shared::TaggedBytesMut;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How long a viewer has to connect (ICE + DTLS) after its answer.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a viewer whose connection went `disconnected` (nothing from it
/// for a few seconds) may take to come back before its session ends.
pub const RECONNECT_GRACE: Duration = Duration::from_secs(10);

/// Where a viewer is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Answered; ICE and DTLS not done by `until`: the session ends.
    Connecting { until: Instant },
    /// Up: every packet of the camera is sent to it.
    Live,
    /// ICE said disconnected: back by `until`, or the session ends.
    Lost { until: Instant },
}

/// A viewer's audio track once negotiated.
struct Audio {
    /// SFU payload type → this viewer's.
    payload_types: HashMap<u8, u8>,
    rewriter: Rewriter,
}

/// One viewer's connection.
pub struct Conn {
    pub id: Uuid,
    pub pc: RTCPeerConnection,
    /// The ICE username fragment of our side: how its STUN checks are told apart.
    pub ufrag: String,
    video: Rewriter,
    audio: Option<Audio>,
    pub sent: Arc<Counters>,
    pub phase: Phase,
    /// The connection's next protocol timer.
    pub timer: Option<Instant>,
    /// Something was queued on `pc` since its writes were last taken.
    pub dirty: bool,
    /// ICE has selected a pair: `pc` takes more than STUN from now on.
    pub ice_up: bool,
    /// DTLS datagrams that came before that (see [`Conn::hold_early`]).
    early: Vec<TaggedBytesMut>,
}

/// Most datagrams held for a viewer before its ICE pair is selected.
const EARLY_MAX: usize = 8;

/// A new viewer with the answer to its offer.
pub struct Negotiated {
    pub conn: Conn,
    pub answer: String,
}

/// Answers `offer` (already checked by [`super::super::sdp::check_offer`])
/// with host candidates on `addrs`, the egress's sockets.
pub fn negotiate(
    id: Uuid,
    offer: String,
    addrs: &[SocketAddr],
    sent: Arc<Counters>,
) -> Result<Negotiated, Error> {
    let now = Instant::now();
    let mut pc = peer::viewer_connection(now)?;
    let ssrc = rand::random::<u32>();
    let label = format!("argus-{ssrc}");
    let video_id = pc.add_track(track(
        &label,
        &label,
        RtpCodecKind::Video,
        ssrc,
        peer::viewer_codec(),
    ))?;
    let audio = match audio::offers_audio(&offer) {
        true => Some(add_audio(&mut pc, &label)?),
        false => None,
    };

    pc.set_remote_description(now, RTCSessionDescription::offer(offer)?)?;
    for addr in addrs {
        pc.add_local_candidate(host_candidate(*addr)?)?;
    }
    pc.add_local_candidate(RTCIceCandidateInit::default())?;
    let answer = pc.create_answer(None)?;
    pc.set_local_description(now, answer)?;
    let answer = pc.local_description().map(|d| d.sdp).unwrap_or_default();

    let video_pt = negotiated(&mut pc, video_id)
        .find(|(mime, _)| mime.eq_ignore_ascii_case("video/h264"))
        .map(|(_, pt)| pt)
        .ok_or_else(|| Error::Other("no H.264 negotiated".into()))?;
    let audio = audio.and_then(|(sender, ssrc)| bind_audio(&mut pc, sender, ssrc));
    let conn = Conn {
        id,
        ufrag: ufrag(&answer).unwrap_or_default().to_string(),
        pc,
        video: Rewriter::new(ssrc, video_pt),
        audio,
        sent,
        phase: Phase::Connecting {
            until: now + CONNECT_TIMEOUT,
        },
        timer: None,
        dirty: true,
        ice_up: false,
        early: Vec::new(),
    };
    Ok(Negotiated { conn, answer })
}

fn track(
    stream: &str,
    id: &str,
    kind: RtpCodecKind,
    ssrc: u32,
    codec: RTCRtpCodec,
) -> MediaStreamTrack {
    let coding = RTCRtpEncodingParameters {
        rtp_coding_parameters: RTCRtpCodingParameters {
            ssrc: Some(ssrc),
            ..Default::default()
        },
        codec,
        ..Default::default()
    };
    MediaStreamTrack::new(stream.into(), id.into(), id.into(), kind, vec![coding])
}

/// A send-only audio track in the media stream `stream` of the viewer's
/// video, so a browser plays both as one stream.
fn add_audio(pc: &mut RTCPeerConnection, stream: &str) -> Result<(RTCRtpSenderId, u32), Error> {
    let ssrc = rand::random::<u32>();
    let (mime, clock_rate, channels, _, fmtp) = audio::CODECS[0];
    let codec = RTCRtpCodec {
        mime_type: mime.into(),
        clock_rate,
        channels,
        sdp_fmtp_line: fmtp.into(),
        rtcp_feedback: vec![],
    };
    let id = format!("argus-audio-{ssrc}");
    let sender = pc.add_track(track(stream, &id, RtpCodecKind::Audio, ssrc, codec))?;
    Ok((sender, ssrc))
}

/// The audio codecs negotiated on `sender`; `None` if none is forwarded.
fn bind_audio(pc: &mut RTCPeerConnection, sender: RTCRtpSenderId, ssrc: u32) -> Option<Audio> {
    let pairs: Vec<(String, u8)> = negotiated(pc, sender).collect();
    let payload_types = audio::viewer_map(pairs.iter().map(|(m, pt)| (m.as_str(), *pt)));
    (!payload_types.is_empty()).then(|| Audio {
        payload_types,
        rewriter: Rewriter::new(ssrc, 0),
    })
}

/// `(mime type, payload type)` of each codec negotiated on `sender`.
fn negotiated(
    pc: &mut RTCPeerConnection,
    sender: RTCRtpSenderId,
) -> impl Iterator<Item = (String, u8)> {
    let codecs = match pc.rtp_sender(sender) {
        Some(mut s) => s.get_parameters().rtp_parameters.codecs.clone(),
        None => vec![],
    };
    codecs
        .into_iter()
        .map(|c| (c.rtp_codec.mime_type, c.payload_type))
}

fn host_candidate(addr: SocketAddr) -> Result<RTCIceCandidateInit, Error> {
    let candidate = CandidateHostConfig {
        base_config: CandidateConfig {
            network: "udp".into(),
            address: addr.ip().to_string(),
            port: addr.port(),
            component: 1,
            ..Default::default()
        },
        ..Default::default()
    }
    .new_candidate_host()?;
    RTCIceCandidate::from(&candidate).to_json()
}

/// The `a=ice-ufrag:` of an SDP.
fn ufrag(sdp: &str) -> Option<&str> {
    sdp.lines()
        .find_map(|l| l.trim_end().strip_prefix("a=ice-ufrag:"))
}

impl Conn {
    /// Sends one packet of the camera's video.
    pub fn send_video(&mut self, pkt: &rtp::Packet, now: Instant) {
        let Some(pkt) = self.video.apply(pkt.clone()) else {
            return;
        };
        self.sent.add(pkt.payload.len());
        self.write(pkt, now);
    }

    /// Sends one packet of the camera's audio, if the viewer took its codec.
    pub fn send_audio(&mut self, pkt: &rtp::Packet, now: Instant) {
        let Some(audio) = &mut self.audio else {
            return;
        };
        let Some(&pt) = audio.payload_types.get(&pkt.header.payload_type) else {
            return;
        };
        let Some(mut pkt) = audio.rewriter.apply(pkt.clone()) else {
            return;
        };
        pkt.header.payload_type = pt;
        self.sent.add(pkt.payload.len());
        self.write(pkt, now);
    }

    /// Queues `pkt` on the connection (interceptors, SRTP); the datagrams
    /// come out of `poll_write`. The packet's SSRC and payload type are the
    /// negotiated ones by construction, so the sender's per-packet checks
    /// are skipped.
    fn write(&mut self, pkt: rtp::Packet, now: Instant) {
        let message = RTCMessage::RtpPacket(String::new(), pkt);
        if let Err(e) = self.pc.handle_write(TaggedRTCMessage { now, message }) {
            tracing::trace!(session.id = %self.id, error = %e, "viewer write failed");
        }
        self.dirty = true;
    }

    /// Keeps a datagram that came before ICE selected a pair (`pc` would
    /// drop it): a browser starts DTLS as soon as one of its own checks is
    /// answered, which can be before our side has seen its nomination, and
    /// a dropped ClientHello costs ~200 ms until the browser sends it again.
    pub fn hold_early(&mut self, msg: TaggedBytesMut) {
        if self.early.len() < EARLY_MAX {
            self.early.push(msg);
        }
        self.dirty = true;
    }

    /// Hands the held datagrams to `pc`, once ICE is up.
    pub fn release_early(&mut self, now: Instant) {
        if !self.ice_up || self.early.is_empty() {
            return;
        }
        for mut msg in std::mem::take(&mut self.early) {
            msg.now = now;
            if let Err(e) = self.pc.handle_read(msg) {
                tracing::trace!(session.id = %self.id, error = %e, "early datagram refused");
            }
        }
        self.dirty = true;
    }

    /// Whether the viewer is sent the camera's packets now.
    pub fn is_live(&self) -> bool {
        self.phase == Phase::Live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ufrag_is_read_from_the_answer() {
        let sdp = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\na=ice-ufrag:AbCd\r\na=ice-pwd:x\r\n";
        assert_eq!(ufrag(sdp), Some("AbCd"));
        assert_eq!(ufrag("v=0\r\n"), None);
    }
}

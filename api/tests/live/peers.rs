//! The test's WebRTC peers, built with the `webrtc` crate like any other
//! client would be: a WHIP publisher sending the simulated camera's real
//! H.264, and WHEP viewers recording every RTP packet they receive.

#![allow(dead_code)] // shared by several test binaries, each using a part

use async_trait::async_trait;
use rtc::media_stream::MediaStreamTrack;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceGatheringState,
    RTCPeerConnectionState, RTCSessionDescription, Registry,
};

/// One received packet and when it arrived.
pub type Received = (Instant, rtc::rtp::Packet);

struct Handler {
    gathered: watch::Sender<bool>,
    state: watch::Sender<RTCPeerConnectionState>,
    packets: Option<mpsc::UnboundedSender<Received>>,
}

#[async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, s: RTCIceGatheringState) {
        if s == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(true);
        }
    }
    async fn on_connection_state_change(&self, s: RTCPeerConnectionState) {
        let _ = self.state.send(s);
    }
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let Some(tx) = self.packets.clone() else {
            return;
        };
        tokio::spawn(async move {
            while let Some(evt) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(p) = evt {
                    let _ = tx.send((Instant::now(), p));
                }
            }
        });
    }
}

pub struct Peer {
    pub pc: Arc<dyn PeerConnection>,
    pub state: watch::Receiver<RTCPeerConnectionState>,
    gathered: watch::Receiver<bool>,
}

async fn peer(packets: Option<mpsc::UnboundedSender<Received>>) -> Peer {
    let mut me = MediaEngine::default();
    me.register_default_codecs().unwrap();
    let registry = register_default_interceptors(Registry::new(), &mut me).unwrap();
    let (gathered_tx, gathered) = watch::channel(false);
    let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
    let handler = Arc::new(Handler {
        gathered: gathered_tx,
        state: state_tx,
        packets,
    });
    let pc = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(me)
        .with_interceptor_registry(registry)
        .with_handler(handler)
        .with_udp_addrs(vec!["127.0.0.1:0".to_string()])
        .build()
        .await
        .unwrap();
    Peer {
        pc: Arc::new(pc),
        state,
        gathered,
    }
}

impl Peer {
    /// The complete offer (all candidates gathered).
    pub async fn offer(&mut self) -> String {
        let offer = self.pc.create_offer(None).await.unwrap();
        self.pc.set_local_description(offer).await.unwrap();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.gathered.wait_for(|g| *g)).await;
        self.pc.local_description().await.unwrap().sdp
    }

    pub async fn accept(&self, answer: String) {
        let answer = RTCSessionDescription::answer(answer).unwrap();
        self.pc.set_remote_description(answer).await.unwrap();
    }

    pub async fn connected(&mut self) {
        let up = self
            .state
            .wait_for(|s| *s == RTCPeerConnectionState::Connected);
        tokio::time::timeout(Duration::from_secs(10), up)
            .await
            .expect("connected in time")
            .unwrap();
    }
}

/// A receive-only viewer; packets arrive on the returned channel.
pub async fn viewer() -> (Peer, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let p = peer(Some(tx)).await;
    let init = RTCRtpTransceiverInit {
        direction: RTCRtpTransceiverDirection::Recvonly,
        ..Default::default()
    };
    p.pc.add_transceiver_from_kind(RtpCodecKind::Video, Some(init))
        .await
        .unwrap();
    (p, rx)
}

/// A publisher with one H.264 track.
pub async fn publisher() -> (Peer, Arc<TrackLocalStaticSample>, u32) {
    let p = peer(None).await;
    let ssrc = rand::random::<u32>();
    let codec = RTCRtpCodec {
        mime_type: "video/H264".into(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
            .into(),
        rtcp_feedback: vec![],
    };
    let coding = RTCRtpEncodingParameters {
        rtp_coding_parameters: RTCRtpCodingParameters {
            ssrc: Some(ssrc),
            ..Default::default()
        },
        codec,
        ..Default::default()
    };
    let track = MediaStreamTrack::new(
        "cam".into(),
        "cam-v".into(),
        "cam".into(),
        RtpCodecKind::Video,
        vec![coding],
    );
    let track = Arc::new(TrackLocalStaticSample::new(Instant::now(), track).unwrap());
    p.pc.add_track(track.clone() as Arc<dyn TrackLocal>)
        .await
        .unwrap();
    (p, track, ssrc)
}

/// The H.264 payload type the publisher negotiated.
pub async fn h264_pt(pc: &Arc<dyn PeerConnection>) -> u8 {
    let sender = pc.get_senders().await.into_iter().next().expect("a sender");
    let params = sender.get_parameters().await.unwrap();
    params
        .rtp_parameters
        .codecs
        .iter()
        .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case("video/h264"))
        .expect("H.264 negotiated")
        .payload_type
}

/// Splits an Annex B stream (SPS/PPS before each IDR) into access units:
/// each ends at a slice NAL (one slice per picture, as the sim encodes).
pub fn access_units(es: &[u8]) -> Vec<(bool, Vec<u8>)> {
    let mut units = vec![];
    let (mut cur, mut key) = (Vec::new(), false);
    for nal in es.split_start_codes() {
        let t = nal[0] & 0x1f;
        cur.extend_from_slice(&[0, 0, 0, 1]);
        cur.extend_from_slice(nal);
        key |= t == 5;
        if t == 1 || t == 5 {
            units.push((key, std::mem::take(&mut cur)));
            key = false;
        }
    }
    units
}

trait StartCodes {
    fn split_start_codes(&self) -> Vec<&[u8]>;
}

impl StartCodes for [u8] {
    fn split_start_codes(&self) -> Vec<&[u8]> {
        let mut starts = vec![];
        let mut i = 0;
        while i + 3 <= self.len() {
            if self[i..i + 3] == [0, 0, 1] {
                starts.push(i + 3);
                i += 3;
            } else {
                i += 1;
            }
        }
        let mut out = vec![];
        for (n, &s) in starts.iter().enumerate() {
            let mut end = starts.get(n + 1).map_or(self.len(), |&e| e - 3);
            while end > s && self[end - 1] == 0 {
                end -= 1;
            }
            out.push(&self[s..end]);
        }
        out
    }
}

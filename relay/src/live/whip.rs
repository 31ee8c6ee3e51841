//! The WHIP client (RFC 9725): one send-only peer connection from the relay
//! to the cloud's SFU, built with the `webrtc` crate: an H.264 track, and an
//! audio track ([`AudioTrack`]) when the camera's audio is one browsers play.
//!
//! The offer goes out complete (all candidates gathered: no trickle), with
//! the relay's signed token; media flows over DTLS-SRTP from a UDP socket
//! on the interface that routes to the cloud. Invariant: a [`Publisher`]
//! that is dropped without [`Publisher::close`] still closes its connection
//! (the cloud then sees the ingest fail), but only `close` tells the cloud
//! at once with a `DELETE`.

use super::audio::AudioCodec;
use super::audio_track::{self, AudioTrack};
use super::LiveError;
use crate::cloud::Cloud;
use async_trait::async_trait;
use rtc::media_stream::MediaStreamTrack;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceGatheringState,
    RTCPeerConnectionState, RTCSessionDescription, Registry, SettingEngineBuilder,
};

/// What the relay offers: H.264 packetization mode 1. The profile id only
/// names what the SFU advertises on; the camera's stream goes as it is.
const FMTP: &str = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";
const GATHER_TIMEOUT: Duration = Duration::from_secs(3);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// ICE pace: a check every 20 ms, 70 of them per pair (the same 1.4 s as
/// the default 200 ms x 7), so the push connects sooner.
const ICE_CHECK_INTERVAL: Duration = Duration::from_millis(20);
const ICE_MAX_BINDING_REQUESTS: u16 = 70;

/// A connected push.
pub struct Publisher {
    pc: Arc<dyn PeerConnection>,
    track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
    payload_type: u8,
    /// The camera's audio, if it has some and the SFU took it.
    pub audio: Option<AudioTrack>,
    /// The api node pushed to, and the session's path on it (WHIP `Location`).
    origin: String,
    location: String,
    pub state: watch::Receiver<RTCPeerConnectionState>,
}

struct Handler {
    gathered: watch::Sender<bool>,
    state: watch::Sender<RTCPeerConnectionState>,
}

#[async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, s: RTCIceGatheringState) {
        if s == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(true);
        }
    }

    async fn on_connection_state_change(&self, s: RTCPeerConnectionState) {
        tracing::debug!(state = %s, "live push connection state");
        let _ = self.state.send(s);
    }
}

/// Offers to `path` on `origin` (an api node) and waits until media flows;
/// with `audio`, the offer carries an audio track of that codec too.
pub async fn connect(
    cloud: &Cloud,
    origin: &str,
    path: &str,
    audio: Option<AudioCodec>,
) -> Result<Publisher, LiveError> {
    let bind = super::route::local_udp_addr(origin).await?;
    let (pc, mut gathered, mut state) = peer(bind, audio).await?;
    let ssrc = rand::random::<u32>();
    let track = Arc::new(TrackLocalStaticSample::new(Instant::now(), track(ssrc))?);
    pc.add_track(track.clone() as Arc<dyn TrackLocal>).await?;
    let audio = match audio {
        Some(codec) => Some(AudioTrack::add_to(&pc, codec).await?),
        None => None,
    };

    let offer = pc.create_offer(None).await?;
    pc.set_local_description(offer).await?;
    let _ = tokio::time::timeout(GATHER_TIMEOUT, gathered.wait_for(|g| *g)).await;
    let offer = pc.local_description().await.ok_or(LiveError::NoOffer)?.sdp;

    let (location, answer) = match cloud.whip_offer(origin, path, offer).await {
        Ok(ok) => ok,
        Err(e) => {
            let _ = pc.close().await;
            return Err(e.into());
        }
    };
    let mut publisher = Publisher {
        payload_type: 0,
        audio,
        pc,
        track,
        ssrc,
        origin: origin.to_string(),
        location,
        state: state.clone(),
    };
    if let Err(e) = publisher.start(answer, &mut state).await {
        publisher.close(cloud).await;
        return Err(e);
    }
    Ok(publisher)
}

impl Publisher {
    async fn start(
        &mut self,
        answer: String,
        state: &mut watch::Receiver<RTCPeerConnectionState>,
    ) -> Result<(), LiveError> {
        let answer = RTCSessionDescription::answer(answer)?;
        self.pc.set_remote_description(answer).await?;
        let up = state.wait_for(|s| {
            matches!(
                s,
                RTCPeerConnectionState::Connected
                    | RTCPeerConnectionState::Failed
                    | RTCPeerConnectionState::Closed
            )
        });
        let connected = match tokio::time::timeout(CONNECT_TIMEOUT, up).await {
            Ok(Ok(s)) => *s == RTCPeerConnectionState::Connected,
            _ => false,
        };
        if !connected {
            return Err(LiveError::NotConnected);
        }
        let h264 = negotiated_pt(&self.pc, "video/h264").await;
        self.payload_type = h264.ok_or(LiveError::NoH264)?;
        if let Some(a) = &self.audio {
            if !a.bind(&self.pc).await {
                tracing::info!(codec = a.codec.mime(), "the SFU took no audio; video only");
                self.audio = None;
            }
        }
        Ok(())
    }

    /// Sends one Annex B access unit lasting `duration`.
    pub async fn send(&self, data: Vec<u8>, duration: Duration) -> Result<(), LiveError> {
        let sample = rtc::media::Sample {
            data: data.into(),
            timestamp: std::time::Instant::now(),
            duration,
            packet_timestamp: 0,
            prev_dropped_packets: 0,
            prev_padding_packets: 0,
        };
        let track = &self.track;
        track
            .write_sample(self.ssrc, self.payload_type, &sample, &[])
            .await?;
        Ok(())
    }

    /// Ends the push: `DELETE` on the session, then the connection.
    pub async fn close(self, cloud: &Cloud) {
        if let Err(e) = cloud.whip_delete(&self.origin, &self.location).await {
            tracing::debug!(error = %e, "ending the live push session");
        }
        let _ = self.pc.close().await;
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        let pc = self.pc.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = pc.close().await;
            });
        }
    }
}

type Peer = (
    Arc<dyn PeerConnection>,
    watch::Receiver<bool>,
    watch::Receiver<RTCPeerConnectionState>,
);

async fn peer(bind: String, audio: Option<AudioCodec>) -> Result<Peer, LiveError> {
    let mut me = MediaEngine::default();
    me.register_codec(h264(), RtpCodecKind::Video)?;
    if let Some(codec) = audio {
        me.register_codec(audio_track::codec_parameters(codec), RtpCodecKind::Audio)?;
    }
    let registry = register_default_interceptors(Registry::new(), &mut me)?;
    let (gathered_tx, gathered) = watch::channel(false);
    let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
    let handler = Arc::new(Handler {
        gathered: gathered_tx,
        state: state_tx,
    });

    // ICE acts every 20 ms, not 200: as the DTLS client we start the
    // handshake only once ICE is up, and the cloud waits for our keyframe.
    let settings = SettingEngineBuilder::new()
        .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(ICE_MAX_BINDING_REQUESTS))
        .build();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_setting_engine(settings)
        .with_media_engine(me)
        .with_interceptor_registry(registry)
        .with_handler(handler)
        .with_udp_addrs(vec![bind])
        .build()
        .await?;
    Ok((Arc::new(pc), gathered, state))
}

fn codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: "video/H264".into(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: FMTP.into(),
        rtcp_feedback: vec![],
    }
}

fn h264() -> rtc::rtp_transceiver::rtp_sender::RTCRtpCodecParameters {
    rtc::rtp_transceiver::rtp_sender::RTCRtpCodecParameters {
        rtp_codec: codec(),
        payload_type: 102,
    }
}

fn track(ssrc: u32) -> MediaStreamTrack {
    let coding = RTCRtpEncodingParameters {
        rtp_coding_parameters: RTCRtpCodingParameters {
            ssrc: Some(ssrc),
            ..Default::default()
        },
        codec: codec(),
        ..Default::default()
    };
    let id = format!("argus-{ssrc:08x}");
    MediaStreamTrack::new(
        id.clone(),
        id,
        "camera".into(),
        RtpCodecKind::Video,
        vec![coding],
    )
}

/// The H.264 payload type the answer settled on.
/// The payload type the answer settled on for `mime`, looking through every
/// sender (with audio there are two, in no set order).
pub(super) async fn negotiated_pt(pc: &Arc<dyn PeerConnection>, mime: &str) -> Option<u8> {
    for sender in pc.get_senders().await {
        let Ok(params) = sender.get_parameters().await else {
            continue;
        };
        let codecs = params.rtp_parameters.codecs;
        let found = codecs
            .iter()
            .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(mime));
        if let Some(c) = found {
            return Some(c.payload_type);
        }
    }
    None
}

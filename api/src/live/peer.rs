//! Building the SFU's peer connections: the ingest's (`webrtc` 0.21, its
//! own sockets, waiting for ICE gathering so the answer carries every
//! candidate: no server-side trickle) and the viewers' (the sans-IO `rtc`
//! core, driven by [`super::egress`]); the codecs each side accepts.
//!
//! Invariant: a viewer's connection offers exactly one H.264 profile,
//! `42e01f` (Constrained Baseline 3.1), which Chromium accepts; whatever
//! profile the camera sends is forwarded unchanged under it (Chromium
//! decodes a High-profile stream so advertised). The ingest accepts H.264
//! in packetization mode 1 of any common profile; both sides take the audio
//! codecs of [`super::audio::CODECS`].

use async_trait::async_trait;
use rtc::peer_connection::transport::RTCDtlsRole;
use rtc::peer_connection::RTCPeerConnectionBuilder;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceGatheringState, RTCPeerConnection, RTCPeerConnectionState,
    RTCSessionDescription, Registry, SettingEngineBuilder,
};

/// The fmtp line every viewer's answer carries.
pub const VIEWER_FMTP: &str =
    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";

/// Profiles (profile_idc, constraint flags) the ingest accepts, with a payload type.
const INGEST_PROFILES: &[(&str, u8)] = &[
    ("42e01f", 102),
    ("42001f", 106),
    ("4d001f", 104),
    ("640032", 108),
];

/// Pace of ICE connectivity checks: every 20 ms instead of the default 200,
/// as often for as long (70 tries, 1.4 s per candidate pair), so a viewer
/// connects sooner after its answer.
const ICE_CHECK_INTERVAL: Duration = Duration::from_millis(20);
const ICE_MAX_BINDING_REQUESTS: u16 = 70;

/// How long ICE gathering may take before the answer goes out as it is.
const GATHER_TIMEOUT: Duration = Duration::from_secs(3);

/// What a connection reports: its state, and whether gathering finished.
pub struct Events {
    pub state: watch::Receiver<RTCPeerConnectionState>,
    gathered: watch::Receiver<bool>,
}

/// The handler feeding [`Events`]; `on_track` goes to `track`.
pub struct Handler {
    state: watch::Sender<RTCPeerConnectionState>,
    gathered: watch::Sender<bool>,
    track: Option<OnTrack>,
}

#[async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(true);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        tracing::debug!(%state, "peer connection state");
        let _ = self.state.send(state);
    }

    async fn on_track(&self, track: Arc<dyn webrtc::media_stream::track_remote::TrackRemote>) {
        if let Some(f) = &self.track {
            f(track);
        }
    }
}

/// A callback for remote tracks (the ingest's video and audio).
pub type OnTrack =
    Box<dyn Fn(Arc<dyn webrtc::media_stream::track_remote::TrackRemote>) + Send + Sync>;

fn h264(fmtp: &str, pt: u8) -> RTCRtpCodecParameters {
    let fb = |typ: &str, parameter: &str| RTCPFeedback {
        typ: typ.into(),
        parameter: parameter.into(),
    };
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: "video/H264".into(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: fmtp.into(),
            rtcp_feedback: vec![fb("nack", ""), fb("nack", "pli"), fb("ccm", "fir")],
        },
        payload_type: pt,
    }
}

/// The codec a viewer's track is created with.
pub fn viewer_codec() -> RTCRtpCodec {
    h264(VIEWER_FMTP, 102).rtp_codec
}

fn engine(ingest: bool) -> Result<MediaEngine, webrtc::error::Error> {
    let mut me = MediaEngine::default();
    if ingest {
        for (plid, pt) in INGEST_PROFILES {
            let fmtp =
                format!("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id={plid}");
            me.register_codec(h264(&fmtp, *pt), RtpCodecKind::Video)?;
        }
    } else {
        me.register_codec(h264(VIEWER_FMTP, 102), RtpCodecKind::Video)?;
    }
    super::audio::register(&mut me)?;
    Ok(me)
}

/// The interceptors of a viewer's send-only connection: the NACK responder
/// (retransmits what a viewer lost) and sender reports (the browser's A/V
/// sync and RTT), nothing for receiving. Every interceptor is walked for
/// every packet sent, so the default set (with NACK generator, receiver
/// reports and TWCC receiver, idle on a send-only leg) costs CPU per
/// viewer for nothing. The codec already lists the `nack` feedback.
fn viewer_interceptors() -> Registry {
    use rtc::interceptor::{NackResponderBuilder, SenderReportBuilder, Slot};
    Registry::new()
        .with(Slot::NackResponder, NackResponderBuilder::new().build())
        .with(Slot::SenderReport, SenderReportBuilder::new().build())
}

/// A viewer's connection, sans-IO: ICE lite (the viewer's checks find us
/// on the egress's host candidates; we never probe it), send-only media.
pub fn viewer_connection(now: Instant) -> Result<RTCPeerConnection, webrtc::error::Error> {
    // The ICE agent's pace is also how soon it acts on the viewer's
    // nominating check. No mDNS: a browser's `.local` candidates need no
    // resolving (its checks tell us where it is), and any viewer could
    // otherwise make the server send queries and log their timeouts.
    let settings = SettingEngineBuilder::new()
        .with_lite(true)
        .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(ICE_MAX_BINDING_REQUESTS))
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        .build();
    RTCPeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_setting_engine(settings)
        .with_media_engine(engine(false)?)
        .with_interceptor_registry(viewer_interceptors())
        .build(now)
}

/// A new ingest connection bound to `udp_addrs`; remote tracks go to `on_track`.
pub async fn build(
    udp_addrs: Vec<String>,
    on_track: OnTrack,
) -> Result<(Arc<dyn PeerConnection>, Events), webrtc::error::Error> {
    let mut me = engine(true)?;
    let registry =
        webrtc::peer_connection::register_default_interceptors(Registry::new(), &mut me)?;
    let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
    let (gathered_tx, gathered) = watch::channel(false);
    let handler = Arc::new(Handler {
        state: state_tx,
        gathered: gathered_tx,
        track: Some(on_track),
    });

    // DTLS server: the relay, as client, finishes its handshake after we
    // have our SRTP keys. As the client we finished last, and the relay's
    // first packets (the keyframe a viewer waits for), sent along with its
    // Finished, were now and then dropped for want of keys: a cold start
    // then waited a whole GOP.
    let settings = SettingEngineBuilder::new()
        .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(ICE_MAX_BINDING_REQUESTS))
        .with_answering_dtls_role(RTCDtlsRole::Server)
        .build();
    let mut builder = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_setting_engine(settings)
        .with_media_engine(me)
        .with_interceptor_registry(registry)
        .with_handler(handler)
        .with_udp_addrs(udp_addrs);
    if let Some(runtime) = super::ingest_runtime::runtime() {
        builder = builder.with_runtime(runtime);
    }
    let pc = builder.build().await?;
    let pc: Arc<dyn PeerConnection> = Arc::new(pc);
    Ok((pc, Events { state, gathered }))
}

/// Applies `offer`, answers, waits for gathering; the answer's SDP.
pub async fn answer(
    pc: &Arc<dyn PeerConnection>,
    events: &mut Events,
    offer: String,
) -> Result<String, webrtc::error::Error> {
    pc.set_remote_description(RTCSessionDescription::offer(offer)?)
        .await?;
    let answer = pc.create_answer(None).await?;
    pc.set_local_description(answer).await?;
    let wait = events.gathered.wait_for(|done| *done);
    let _ = tokio::time::timeout(GATHER_TIMEOUT, wait).await;
    let local = pc.local_description().await;
    local
        .map(|d| d.sdp)
        .ok_or_else(|| webrtc::error::Error::Other("no local description".into()))
}

/// Routes the `log` records of `webrtc` into `tracing` (once per process).
pub fn route_log_into_tracing() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tracing_log::LogTracer::init();
    });
}

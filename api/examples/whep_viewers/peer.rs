//! One receive-only viewer built with the `webrtc` crate: it counts the RTP
//! packets and payload bytes of every remote track and does nothing else
//! with them (no depacketizing, no decoding), so the client costs the same
//! whichever server it watches.
//!
//! Invariant: the counters only grow; the caller reads them twice to get a
//! window's worth.

use async_trait::async_trait;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceGatheringState,
    RTCPeerConnectionState, RTCSessionDescription, Registry,
};

/// What one viewer received so far, and when its first packet came.
#[derive(Default)]
pub struct Counters {
    pub packets: AtomicU64,
    pub bytes: AtomicU64,
    pub first: OnceLock<Instant>,
}

impl Counters {
    pub fn get(&self) -> (u64, u64) {
        (self.packets.load(Relaxed), self.bytes.load(Relaxed))
    }
}

struct Handler {
    gathered: watch::Sender<bool>,
    state: watch::Sender<RTCPeerConnectionState>,
    counters: Arc<Counters>,
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
        let counters = self.counters.clone();
        tokio::spawn(async move {
            while let Some(evt) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(p) = evt {
                    counters.first.get_or_init(Instant::now);
                    counters.packets.fetch_add(1, Relaxed);
                    counters.bytes.fetch_add(p.payload.len() as u64, Relaxed);
                }
            }
        });
    }
}

/// A viewer's connection and what it counted.
pub struct Peer {
    pub pc: Arc<dyn PeerConnection>,
    pub counters: Arc<Counters>,
    state: watch::Receiver<RTCPeerConnectionState>,
    gathered: watch::Receiver<bool>,
}

impl Peer {
    /// A connection whose sockets bind `bind` (an IP: port 0 is added).
    pub async fn new(bind: &str) -> anyhow::Result<Self> {
        let mut me = MediaEngine::default();
        me.register_default_codecs()?;
        let registry = register_default_interceptors(Registry::new(), &mut me)?;
        let (gathered_tx, gathered) = watch::channel(false);
        let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
        let counters = Arc::new(Counters::default());
        let handler = Arc::new(Handler {
            gathered: gathered_tx,
            state: state_tx,
            counters: counters.clone(),
        });

        let pc = PeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_media_engine(me)
            .with_interceptor_registry(registry)
            .with_handler(handler)
            .with_udp_addrs(vec![format!("{bind}:0")])
            .build()
            .await?;
        Ok(Self {
            pc: Arc::new(pc),
            counters,
            state,
            gathered,
        })
    }

    /// The local description once gathering finished (or 5 s passed).
    async fn local_sdp(&mut self) -> anyhow::Result<String> {
        let done = self.gathered.wait_for(|g| *g);
        let _ = tokio::time::timeout(Duration::from_secs(5), done).await;
        let local = self.pc.local_description().await;
        Ok(local
            .ok_or_else(|| anyhow::anyhow!("no local description"))?
            .sdp)
    }

    /// A receive-only video offer with every candidate (for WHEP).
    pub async fn offer(&mut self) -> anyhow::Result<String> {
        let init = RTCRtpTransceiverInit {
            direction: RTCRtpTransceiverDirection::Recvonly,
            ..Default::default()
        };
        let kind = RtpCodecKind::Video;
        self.pc.add_transceiver_from_kind(kind, Some(init)).await?;
        let offer = self.pc.create_offer(None).await?;
        self.pc.set_local_description(offer).await?;
        self.local_sdp().await
    }

    /// Applies the server's answer to our offer.
    pub async fn accept(&self, answer: String) -> anyhow::Result<()> {
        let answer = RTCSessionDescription::answer(answer)?;
        Ok(self.pc.set_remote_description(answer).await?)
    }

    /// Answers the server's offer (Janus offers); our answer's SDP.
    pub async fn answer(&mut self, offer: String) -> anyhow::Result<String> {
        let offer = RTCSessionDescription::offer(offer)?;
        self.pc.set_remote_description(offer).await?;
        let answer = self.pc.create_answer(None).await?;
        self.pc.set_local_description(answer).await?;
        self.local_sdp().await
    }

    /// Waits until connected; false on failure or after `secs`.
    pub async fn connected(&mut self, secs: u64) -> bool {
        let up = self.state.wait_for(|s| {
            matches!(
                s,
                RTCPeerConnectionState::Connected | RTCPeerConnectionState::Failed
            )
        });
        let got = tokio::time::timeout(Duration::from_secs(secs), up).await;
        matches!(got, Ok(Ok(s)) if *s == RTCPeerConnectionState::Connected)
    }
}

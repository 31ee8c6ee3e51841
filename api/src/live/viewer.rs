//! A WHEP viewer session: a send-only peer connection with one H.264
//! track (and an audio track when the viewer's offer has audio), fed from
//! the camera's fan-outs once the connection is up.
//!
//! Invariant: the first packet a viewer is sent starts a keyframe (the
//! cached GOP, or the next keyframe if none is cached), and every packet
//! it is sent went through its own [`Rewriter`], so the stream it sees is
//! one valid RTP stream whatever the ingest did.

use super::rewrite::Rewriter;
use super::viewer_audio::{AudioFeed, ViewerAudio};
use super::{peer, CameraLive};
use rtc::media_stream::MediaStreamTrack;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use uuid::Uuid;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::peer_connection::{PeerConnection, RTCPeerConnectionState};
use webrtc::rtp_transceiver::RtpSender;

/// How long a viewer whose connection went `disconnected` (no packets from
/// it for a few seconds) may take to come back before its session ends.
const RECONNECT_GRACE: Duration = Duration::from_secs(10);

/// Most queued packets a viewer takes per wake-up (a keyframe's burst goes
/// out in one pass instead of one `select!` per packet).
const BATCH: usize = 64;

/// How long a viewer has to connect (ICE + DTLS) after its answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// One viewer.
pub struct Session {
    pub id: Uuid,
    pub tenant: Uuid,
    /// The user (actor id) who opened it.
    pub owner: Option<Uuid>,
    pub camera: Arc<CameraLive>,
    pub started: Instant,
    pub pc: Arc<dyn PeerConnection>,
    /// What this viewer was sent.
    pub sent: Arc<super::stats::Counters>,
    /// Who watches, for the audit event when the session ends by itself.
    pub actor: crate::audit::Actor,
    pub meta: crate::audit::RequestMeta,
}

impl Session {
    /// Records `live.view.end` with the duration, in its own transaction
    /// (for a session that ended without a request: the viewer went away).
    pub async fn audit_end(&self, db: &sea_orm::DatabaseConnection, reason: &str) {
        use sea_orm::TransactionTrait;
        let secs = (self.started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
        let ev = crate::audit::Event {
            actor: &self.actor,
            action: "live.view.end",
            target: Some(("camera", self.camera.id)),
            outcome: "success",
            details: serde_json::json!({
                "session_id": self.id, "duration_secs": secs, "reason": reason
            }),
            meta: &self.meta,
        };
        let done = async {
            let tx = db.begin().await?;
            crate::db::scope_to_tenant(&tx, self.tenant).await?;
            crate::audit::append(&tx, self.tenant, ev).await?;
            tx.commit().await
        };
        if let Err(e) = done.await {
            let id = self.id;
            tracing::warn!(session.id = %id, error = %e, "could not audit a live view's end");
        }
    }
}

/// A negotiated viewer, not yet connected.
pub struct Pending {
    pub pc: Arc<dyn PeerConnection>,
    pub answer: String,
    track: Arc<TrackLocalStaticRTP>,
    sender: Arc<dyn RtpSender>,
    ssrc: u32,
    audio: Option<ViewerAudio>,
    state: watch::Receiver<RTCPeerConnectionState>,
}

/// Answers a viewer's `offer` (checked by [`super::sdp::check_offer`]).
pub async fn negotiate(
    udp_addrs: Vec<String>,
    offer: String,
) -> Result<Pending, webrtc::error::Error> {
    let (pc, mut events) = peer::build(udp_addrs, None).await?;
    let ssrc = rand::random::<u32>();
    let coding = RTCRtpEncodingParameters {
        rtp_coding_parameters: RTCRtpCodingParameters {
            ssrc: Some(ssrc),
            ..Default::default()
        },
        codec: peer::viewer_codec(),
        ..Default::default()
    };
    let label = format!("argus-{ssrc}");
    let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        label.clone(),
        label.clone(),
        label.clone(),
        RtpCodecKind::Video,
        vec![coding],
    )));
    let sender = pc.add_track(track.clone() as Arc<dyn TrackLocal>).await?;
    let audio = match super::audio::offers_audio(&offer) {
        true => Some(ViewerAudio::add_to(&pc, &label).await?),
        false => None,
    };

    match peer::answer(&pc, &mut events, offer).await {
        Ok(answer) => Ok(Pending {
            pc,
            answer,
            track,
            sender,
            ssrc,
            audio,
            state: events.state,
        }),
        Err(e) => {
            let _ = pc.close().await;
            Err(e)
        }
    }
}

impl Pending {
    /// Feeds the viewer from `cam` once connected, until it disconnects;
    /// then calls `ended`.
    pub fn run(
        self,
        session: Uuid,
        cam: Arc<CameraLive>,
        sent: Arc<super::stats::Counters>,
        ended: impl FnOnce() + Send + 'static,
    ) {
        tokio::spawn(async move {
            if let Err(why) = self.feed(session, &cam, &sent).await {
                tracing::debug!(session.id = %session, %why, "viewer ended");
            }
            cam.fanout.unsubscribe(session);
            cam.audio.unsubscribe(session);
            let _ = self.pc.close().await;
            ended();
        });
    }

    async fn feed(
        &self,
        session: Uuid,
        cam: &CameraLive,
        sent: &super::stats::Counters,
    ) -> Result<(), String> {
        let mut state = self.state.clone();
        let up = state.wait_for(|s| {
            matches!(
                s,
                RTCPeerConnectionState::Connected
                    | RTCPeerConnectionState::Failed
                    | RTCPeerConnectionState::Closed
            )
        });
        match tokio::time::timeout(CONNECT_TIMEOUT, up).await {
            Ok(Ok(s)) if *s == RTCPeerConnectionState::Connected => {}
            _ => return Err("did not connect".into()),
        }
        let mut rewriter = Rewriter::new(self.ssrc, self.payload_type().await?);

        let mut audio = AudioFeed::start(self.audio.as_ref(), session, cam).await;
        let (gop, mut rx) = cam.fanout.subscribe(session);
        for pkt in gop {
            self.write(rewriter.apply(pkt), sent).await?;
        }
        let mut batch = Vec::with_capacity(BATCH);
        // Set while ICE says disconnected: the viewer has until then to come back.
        let mut lost_until: Option<tokio::time::Instant> = None;
        loop {
            let give_up = async {
                match lost_until {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                n = rx.recv_many(&mut batch, BATCH) => {
                    if n == 0 {
                        return Err("fan-out closed".into());
                    }
                    for pkt in batch.drain(..) {
                        self.write(rewriter.apply(pkt), sent).await?;
                    }
                }
                Some(pkt) = audio.next() => {
                    if let Some(n) = audio.write(pkt).await? {
                        sent.add(n);
                    }
                }
                s = state.changed() => {
                    let now = *state.borrow();
                    if s.is_err() || gone(now) {
                        return Err(format!("connection {now}"));
                    }
                    lost_until = match now {
                        RTCPeerConnectionState::Disconnected => {
                            lost_until.or(Some(tokio::time::Instant::now() + RECONNECT_GRACE))
                        }
                        _ => None,
                    };
                }
                _ = give_up => return Err("disconnected and did not come back".into()),
            }
        }
    }

    /// The H.264 payload type negotiated on this viewer's connection.
    async fn payload_type(&self) -> Result<u8, String> {
        let params = self
            .sender
            .get_parameters()
            .await
            .map_err(|e| e.to_string())?;
        params
            .rtp_parameters
            .codecs
            .iter()
            .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case("video/h264"))
            .map(|c| c.payload_type)
            .ok_or_else(|| "no H.264 negotiated".to_string())
    }

    async fn write(
        &self,
        pkt: rtc::rtp::Packet,
        sent: &super::stats::Counters,
    ) -> Result<(), String> {
        sent.add(pkt.payload.len());
        self.track.write_rtp(pkt).await.map_err(|e| e.to_string())
    }
}

/// Whether a connection in state `s` will not carry video any more.
/// `Disconnected` is not final: ICE recovers from a short network blip
/// (the viewer gets [`RECONNECT_GRACE`]).
fn gone(s: RTCPeerConnectionState) -> bool {
    use RTCPeerConnectionState::{Closed, Failed};
    matches!(s, Failed | Closed)
}

//! The WHIP ingest of one camera: a receive-only peer connection whose
//! video track's RTP goes, packet by packet, into the camera's fan-out, and
//! whose audio track (if the relay sends one) into the camera's audio one.
//!
//! Invariant: a camera has at most one ingest; a new one replaces (and
//! closes) the old, and an ingest that fails or closes removes itself only
//! if it is still the current one.

use super::{peer, CameraLive};
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use std::sync::Arc;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{PeerConnection, RTCPeerConnectionState};

/// A running ingest.
pub struct Ingest {
    pub id: uuid::Uuid,
    pc: Arc<dyn PeerConnection>,
}

impl Ingest {
    /// Closes the connection.
    pub async fn close(&self) {
        if let Err(e) = self.pc.close().await {
            tracing::debug!(error = %e, "closing an ingest");
        }
    }
}

/// Answers `offer` with a new ingest for `cam`; returns its id and the
/// answer SDP. The offer must have passed [`super::sdp::check_offer`].
pub async fn start(
    cam: Arc<CameraLive>,
    udp_addrs: Vec<String>,
    offer: String,
) -> Result<(uuid::Uuid, String), webrtc::error::Error> {
    let sink = cam.clone();
    let on_track: peer::OnTrack = Box::new(move |track| {
        tokio::spawn(forward(track, sink.clone()));
    });
    let (pc, mut events) = peer::build(udp_addrs, on_track).await?;
    let init = RTCRtpTransceiverInit {
        direction: RTCRtpTransceiverDirection::Recvonly,
        ..Default::default()
    };
    pc.add_transceiver_from_kind(RtpCodecKind::Video, Some(init.clone()))
        .await?;
    if super::audio::offers_audio(&offer) {
        pc.add_transceiver_from_kind(RtpCodecKind::Audio, Some(init))
            .await?;
    }
    let answer = match peer::answer(&pc, &mut events, offer).await {
        Ok(a) => a,
        Err(e) => {
            let _ = pc.close().await;
            return Err(e);
        }
    };

    let id = uuid::Uuid::now_v7();
    if let Some(old) = cam.set_ingest(Ingest { id, pc: pc.clone() }) {
        tokio::spawn(async move { old.close().await });
    }
    tokio::spawn(watch_end(cam, id, events.state));
    tracing::info!(ingest.id = %id, "live ingest started");
    Ok((id, answer))
}

/// Publishes every RTP packet of `track` to the camera's fan-out of its kind.
async fn forward(track: Arc<dyn TrackRemote>, cam: Arc<CameraLive>) {
    let audio = track.kind().await == RtpCodecKind::Audio;
    let mut audio_pt = None;
    let mut seqs = super::order::SeqWatch::default();
    while let Some(evt) = track.poll().await {
        let TrackRemoteEvent::OnRtpPacket(mut pkt) = evt else {
            continue;
        };
        cam.received.add(pkt.payload.len());
        if !audio {
            if seqs.see(&pkt.header, &cam.order) {
                let key = super::h264::starts_keyframe(&pkt.payload);
                let (ssrc, seq) = (pkt.header.ssrc, pkt.header.sequence_number);
                tracing::debug!(camera.id = %cam.id, ssrc, seq, key, "ingest video starts");
            }
            cam.fanout.publish(pkt);
            continue;
        }
        if audio_pt.is_none() {
            audio_pt = sfu_audio_pt(&*track, pkt.header.ssrc).await;
        }
        if let Some(pt) = audio_pt {
            pkt.header.payload_type = pt;
            cam.audio.publish(pkt);
        }
    }
    tracing::debug!(camera.id = %cam.id, audio, "ingest track ended");
}

/// The SFU's payload type for the codec of an ingest's audio track.
async fn sfu_audio_pt(track: &dyn TrackRemote, ssrc: u32) -> Option<u8> {
    let codec = track.codec(ssrc).await?;
    let pt = super::audio::sfu_payload_type(&codec.mime_type);
    if pt.is_none() {
        tracing::warn!(codec = %codec.mime_type, "ingest audio in a codec the SFU does not forward");
    }
    pt
}

/// Removes the ingest once its connection failed or closed.
async fn watch_end(
    cam: Arc<CameraLive>,
    id: uuid::Uuid,
    mut state: tokio::sync::watch::Receiver<RTCPeerConnectionState>,
) {
    let ended = |s: &RTCPeerConnectionState| {
        matches!(
            s,
            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed
        )
    };
    let _ = state.wait_for(ended).await;
    if let Some(i) = cam.take_ingest(id) {
        i.close().await;
        tracing::info!(ingest.id = %id, "live ingest ended");
    }
}

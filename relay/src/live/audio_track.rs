//! The audio track of a WHIP push: the camera's Opus or G.711 RTP payloads
//! sent as they came, under this connection's SSRC, payload type and
//! sequence numbers.
//!
//! Invariant: the timestamps keep the camera's spacing (offset by a random
//! base), so the browser's jitter buffer sees the camera's own timing.

use super::audio::{AudioCodec, AudioPacket};
use super::LiveError;
use rtc::media_stream::MediaStreamTrack;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use std::sync::atomic::{AtomicU16, AtomicU8, Ordering};
use std::sync::Arc;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::peer_connection::PeerConnection;

/// One push's audio track.
pub struct AudioTrack {
    pub codec: AudioCodec,
    track: Arc<TrackLocalStaticRTP>,
    ssrc: u32,
    /// Set once the answer is in; 0 until then.
    payload_type: AtomicU8,
    next_seq: AtomicU16,
    ts_offset: u32,
}

/// The codec as the media engine and the track describe it.
pub fn codec_parameters(codec: AudioCodec) -> RTCRtpCodecParameters {
    let (clock_rate, channels, payload_type, fmtp) = codec.rtp();
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: codec.mime().into(),
            clock_rate,
            channels,
            sdp_fmtp_line: fmtp.into(),
            rtcp_feedback: vec![],
        },
        payload_type,
    }
}

impl AudioTrack {
    /// A new track, added to `pc` (before the offer is made).
    pub async fn add_to(
        pc: &Arc<dyn PeerConnection>,
        codec: AudioCodec,
    ) -> Result<Self, LiveError> {
        let ssrc = rand::random::<u32>();
        let coding = RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec: codec_parameters(codec).rtp_codec,
            ..Default::default()
        };
        let id = format!("argus-audio-{ssrc:08x}");
        let stream = MediaStreamTrack::new(
            "camera".into(),
            id.clone(),
            id,
            RtpCodecKind::Audio,
            vec![coding],
        );
        let track = Arc::new(TrackLocalStaticRTP::new(stream));
        pc.add_track(track.clone() as Arc<dyn TrackLocal>).await?;
        Ok(Self {
            codec,
            track,
            ssrc,
            payload_type: AtomicU8::new(0),
            next_seq: AtomicU16::new(rand::random()),
            ts_offset: rand::random(),
        })
    }

    /// Takes the payload type the answer settled on; false if the SFU's
    /// answer left audio out (the push then goes on without it).
    pub async fn bind(&self, pc: &Arc<dyn PeerConnection>) -> bool {
        let Some(pt) = super::whip::negotiated_pt(pc, self.codec.mime()).await else {
            return false;
        };
        self.payload_type.store(pt, Ordering::Relaxed);
        true
    }

    /// Sends one packet of the camera's audio.
    pub async fn send(&self, pkt: AudioPacket) -> Result<(), LiveError> {
        let mut out = rtc::rtp::Packet::default();
        let h = &mut out.header;
        h.version = 2;
        h.marker = pkt.marker;
        h.payload_type = self.payload_type.load(Ordering::Relaxed);
        h.sequence_number = self.next_seq.fetch_add(1, Ordering::Relaxed);
        h.timestamp = pkt.timestamp.wrapping_add(self.ts_offset);
        h.ssrc = self.ssrc;
        out.payload = pkt.payload;
        self.track.write_rtp(out).await?;
        Ok(())
    }
}

//! A viewer's audio track: the camera's audio fan-out written to one
//! viewer, under that viewer's SSRC, sequence numbers and the payload type
//! its connection negotiated for the packet's codec.
//!
//! Invariant: a packet whose codec this viewer did not negotiate is
//! dropped, never sent under another codec's payload type.

use super::rewrite::Rewriter;
use super::CameraLive;
use rtc::media_stream::MediaStreamTrack;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;
use uuid::Uuid;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::peer_connection::PeerConnection;
use webrtc::rtp_transceiver::RtpSender;

/// The audio track added to a viewer's connection.
pub struct ViewerAudio {
    track: Arc<TrackLocalStaticRTP>,
    sender: Arc<dyn RtpSender>,
    ssrc: u32,
}

/// The track once the connection is up: where each codec goes.
struct BoundAudio {
    track: Arc<TrackLocalStaticRTP>,
    /// SFU payload type → this viewer's.
    payload_types: HashMap<u8, u8>,
    rewriter: Rewriter,
}

impl ViewerAudio {
    /// Adds a send-only audio track to `pc` (before the answer), in the
    /// media stream `stream_id` of the viewer's video, so a browser plays
    /// both as one stream.
    pub async fn add_to(
        pc: &Arc<dyn PeerConnection>,
        stream_id: &str,
    ) -> Result<Self, webrtc::error::Error> {
        let ssrc = rand::random::<u32>();
        let (mime, clock_rate, channels, _, fmtp) = super::audio::CODECS[0];
        let coding = RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec: rtc::rtp_transceiver::rtp_sender::RTCRtpCodec {
                mime_type: mime.into(),
                clock_rate,
                channels,
                sdp_fmtp_line: fmtp.into(),
                rtcp_feedback: vec![],
            },
            ..Default::default()
        };
        let label = format!("argus-audio-{ssrc}");
        let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            stream_id.into(),
            label.clone(),
            label,
            RtpCodecKind::Audio,
            vec![coding],
        )));
        let sender = pc.add_track(track.clone() as Arc<dyn TrackLocal>).await?;
        Ok(Self {
            track,
            sender,
            ssrc,
        })
    }

    /// The negotiated codecs; `None` if the viewer took no forwarded one.
    async fn bind(&self) -> Option<BoundAudio> {
        let params = self.sender.get_parameters().await.ok()?;
        let codecs = params.rtp_parameters.codecs.iter();
        let negotiated = codecs.map(|c| (c.rtp_codec.mime_type.as_str(), c.payload_type));
        let payload_types = super::audio::viewer_map(negotiated);
        if payload_types.is_empty() {
            return None;
        }
        Some(BoundAudio {
            track: self.track.clone(),
            payload_types,
            rewriter: Rewriter::new(self.ssrc, 0),
        })
    }
}

/// What a connected viewer's feed loop holds of the audio: the bound
/// track and its queue, or nothing when the viewer took no audio.
pub struct AudioFeed(Option<(BoundAudio, mpsc::Receiver<rtc::rtp::Packet>)>);

impl AudioFeed {
    /// Subscribes viewer `session` to the camera's audio, if its
    /// connection negotiated a forwarded codec.
    pub async fn start(audio: Option<&ViewerAudio>, session: Uuid, cam: &CameraLive) -> Self {
        let bound = match audio {
            Some(a) => a.bind().await,
            None => None,
        };
        Self(bound.map(|b| (b, cam.audio.subscribe(session).1)))
    }

    /// The next packet; never, for a viewer without audio.
    pub async fn next(&mut self) -> Option<rtc::rtp::Packet> {
        match &mut self.0 {
            Some((_, rx)) => rx.recv().await,
            None => std::future::pending().await,
        }
    }

    /// Writes `pkt` to the viewer: the payload bytes sent, `None` if dropped.
    pub async fn write(&mut self, pkt: rtc::rtp::Packet) -> Result<Option<usize>, String> {
        match &mut self.0 {
            Some((bound, _)) => bound.write(pkt).await,
            None => Ok(None),
        }
    }
}

impl BoundAudio {
    /// Writes one packet of the camera's audio: the payload bytes sent,
    /// `None` when dropped.
    async fn write(&mut self, pkt: rtc::rtp::Packet) -> Result<Option<usize>, String> {
        let Some(&pt) = self.payload_types.get(&pkt.header.payload_type) else {
            return Ok(None);
        };
        let mut pkt = self.rewriter.apply(pkt);
        pkt.header.payload_type = pt;
        let len = pkt.payload.len();
        self.track.write_rtp(pkt).await.map_err(|e| e.to_string())?;
        Ok(Some(len))
    }
}

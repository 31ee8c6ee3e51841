//! Camera audio in live view: Opus and G.711 (µ-law, A-law), the codecs
//! both a camera and a browser's WebRTC speak, are forwarded as they come;
//! AAC and the rest never reach the SFU (the relay leaves them out) and the
//! camera's status carries [`note`] saying why.
//!
//! Inside the SFU an audio packet carries its codec's payload type from
//! [`CODECS`] whatever the relay negotiated; each viewer's writer maps it to
//! the payload type negotiated on that viewer's connection.

use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind};
use std::collections::HashMap;
use webrtc::peer_connection::MediaEngine;

/// `(mime type, clock rate, channels, payload type in the SFU, fmtp)`.
pub const CODECS: &[(&str, u32, u16, u8, &str)] = &[
    ("audio/opus", 48_000, 2, 111, "minptime=10;useinbandfec=1"),
    ("audio/PCMU", 8000, 1, 0, ""),
    ("audio/PCMA", 8000, 1, 8, ""),
];

/// Registers every forwarded audio codec on a connection's media engine.
pub fn register(me: &mut MediaEngine) -> Result<(), webrtc::error::Error> {
    for &(mime, clock_rate, channels, payload_type, fmtp) in CODECS {
        let codec = RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: mime.into(),
                clock_rate,
                channels,
                sdp_fmtp_line: fmtp.into(),
                rtcp_feedback: vec![],
            },
            payload_type,
        };
        me.register_codec(codec, RtpCodecKind::Audio)?;
    }
    Ok(())
}

/// The SFU's payload type of `mime`, if it is a forwarded codec.
pub fn sfu_payload_type(mime: &str) -> Option<u8> {
    let known = CODECS.iter().find(|c| c.0.eq_ignore_ascii_case(mime));
    known.map(|c| c.3)
}

/// Maps SFU payload types to those negotiated on one viewer's connection,
/// from that connection's `(mime, payload type)` pairs.
pub fn viewer_map<'a>(negotiated: impl Iterator<Item = (&'a str, u8)>) -> HashMap<u8, u8> {
    let found = negotiated.filter_map(|(mime, pt)| sfu_payload_type(mime).map(|sfu| (sfu, pt)));
    found.collect()
}

/// Whether an SDP offer has an audio section a receiver could use.
pub fn offers_audio(sdp: &str) -> bool {
    sdp.split("\nm=").skip(1).any(|m| m.starts_with("audio"))
}

/// The note for a camera's status given its audio encoding (as the
/// camera's SDP names it), or `None` when nothing needs saying.
pub fn note(encoding: Option<&str>) -> Option<String> {
    let encoding = encoding?.to_ascii_lowercase();
    let name = match encoding.as_str() {
        "pcmu" | "pcma" | "opus" => return None,
        "mpeg4-generic" | "mp4a-latm" => "AAC".to_string(),
        other => other.to_uppercase(),
    };
    Some(format!(
        "{name} audio is not played in live view: browsers' WebRTC takes only Opus or G.711 \
         (set the camera's audio to G.711 or Opus to hear it); video is not affected"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aac_gets_a_note_and_forwarded_codecs_none() {
        let aac = note(Some("MPEG4-GENERIC")).unwrap();
        assert!(aac.starts_with("AAC audio is not played"), "{aac}");
        assert!(note(Some("g726-32")).unwrap().starts_with("G726-32"));
        assert_eq!(note(Some("pcmu")), None);
        assert_eq!(note(Some("opus")), None);
        assert_eq!(note(None), None);
    }

    #[test]
    fn viewer_payload_types_are_mapped_by_codec() {
        let negotiated = [("audio/OPUS", 109), ("audio/PCMU", 0), ("audio/G722", 9)];
        let map = viewer_map(negotiated.into_iter());
        assert_eq!(map.get(&111), Some(&109));
        assert_eq!(map.get(&0), Some(&0));
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn audio_sections_are_found() {
        assert!(offers_audio("v=0\r\nm=video 9 X 96\r\nm=audio 9 X 111\r\n"));
        assert!(!offers_audio("v=0\r\nm=video 9 X 96\r\na=x:audio\r\n"));
    }
}

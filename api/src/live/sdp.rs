//! Checking an SDP offer before any connection is built, so a bad one gets
//! a clear 4xx instead of a failed negotiation.
//!
//! An offer must parse, have a video section, and list H.264 in
//! packetization mode 1 there; H.265 or VP8 alone is refused with a
//! message saying live view needs H.264.

use crate::error::{ApiError, Kind};
use rtc::sdp::description::session::SessionDescription;
use std::io::Cursor;

/// Largest SDP body accepted (offer or trickle fragment).
pub const MAX_SDP: usize = 64 * 1024;

/// Why an offer is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OfferError {
    /// Not SDP at all.
    #[error("malformed SDP offer: {0}")]
    Malformed(String),
    /// No `m=video` section.
    #[error("the offer has no video section")]
    NoVideo,
    /// Video, but no H.264 in packetization mode 1.
    #[error("live view needs H.264 (packetization-mode=1); the offer has only: {0}")]
    NoH264(String),
}

impl From<OfferError> for ApiError {
    fn from(e: OfferError) -> Self {
        ApiError::new(Kind::InvalidArgument, e.to_string())
    }
}

/// Checks `sdp` is an offer the SFU can answer.
pub fn check_offer(sdp: &str) -> Result<(), OfferError> {
    if !sdp.starts_with("v=0") {
        return Err(OfferError::Malformed("must start with v=0".into()));
    }
    let parsed = SessionDescription::unmarshal(&mut Cursor::new(sdp.as_bytes()))
        .map_err(|e| OfferError::Malformed(e.to_string()))?;
    let video: Vec<_> = parsed
        .media_descriptions
        .iter()
        .filter(|m| m.media_name.media == "video")
        .collect();
    if video.is_empty() {
        return Err(OfferError::NoVideo);
    }

    let mut offered = vec![];
    for m in video {
        for a in &m.attributes {
            let value = a.value.as_deref().unwrap_or("");
            if a.key == "rtpmap" {
                let codec = value.split_whitespace().nth(1).unwrap_or("");
                offered.push(codec.split('/').next().unwrap_or("").to_string());
            }
        }
        if h264_mode1(&m.attributes) {
            return Ok(());
        }
    }
    offered.sort();
    offered.dedup();
    Err(OfferError::NoH264(offered.join(", ")))
}

/// Refuses an offer whose video sections all say `refused` (`sendonly` for
/// a viewer, who can only receive; `recvonly` for a relay, who only sends)
/// or `inactive`.
pub fn check_direction(sdp: &str, refused: &str) -> Result<(), ApiError> {
    let mut sections = sdp.split("\nm=").skip(1);
    let none_usable = sections.all(|m| {
        !m.starts_with("video") || m.contains(&format!("a={refused}")) || m.contains("a=inactive")
    });
    if none_usable {
        return Err(ApiError::invalid(format!(
            "the offer's video is {refused} or inactive: nothing could flow the right way"
        )));
    }
    Ok(())
}

/// Whether a video section lists H.264 with packetization-mode=1.
fn h264_mode1(attrs: &[rtc::sdp::description::common::Attribute]) -> bool {
    let value = |a: &rtc::sdp::description::common::Attribute| a.value.clone().unwrap_or_default();
    let h264_pts: Vec<String> = attrs
        .iter()
        .filter(|a| a.key == "rtpmap" && value(a).to_ascii_uppercase().contains(" H264/"))
        .filter_map(|a| value(a).split_whitespace().next().map(str::to_string))
        .collect();
    attrs.iter().any(|a| {
        let v = value(a);
        let (pt, params) = v.split_once(' ').unwrap_or(("", ""));
        a.key == "fmtp"
            && h264_pts.iter().any(|p| p == pt)
            && params.contains("packetization-mode=1")
    })
}

/// The `a=candidate` lines of a trickle-ICE fragment (RFC 8840), with the
/// `a=mid` in force for each.
pub fn candidates(frag: &str) -> Vec<(String, Option<String>)> {
    let mut mid = None;
    let mut out = vec![];
    for line in frag.lines().map(str::trim) {
        if let Some(m) = line.strip_prefix("a=mid:") {
            mid = Some(m.to_string());
        } else if let Some(c) = line
            .strip_prefix("a=")
            .filter(|c| c.starts_with("candidate:"))
        {
            out.push((c.to_string(), mid.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

    #[test]
    fn offers_are_sorted_out() {
        assert!(matches!(
            check_offer("hello"),
            Err(OfferError::Malformed(_))
        ));
        let audio =
            format!("{HEAD}m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n");
        assert!(matches!(check_offer(&audio), Err(OfferError::NoVideo)));
        let h265 = format!("{HEAD}m=video 9 UDP/TLS/RTP/SAVPF 98\r\na=rtpmap:98 H265/90000\r\n");
        let err = check_offer(&h265).unwrap_err().to_string();
        assert!(err.contains("needs H.264") && err.contains("H265"), "{err}");
        let h264 = format!(
            "{HEAD}m=video 9 UDP/TLS/RTP/SAVPF 102\r\na=rtpmap:102 H264/90000\r\n\
             a=fmtp:102 packetization-mode=1;profile-level-id=640028\r\n"
        );
        check_offer(&h264).unwrap();
    }

    #[test]
    fn trickle_fragments() {
        let frag = "a=ice-ufrag:x\r\nm=video 9 RTP/AVP 0\r\na=mid:0\r\n\
                    a=candidate:1 1 udp 1 127.0.0.1 5000 typ host\r\n";
        let c = candidates(frag);
        assert_eq!(
            c,
            [(
                "candidate:1 1 udp 1 127.0.0.1 5000 typ host".into(),
                Some("0".into())
            )]
        );
    }
}

//! Where a camera's video comes from: an RTSP camera ([`rtsp`], via
//! retina) or the built-in simulated camera ([`sim`]), chosen by the URL's
//! scheme.
//!
//! Every source yields the same thing: whole access units ([`Frame`]) in
//! decode order, in AVCC framing (each NAL prefixed by its 4-byte length),
//! with timestamps in [`TIMESCALE`] units, and the stream's current
//! [`VideoParams`]. Invariant: a source never yields a frame before it knows
//! the parameters that decode it; a frame that changes them carries them.

pub mod rtsp;
pub mod sim;

use std::time::Duration;

use argus_core::Secret;

use crate::segment::{Codec, StreamInfo};

/// Timestamps of every [`Frame`] and of the fMP4 track: 90 kHz, the RTP
/// clock of H.264 and H.265.
pub const TIMESCALE: u32 = 90_000;

/// What decodes a stream: codec, picture size and the mp4 sample entry
/// (`avc1`/`hvc1` with the parameter sets) that goes into an init segment.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoParams {
    /// Codec and display size.
    pub info: StreamInfo,
    /// The `stsd` entry of this stream.
    pub sample_entry: mp4_atom::Codec,
}

/// One access unit (a picture) of the video stream.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Presentation time in [`TIMESCALE`] units; may jump (camera
    /// reboot, RTP wrap, a camera's clock being set), the segmenter copes.
    pub pts: i64,
    /// A random access point: IDR for H.264, any IRAP for H.265.
    pub is_key: bool,
    /// NAL units, each prefixed by its big-endian 4-byte length.
    pub data: Vec<u8>,
    /// Set when this frame starts new parameters (in-band SPS/PPS change).
    pub new_params: Option<VideoParams>,
}

/// Why a source could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The URL is not one the relay can pull (message never has credentials).
    #[error("bad source url: {0}")]
    BadUrl(String),
    /// The camera answered, but with an error or something unusable.
    #[error("camera: {0}")]
    Camera(String),
    /// The camera's stream offers no H.264/H.265 video track.
    #[error("no H.264 or H.265 video stream (offered: {0})")]
    NoVideo(String),
    /// A step took longer than allowed.
    #[error("timed out {0}")]
    Timeout(&'static str),
    /// The camera ended the stream.
    #[error("stream ended by the camera")]
    Ended,
    /// The simulated camera's encoder failed.
    #[error("encoder: {0}")]
    Encoder(String),
}

/// How long a source waits for the camera before giving up on a step.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// DESCRIBE, SETUP and PLAY each.
    pub connect: Duration,
    /// Between two frames once playing.
    pub frame: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            frame: Duration::from_secs(10),
        }
    }
}

/// A connected source, dispatched by URL scheme.
pub enum Source {
    /// `rtsp://` (TCP interleaved) or `rtspu://` (RTP over UDP).
    Rtsp(Box<rtsp::RtspSource>),
    /// `sim://name?fps=25&size=640x360&gop=50`.
    Sim(sim::SimSource),
}

impl Source {
    /// Connects to `url` (which carries no credentials; they come apart, as
    /// `user:password`).
    pub async fn open(
        url: &str,
        credentials: Option<&Secret<String>>,
        timeouts: Timeouts,
    ) -> Result<Self, SourceError> {
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("rtsp") | Some("rtspu") => {
                let src = rtsp::RtspSource::open(url, credentials, timeouts).await?;
                Ok(Source::Rtsp(Box::new(src)))
            }
            Some("sim") => Ok(Source::Sim(sim::SimSource::open(url).await?)),
            _ => Err(SourceError::BadUrl(format!(
                "scheme must be rtsp, rtspu or sim (got {})",
                redact_url(url)
            ))),
        }
    }

    /// The parameters in force for the next frame.
    pub fn params(&self) -> &VideoParams {
        match self {
            Source::Rtsp(s) => s.params(),
            Source::Sim(s) => s.params(),
        }
    }

    /// The encoding name of the camera's audio stream (`pcmu`, `opus`...),
    /// if it has one; the source itself yields video only.
    pub fn audio(&self) -> Option<&str> {
        match self {
            Source::Rtsp(s) => s.audio(),
            Source::Sim(_) => None,
        }
    }

    /// The next frame; `Err(Ended)` when the camera closes the stream.
    pub async fn next_frame(&mut self) -> Result<Frame, SourceError> {
        match self {
            Source::Rtsp(s) => s.next_frame().await,
            Source::Sim(s) => s.next_frame().await,
        }
    }

    /// Asks for a keyframe soon (a live viewer is waiting). The simulated
    /// camera answers with the next frame; RTSP has no such request, so a
    /// camera's next keyframe comes when it comes.
    /// TODO(#4): ONVIF cameras can be asked over their media service.
    pub fn request_keyframe(&mut self) {
        if let Source::Sim(s) = self {
            s.request_keyframe();
        }
    }
}

/// `url` with any `user:password@` removed, for logs and errors.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "[unparseable url]".to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://[redacted]@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// The codec of a stream's sample entry, if it is one the relay records.
pub fn codec_of(entry: &mp4_atom::Codec) -> Option<Codec> {
    match entry {
        mp4_atom::Codec::Avc1(_) | mp4_atom::Codec::Avc3(_) => Some(Codec::H264),
        mp4_atom::Codec::Hvc1(_) | mp4_atom::Codec::Hev1(_) => Some(Codec::H265),
        _ => None,
    }
}

/// Splits an Annex B byte stream into NAL units (start codes removed).
pub fn annexb_nals(stream: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i] == 0 && stream[i + 1] == 0 && stream[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }

    let mut nals = Vec::with_capacity(starts.len());
    for (k, &s) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(stream.len(), |&n| n - 3);
        while end > s && stream[end - 1] == 0 {
            end -= 1;
        }
        nals.push(&stream[s..end]);
    }
    nals
}

/// Iterates the NAL units of AVCC-framed data (4-byte lengths); stops at a
/// truncated unit.
pub fn avcc_nals(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let nal = rest.get(4..4 + len)?;
        rest = &rest[4 + len..];
        Some(nal)
    })
}

/// Whether an H.265 access unit holds an IRAP picture (NAL types 16–23:
/// BLA, IDR, CRA), i.e. a place a decoder can start. retina flags only IDR.
pub fn h265_is_irap(data: &[u8]) -> bool {
    avcc_nals(data).any(|nal| {
        nal.first()
            .is_some_and(|b| (16..=23).contains(&((b >> 1) & 0x3f)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn avcc(nals: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for n in nals {
            out.extend_from_slice(&(n.len() as u32).to_be_bytes());
            out.extend_from_slice(n);
        }
        out
    }

    #[test]
    fn h265_irap_detection_covers_cra_and_idr_but_not_trail() {
        let cra = [21 << 1, 1, 0xaa];
        let idr = [19 << 1, 1, 0xbb];
        let trail = [1 << 1, 1, 0xcc];
        let vps = [32 << 1, 1];
        assert!(h265_is_irap(&avcc(&[&vps, &cra])));
        assert!(h265_is_irap(&avcc(&[&idr])));
        assert!(!h265_is_irap(&avcc(&[&trail])));
        assert!(!h265_is_irap(&avcc(&[&vps])));
        assert!(
            !h265_is_irap(&[0, 0, 0, 9, 1]),
            "a truncated unit is not read"
        );
    }

    #[test]
    fn annexb_split_handles_three_and_four_byte_start_codes() {
        let s = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4,
        ];
        let nals = annexb_nals(&s);
        assert_eq!(nals, vec![&[0x67, 1, 2][..], &[0x68, 3], &[0x65, 4]]);
    }

    #[test]
    fn redaction_removes_userinfo_even_percent_encoded() {
        let u = "rtsp://ad%3Amin:p%40ss@10.0.0.5:554/stream?x=1";
        let r = redact_url(u);
        assert_eq!(r, "rtsp://[redacted]@10.0.0.5:554/stream?x=1");
        assert_eq!(redact_url("rtsp://cam/a@b"), "rtsp://cam/a@b");
    }
}

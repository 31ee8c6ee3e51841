//! A camera's audio for live view. Browsers' WebRTC plays Opus and G.711,
//! so a camera sending one of those has it forwarded as it is (no
//! transcoding); AAC and the rest are left out, and the camera's status
//! says so (the api words the note from the encoding the relay reports).
//!
//! The recorder's RTSP session carries video only (recordings keep no
//! audio, and retina cannot depacketize Opus). While a push runs, [`run`]
//! opens a second, audio-only session to the camera and hands on the RTP
//! payloads with their own timestamps. Invariant: audio never holds video
//! back: its session fails, times out and reconnects on its own, and a
//! full queue drops audio packets, never waits.

use crate::source::{rtsp, SourceError, Timeouts};
use argus_core::Secret;
use futures_util::StreamExt;
use retina::client::{PacketItem, PlayOptions, Session, SessionOptions, SetupOptions};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::timeout;

const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(20);

/// The audio codecs WebRTC in a browser plays, as cameras send them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudioCodec {
    /// G.711 µ-law.
    Pcmu,
    /// G.711 A-law.
    Pcma,
    Opus,
}

impl AudioCodec {
    /// The codec of an SDP encoding name, if live view forwards it.
    pub fn from_encoding(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "pcmu" => Some(Self::Pcmu),
            "pcma" => Some(Self::Pcma),
            "opus" => Some(Self::Opus),
            _ => None,
        }
    }

    /// `audio/…` as WebRTC names it.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Pcmu => "audio/PCMU",
            Self::Pcma => "audio/PCMA",
            Self::Opus => "audio/opus",
        }
    }

    /// `(clock rate, channels, payload type, fmtp)` of the WHIP offer.
    pub fn rtp(self) -> (u32, u16, u8, &'static str) {
        match self {
            Self::Pcmu => (8000, 1, 0, ""),
            Self::Pcma => (8000, 1, 8, ""),
            Self::Opus => (48_000, 2, 111, "minptime=10;useinbandfec=1"),
        }
    }
}

/// Where a push takes a camera's audio from.
#[derive(Clone, Debug)]
pub struct AudioSource {
    /// The camera's URL (credentials, if any, come apart).
    pub url: String,
    pub credentials: Option<Secret<String>>,
    pub codec: AudioCodec,
    pub timeouts: Timeouts,
}

/// One RTP payload of the camera's audio, with the camera's timestamp.
#[derive(Clone, Debug)]
pub struct AudioPacket {
    pub timestamp: u32,
    pub marker: bool,
    pub payload: bytes::Bytes,
}

/// Forwards the camera's audio into `tx` until `tx` closes, reconnecting
/// with capped backoff.
pub async fn run(src: AudioSource, tx: mpsc::Sender<AudioPacket>) {
    let mut delay = BACKOFF_MIN;
    while !tx.is_closed() {
        let error = match stream(&src, &tx, &mut delay).await {
            Ok(()) => return,
            Err(e) => e,
        };
        let retry_in_ms = delay.as_millis() as u64;
        tracing::warn!(error = %error, retry_in_ms, "live audio interrupted");
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = tx.closed() => return,
        }
        delay = (delay * 2).min(BACKOFF_MAX);
    }
}

/// One audio-only session; `Ok` once `tx` closed. Resets `delay` once
/// packets flow.
async fn stream(
    src: &AudioSource,
    tx: &mpsc::Sender<AudioPacket>,
    delay: &mut Duration,
) -> Result<(), SourceError> {
    let mut playing = open(src).await?;
    loop {
        let item = tokio::select! {
            item = timeout(src.timeouts.frame, playing.next()) => item,
            _ = tx.closed() => return Ok(()),
        };
        let item = item.map_err(|_| SourceError::Timeout("waiting for audio"))?;
        let pkt = match item {
            None => return Err(SourceError::Ended),
            Some(Err(e)) => return Err(rtsp::camera(e)),
            Some(Ok(PacketItem::Rtp(p))) => p,
            Some(Ok(_)) => continue,
        };
        *delay = BACKOFF_MIN;
        let packet = AudioPacket {
            timestamp: pkt.header().timestamp(),
            marker: pkt.mark(),
            payload: pkt.into_payload_bytes(),
        };
        if let Err(mpsc::error::TrySendError::Closed(_)) = tx.try_send(packet) {
            return Ok(());
        }
    }
}

/// DESCRIBE, SETUP of the audio stream only, PLAY; each step bounded.
async fn open(src: &AudioSource) -> Result<Session<retina::client::Playing>, SourceError> {
    let (url, transport, creds) = rtsp::split_url(&src.url, src.credentials.as_ref())?;
    let options = SessionOptions::default().creds(creds).user_agent(format!(
        "argus-relay/{} (live audio)",
        env!("CARGO_PKG_VERSION")
    ));
    let limit = src.timeouts.connect;
    let step = |what| move |_| SourceError::Timeout(what);

    let mut session = timeout(limit, Session::describe(url, options))
        .await
        .map_err(step("in DESCRIBE (audio)"))?
        .map_err(rtsp::camera)?;
    let wanted = |s: &retina::client::Stream| {
        s.media() == "audio" && AudioCodec::from_encoding(s.encoding_name()) == Some(src.codec)
    };
    let Some(i) = session.streams().iter().position(wanted) else {
        return Err(SourceError::Camera(
            "the camera no longer offers that audio".into(),
        ));
    };
    let setup = SetupOptions::default().transport(transport);
    timeout(limit, session.setup(i, setup))
        .await
        .map_err(step("in SETUP (audio)"))?
        .map_err(rtsp::camera)?;
    timeout(limit, session.play(PlayOptions::default()))
        .await
        .map_err(step("in PLAY (audio)"))?
        .map_err(rtsp::camera)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_browsers_play_is_forwarded() {
        assert_eq!(AudioCodec::from_encoding("PCMU"), Some(AudioCodec::Pcmu));
        assert_eq!(AudioCodec::from_encoding("pcma"), Some(AudioCodec::Pcma));
        assert_eq!(AudioCodec::from_encoding("opus"), Some(AudioCodec::Opus));
        assert_eq!(AudioCodec::from_encoding("mpeg4-generic"), None);
        assert_eq!(AudioCodec::from_encoding("g726-32"), None);
        assert_eq!(AudioCodec::Opus.rtp().0, 48_000);
    }
}

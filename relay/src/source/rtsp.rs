//! An RTSP camera pulled with retina (RFC 2326): `rtsp://` over TCP
//! interleaved, `rtspu://` (RFC 2326 §3.2) with RTP over UDP.
//!
//! Invariants: credentials never travel in the URL handed to retina (so no
//! retina error or log can show them): they come apart as a `Secret` or are
//! taken out of the URL's userinfo (percent-decoded). Every network step has
//! a timeout, because retina has none. The source yields frames only once it
//! knows the parameters, from the SDP or, if the camera sends them only
//! in-band, from the first frame that carries them. H.265 keyframes are
//! recognised by NAL type (every IRAP), not by retina's IDR-only flag.

use argus_core::Secret;
use futures_util::StreamExt;
use retina::client::{
    Credentials, Demuxed, PlayOptions, Session, SessionOptions, SetupOptions, Transport,
};
use retina::codec::{CodecItem, ParametersRef, VideoFrame};
use tokio::time::timeout;
use url::Url;

use super::{codec_of, h265_is_irap, Frame, SourceError, Timeouts, VideoParams, TIMESCALE};
use crate::segment::{Codec, StreamInfo};

/// A playing RTSP session on the camera's first H.264/H.265 stream.
pub struct RtspSource {
    demuxed: Demuxed,
    stream_i: usize,
    params: VideoParams,
    /// The frame that revealed in-band parameters, yielded first.
    first: Option<Frame>,
    timeouts: Timeouts,
    /// The encoding of the camera's first audio stream (`pcmu`, `opus`,
    /// `mpeg4-generic`...), which this session does not set up: live view
    /// opens its own session for it ([`crate::live::audio`]).
    audio: Option<String>,
}

impl RtspSource {
    /// DESCRIBE, SETUP and PLAY, each bounded by `timeouts.connect`.
    pub async fn open(
        url: &str,
        credentials: Option<&Secret<String>>,
        timeouts: Timeouts,
    ) -> Result<Self, SourceError> {
        let (url, transport, creds) = split_url(url, credentials)?;
        let options = SessionOptions::default()
            .creds(creds)
            .user_agent(format!("argus-relay/{}", env!("CARGO_PKG_VERSION")));

        let step = |what| move |_| SourceError::Timeout(what);
        let mut session = timeout(timeouts.connect, Session::describe(url, options))
            .await
            .map_err(step("in DESCRIBE"))?
            .map_err(camera)?;
        let stream_i = video_stream(&session)?;
        let audio = session.streams().iter().find(|s| s.media() == "audio");
        let audio = audio.map(|s| s.encoding_name().to_ascii_lowercase());
        let setup = SetupOptions::default().transport(transport);
        timeout(timeouts.connect, session.setup(stream_i, setup))
            .await
            .map_err(step("in SETUP"))?
            .map_err(camera)?;
        let sdp_params = session.streams()[stream_i]
            .parameters()
            .and_then(video_params);

        let playing = timeout(timeouts.connect, session.play(PlayOptions::default()))
            .await
            .map_err(step("in PLAY"))?
            .map_err(camera)?;
        let demuxed = playing.demuxed().map_err(camera)?;
        let mut src = Self::start(demuxed, stream_i, sdp_params, timeouts).await?;
        src.audio = audio;
        Ok(src)
    }

    /// Settles the parameters: from the SDP, or from the first frame.
    async fn start(
        demuxed: Demuxed,
        stream_i: usize,
        sdp_params: Option<VideoParams>,
        timeouts: Timeouts,
    ) -> Result<Self, SourceError> {
        let mut src = Self {
            demuxed,
            stream_i,
            params: sdp_params.clone().unwrap_or_else(placeholder_params),
            first: None,
            timeouts,
            audio: None,
        };
        if sdp_params.is_some() {
            return Ok(src);
        }

        tracing::debug!("no parameters in the SDP; waiting for in-band SPS/PPS");
        let wait = timeout(timeouts.connect, src.wait_in_band()).await;
        wait.map_err(|_| SourceError::Timeout("waiting for in-band parameters"))??;
        Ok(src)
    }

    /// Drops frames until one brings the parameters, and keeps that one.
    async fn wait_in_band(&mut self) -> Result<(), SourceError> {
        loop {
            let frame = self.next_raw().await?;
            if let Some(params) = frame.new_params.clone() {
                self.params = params;
                self.first = Some(frame);
                return Ok(());
            }
        }
    }

    /// The parameters in force.
    pub fn params(&self) -> &VideoParams {
        &self.params
    }

    /// The encoding name of the camera's audio, if it has any.
    pub fn audio(&self) -> Option<&str> {
        self.audio.as_deref()
    }

    /// The next video frame, waiting at most `timeouts.frame`.
    pub async fn next_frame(&mut self) -> Result<Frame, SourceError> {
        if let Some(frame) = self.first.take() {
            return Ok(frame);
        }
        let frame = self.next_raw().await?;
        if let Some(p) = &frame.new_params {
            self.params = p.clone();
        }
        Ok(frame)
    }

    async fn next_raw(&mut self) -> Result<Frame, SourceError> {
        loop {
            let item = timeout(self.timeouts.frame, self.demuxed.next())
                .await
                .map_err(|_| SourceError::Timeout("waiting for a frame"))?;
            match item {
                None => return Err(SourceError::Ended),
                Some(Err(e)) => return Err(camera(e)),
                Some(Ok(CodecItem::VideoFrame(f))) if f.stream_id() == self.stream_i => {
                    return Ok(self.convert(f));
                }
                // Only the video stream is set up; RTCP and the like pass.
                Some(Ok(_)) => {}
            }
        }
    }

    fn convert(&self, f: VideoFrame) -> Frame {
        let new_params = match f.has_new_parameters() {
            true => self.demuxed.streams()[self.stream_i]
                .parameters()
                .and_then(video_params),
            false => None,
        };
        let codec = new_params.as_ref().unwrap_or(&self.params).info.codec;
        let ts = f.timestamp();
        let pts = ts.elapsed() * i64::from(TIMESCALE) / i64::from(ts.clock_rate().get());
        let is_key = match codec {
            Codec::H264 => f.is_random_access_point(),
            Codec::H265 => f.is_random_access_point() || h265_is_irap(f.data()),
        };
        Frame {
            pts,
            is_key,
            data: f.into_data(),
            new_params,
        }
    }
}

/// The camera's error as ours; retina never saw credentials, so its text
/// is safe to keep.
pub(crate) fn camera(e: retina::Error) -> SourceError {
    match e.status_code() {
        Some(status) => SourceError::Camera(format!("RTSP status {status}: {e}")),
        None => SourceError::Camera(e.to_string()),
    }
}

fn video_stream<S: retina::client::State>(session: &Session<S>) -> Result<usize, SourceError> {
    let streams = session.streams();
    let found = streams
        .iter()
        .position(|s| s.media() == "video" && matches!(s.encoding_name(), "h264" | "h265"));
    found.ok_or_else(|| {
        let offered: Vec<_> = streams
            .iter()
            .map(|s| format!("{}/{}", s.media(), s.encoding_name()))
            .collect();
        SourceError::NoVideo(offered.join(", "))
    })
}

/// Converts retina's parameters into ours (None for audio or unusable ones).
fn video_params(p: ParametersRef<'_>) -> Option<VideoParams> {
    let ParametersRef::Video(v) = p else {
        return None;
    };
    let bytes = v.mp4_sample_entry().build().ok()?;
    let entry = <mp4_atom::Codec as mp4_atom::Decode>::decode(&mut &bytes[..]);
    let entry = entry
        .map_err(|e| tracing::warn!(error = %e, "unreadable sample entry"))
        .ok()?;
    let (width, height) = v.pixel_dimensions();
    Some(VideoParams {
        info: StreamInfo {
            codec: codec_of(&entry)?,
            width,
            height,
        },
        sample_entry: entry,
    })
}

/// Never yielded: stands in until the in-band parameters arrive.
fn placeholder_params() -> VideoParams {
    VideoParams {
        info: StreamInfo {
            codec: Codec::H264,
            width: 0,
            height: 0,
        },
        sample_entry: mp4_atom::Codec::Unknown(b"none".into(), Vec::new()),
    }
}

/// Splits a camera URL into what retina may see (no userinfo, scheme
/// `rtsp`), the transport, and the credentials.
pub(crate) fn split_url(
    raw: &str,
    credentials: Option<&Secret<String>>,
) -> Result<(Url, Transport, Option<Credentials>), SourceError> {
    let mut url = Url::parse(raw)
        .map_err(|e| SourceError::BadUrl(format!("{e} in {}", super::redact_url(raw))))?;
    let transport = match url.scheme() {
        "rtspu" => Transport::Udp(Default::default()),
        _ => Transport::Tcp(Default::default()),
    };

    let from_url = (!url.username().is_empty()).then(|| Credentials {
        username: percent_decode(url.username()),
        password: percent_decode(url.password().unwrap_or("")),
    });
    let creds = credentials
        .map(|s| parse_credentials(s.expose()))
        .or(from_url);

    let cleared = url.set_username("").is_ok() && url.set_password(None).is_ok();
    let rescheme = url.set_scheme("rtsp").is_ok();
    if !cleared || !rescheme || url.host_str().is_none() {
        return Err(SourceError::BadUrl(super::redact_url(raw)));
    }
    Ok((url, transport, creds))
}

/// `user:password` (the password may contain `:`).
fn parse_credentials(s: &str) -> Credentials {
    let (user, pass) = s.split_once(':').unwrap_or((s, ""));
    Credentials {
        username: user.to_string(),
        password: pass.to_string(),
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_moved_out_of_the_url_and_decoded() {
        let (url, t, creds) =
            split_url("rtspu://ad%3Amin:p%40ss@127.0.0.1:8554/cam", None).unwrap();
        assert_eq!(url.as_str(), "rtsp://127.0.0.1:8554/cam");
        assert!(matches!(t, Transport::Udp(_)));
        let creds = creds.unwrap();
        assert_eq!(
            (creds.username.as_str(), creds.password.as_str()),
            ("ad:min", "p@ss")
        );
    }

    #[test]
    fn sealed_credentials_win_and_passwords_may_hold_colons() {
        let secret = Secret::new("admin:a:b".to_string());
        let (url, t, creds) = split_url("rtsp://x:y@cam.local/s", Some(&secret)).unwrap();
        assert_eq!(url.as_str(), "rtsp://cam.local/s");
        assert!(matches!(t, Transport::Tcp(_)));
        assert_eq!(creds.unwrap().password, "a:b");
    }

    #[test]
    fn bad_urls_never_echo_credentials() {
        let err = split_url("rtsp://u:hunter2@[::1", None)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }
}

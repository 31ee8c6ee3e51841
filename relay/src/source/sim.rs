//! The built-in simulated camera: `sim://name?fps=25&size=640x360&gop=50`
//! (optionally `&bitrate=KBPS` for a rate-controlled stream instead of the
//! default fixed quality). The environment variable [`DEFAULTS_ENV`] holds
//! query keys applied under every sim URL's own (for benchmarks: the api
//! accepts only a bare `sim://name`).
//!
//! It yields real H.264 (Constrained Baseline, from the bundled OpenH264)
//! showing moving content: a box sweeping across a moving gradient and a
//! row of blocks that count frames in binary (plus grain when a bitrate is
//! asked for). Invariant: each distinct (fps, size, gop, bitrate) is
//! encoded ONCE per process, as a loop of whole GOPs
//! (an even number of them, at least four seconds), cached and shared; every
//! camera then replays the loop paced in real time with continuous
//! timestamps, so hundreds of simulated cameras cost almost nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, Profile, QpRange,
    RateControlMode,
};
use openh264::formats::YUVBuffer;
use openh264::OpenH264API;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use super::{annexb_nals, Frame, SourceError, VideoParams, TIMESCALE};
use crate::segment::{Codec, StreamInfo};

/// Query keys (`size=1280x720&bitrate=2000`) applied before each sim URL's
/// own keys, which win.
pub const DEFAULTS_ENV: &str = "ARGUS_SIM_DEFAULTS";

/// `url` with the [`DEFAULTS_ENV`] keys put in front of its own.
fn with_env_defaults(url: &str) -> String {
    let Ok(defaults) = std::env::var(DEFAULTS_ENV) else {
        return url.to_string();
    };
    let (base, own) = url.split_once('?').unwrap_or((url, ""));
    format!("{base}?{defaults}&{own}")
}

/// What the simulated camera produces; parsed from the URL's query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SimSpec {
    pub fps: u32,
    pub width: u32,
    pub height: u32,
    /// Frames from one keyframe to the next.
    pub gop: u32,
    /// Target bitrate in kbit/s (`bitrate=`); `None` encodes at a fixed
    /// quality (QP 24..32) whatever the size.
    pub bitrate_kbps: Option<u32>,
}

impl Default for SimSpec {
    fn default() -> Self {
        Self {
            fps: 25,
            width: 640,
            height: 360,
            gop: 50,
            bitrate_kbps: None,
        }
    }
}

impl SimSpec {
    /// Reads `sim://name?fps=…&size=WxH&gop=…`; absent keys keep defaults.
    pub fn parse(url: &str) -> Result<Self, SourceError> {
        let bad = |what: &str| SourceError::BadUrl(format!("sim: {what}"));
        let mut spec = SimSpec::default();
        let query = url.split_once('?').map_or("", |(_, q)| q);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| bad("query needs key=value"))?;
            let num = |s: &str| {
                s.parse::<u32>()
                    .map_err(|_| bad(&format!("bad number for {k}")))
            };
            match k {
                "fps" => spec.fps = num(v)?,
                "gop" => spec.gop = num(v)?,
                "bitrate" => spec.bitrate_kbps = Some(num(v)?),
                "size" => {
                    let (w, h) = v
                        .split_once('x')
                        .ok_or_else(|| bad("size is WIDTHxHEIGHT"))?;
                    (spec.width, spec.height) = (num(w)?, num(h)?);
                }
                // A replay option, read by `ts_jump`.
                "ts_jump" => {}
                _ => return Err(bad(&format!("unknown key {k}"))),
            }
        }
        spec.validate().map_err(bad)?;
        Ok(spec)
    }

    fn validate(&self) -> Result<(), &'static str> {
        if !(1..=60).contains(&self.fps) || TIMESCALE % self.fps != 0 {
            return Err("fps must be 1..=60 and divide 90000");
        }
        if !(16..=1920).contains(&self.width) || !(16..=1080).contains(&self.height) {
            return Err("size must be within 16x16..1920x1080");
        }
        if self.width % 16 != 0 || self.height % 2 != 0 || !(1..=600).contains(&self.gop) {
            return Err("width must be a multiple of 16, height even, gop 1..=600");
        }
        if self
            .bitrate_kbps
            .is_some_and(|k| !(16..=50_000).contains(&k))
        {
            return Err("bitrate must be 16..=50000 kbit/s");
        }
        Ok(())
    }

    /// Frames in the cached loop: an even number of GOPs, at least 4 s.
    fn loop_frames(&self) -> u32 {
        let gops = (4 * self.fps).div_ceil(self.gop).max(2);
        (gops + gops % 2) * self.gop
    }
}

/// An encoded loop shared by every camera with the same [`SimSpec`].
#[derive(Debug)]
struct Clip {
    params: VideoParams,
    /// (is keyframe, AVCC data) per frame.
    frames: Vec<(bool, Vec<u8>)>,
    /// The parameter sets (SPS, PPS), without start codes.
    sps: Vec<u8>,
    pps: Vec<u8>,
}

type ClipCell = Arc<OnceCell<Arc<Clip>>>;

fn clip_cell(spec: SimSpec) -> ClipCell {
    static CLIPS: OnceLock<Mutex<HashMap<SimSpec, ClipCell>>> = OnceLock::new();
    let mut map = CLIPS
        .get_or_init(Default::default)
        .lock()
        .expect("sim clip cache");
    map.entry(spec).or_default().clone()
}

/// A simulated camera replaying its clip in real time.
pub struct SimSource {
    clip: Arc<Clip>,
    spec: SimSpec,
    started: Instant,
    index: u64,
    /// Where in the clip frame `index` is taken from, minus `index`.
    clip_offset: u64,
    /// Ticks added to every timestamp from the third second on, like a
    /// camera whose clock is set (`ts_jump=SECONDS`, may be negative).
    ts_jump: i64,
}

/// The `ts_jump=SECONDS` option of a sim URL, in ticks (0 when absent).
fn ts_jump(url: &str) -> Result<i64, SourceError> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let value = query.split('&').find_map(|p| p.strip_prefix("ts_jump="));
    let secs = value.map_or(Ok(0), |v| v.parse::<i64>());
    let secs = secs.map_err(|_| SourceError::BadUrl("sim: bad ts_jump".into()))?;
    Ok(secs * i64::from(TIMESCALE))
}

impl SimSource {
    /// Starts replaying; encodes the clip first if no camera did yet.
    pub async fn open(url: &str) -> Result<Self, SourceError> {
        let spec = SimSpec::parse(&with_env_defaults(url))?;
        let ts_jump = ts_jump(url)?;
        let clip = clip_cell(spec)
            .get_or_try_init(|| async move {
                let encoded = tokio::task::spawn_blocking(move || encode_clip(spec)).await;
                encoded
                    .map_err(|e| SourceError::Encoder(e.to_string()))?
                    .map(Arc::new)
            })
            .await?
            .clone();
        Ok(Self {
            clip,
            spec,
            started: Instant::now(),
            index: 0,
            clip_offset: 0,
            ts_jump,
        })
    }

    /// The clip's parameters (they never change).
    pub fn params(&self) -> &VideoParams {
        &self.clip.params
    }

    /// What this camera plays (fps, size, gop, bitrate).
    pub fn spec(&self) -> SimSpec {
        self.spec
    }

    /// Frames in one loop of the clip.
    pub fn clip_frames(&self) -> usize {
        self.clip.frames.len()
    }

    /// One loop of the clip as an H.264 Annex B elementary stream (SPS and
    /// PPS before every keyframe), the very bytes this camera replays: for
    /// feeding another tool the same input (see `examples/sim_clip.rs`).
    pub fn clip_annexb(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut put = |nal: &[u8]| {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(nal);
        };
        for (is_key, data) in &self.clip.frames {
            if *is_key {
                put(&self.clip.sps);
                put(&self.clip.pps);
            }
            super::avcc_nals(data).for_each(&mut put);
        }
        out
    }

    /// Makes the next frame a keyframe: the replay jumps back to the start
    /// of the clip (which is one), as a camera would answer a key request.
    pub fn request_keyframe(&mut self) {
        let len = self.clip.frames.len() as u64;
        self.clip_offset = (len - self.index % len) % len;
    }

    /// Waits for the next frame's time and returns it.
    pub async fn next_frame(&mut self) -> Result<Frame, SourceError> {
        let fps = u64::from(self.spec.fps);
        let due = self.started + Duration::from_micros(self.index * 1_000_000 / fps);
        tokio::time::sleep_until(due).await;

        let at = (self.index + self.clip_offset) % self.clip.frames.len() as u64;
        let (is_key, data) = &self.clip.frames[at as usize];
        let jumped = self.index >= 2 * fps;
        let frame = Frame {
            pts: (self.index * u64::from(TIMESCALE) / fps) as i64
                + if jumped { self.ts_jump } else { 0 },
            is_key: *is_key,
            data: data.clone(),
            new_params: None,
        };
        self.index += 1;
        Ok(frame)
    }
}

/// Encodes one loop of `spec` (blocking; a few hundred ms at 360p).
fn encode_clip(spec: SimSpec) -> Result<Clip, SourceError> {
    let enc_err = |e: openh264::Error| SourceError::Encoder(e.to_string());
    let (mode, qp, bps) = match spec.bitrate_kbps {
        Some(kbps) => (RateControlMode::Bitrate, QpRange::new(4, 48), kbps * 1000),
        None => (
            RateControlMode::Off,
            QpRange::new(24, 32),
            spec.width * spec.height * spec.fps / 10,
        ),
    };
    let config = EncoderConfig::new()
        .profile(Profile::Baseline)
        .max_frame_rate(FrameRate::from_hz(spec.fps as f32))
        .rate_control_mode(mode)
        .qp(qp)
        .bitrate(BitRate::from_bps(bps))
        .intra_frame_period(IntraFramePeriod::from_num_frames(spec.gop))
        .skip_frames(false)
        .scene_change_detect(false);
    let mut encoder =
        Encoder::with_api_config(OpenH264API::from_source(), config).map_err(enc_err)?;

    let (mut sps, mut pps, mut frames) = (None, None, Vec::new());
    for i in 0..spec.loop_frames() {
        if i % spec.gop == 0 {
            encoder.force_intra_frame();
        }
        let yuv = YUVBuffer::from_vec(draw(spec, i), spec.width as usize, spec.height as usize);
        let bits = encoder.encode(&yuv).map_err(enc_err)?;
        let is_key = matches!(bits.frame_type(), FrameType::IDR);
        let mut data = Vec::new();
        for nal in annexb_nals(&bits.to_vec()) {
            match nal.first().map(|b| b & 0x1f) {
                Some(7) => sps = Some(nal.to_vec()),
                Some(8) => pps = Some(nal.to_vec()),
                Some(_) => {
                    data.extend_from_slice(&(nal.len() as u32).to_be_bytes());
                    data.extend_from_slice(nal);
                }
                None => {}
            }
        }
        frames.push((is_key, data));
    }

    let (Some(sps), Some(pps)) = (sps, pps) else {
        return Err(SourceError::Encoder("no SPS/PPS from the encoder".into()));
    };
    Ok(Clip {
        params: params(spec, &sps, &pps)?,
        frames,
        sps,
        pps,
    })
}

fn params(spec: SimSpec, sps: &[u8], pps: &[u8]) -> Result<VideoParams, SourceError> {
    let avcc = mp4_atom::Avcc::new(sps, pps).map_err(|e| SourceError::Encoder(e.to_string()))?;
    let entry = mp4_atom::Avc1 {
        visual: mp4_atom::Visual {
            data_reference_index: 1,
            width: spec.width as u16,
            height: spec.height as u16,
            compressor: "Argus simulated camera".into(),
            ..Default::default()
        },
        avcc,
        btrt: None,
        colr: None,
        pasp: None,
        taic: None,
        fiel: None,
        spatial: None,
    };
    Ok(VideoParams {
        info: StreamInfo {
            codec: Codec::H264,
            width: spec.width,
            height: spec.height,
        },
        sample_entry: entry.into(),
    })
}

/// Draws frame `i` as I420: a moving gradient, a box sweeping left to right
/// and back, and 16 blocks at the top showing `i` in binary.
fn draw(spec: SimSpec, i: u32) -> Vec<u8> {
    let (w, h) = (spec.width as usize, spec.height as usize);
    let mut yuv = vec![128u8; w * h * 3 / 2];
    let (luma, chroma) = yuv.split_at_mut(w * h);

    let grain = spec.bitrate_kbps.is_some();
    for (y, row) in luma.chunks_exact_mut(w).enumerate() {
        for (x, px) in row.iter_mut().enumerate() {
            *px = 40 + ((x + y + 2 * i as usize) % 160) as u8;
            if grain {
                *px += noise(x, y, i);
            }
        }
    }

    let period = 2 * (w - w / 8);
    let phase = (i as usize * 8) % period.max(1);
    let bx = if phase < period / 2 {
        phase
    } else {
        period - phase
    };
    fill(luma, w, (bx, h / 3, w / 8, h / 3), 235);
    fill(
        &mut chroma[..w * h / 4],
        w / 2,
        (bx / 2, h / 6, w / 16, h / 6),
        60,
    );

    let block = (w / 16).max(1);
    for bit in 0..16 {
        let on = (i >> (15 - bit)) & 1 == 1;
        fill(
            luma,
            w,
            (bit * block, 0, block - 1, block.min(h / 8)),
            if on { 235 } else { 16 },
        );
    }
    yuv
}

/// Pseudo-random grain 0..16 per pixel and frame, so that a `bitrate=`
/// clip has detail to spend its bits on (the plain picture compresses to a
/// few hundred kbit/s at any quality).
fn noise(x: usize, y: usize, i: u32) -> u8 {
    let mut v = (x as u32).wrapping_mul(0x9E37_79B1)
        ^ (y as u32).wrapping_mul(0x85EB_CA77)
        ^ i.wrapping_mul(0xC2B2_AE3D);
    v ^= v >> 15;
    v = v.wrapping_mul(0x2C1B_3C6D);
    (v >> 28) as u8
}

/// Sets the rectangle (x, y, width, height) of a plane of row length `w`.
fn fill(plane: &mut [u8], w: usize, (x, y, rw, rh): (usize, usize, usize, usize), v: u8) {
    for row in plane.chunks_exact_mut(w).skip(y).take(rh) {
        let end = (x + rw).min(w);
        row[x.min(end)..end].fill(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parses_defaults_and_rejects_nonsense() {
        assert_eq!(SimSpec::parse("sim://lobby").unwrap(), SimSpec::default());
        let s = SimSpec::parse("sim://a?fps=10&size=320x240&gop=20").unwrap();
        assert_eq!((s.fps, s.width, s.height, s.gop), (10, 320, 240, 20));
        assert!(
            SimSpec::parse("sim://a?fps=7").is_err(),
            "7 does not divide 90000 evenly"
        );
        assert!(SimSpec::parse("sim://a?size=320").is_err());
        assert!(SimSpec::parse("sim://a?colour=red").is_err());
        let b = SimSpec::parse("sim://a?bitrate=2000").unwrap();
        assert_eq!(b.bitrate_kbps, Some(2000));
        assert!(SimSpec::parse("sim://a?bitrate=0").is_err());
    }

    #[test]
    fn loop_is_an_even_number_of_gops_of_at_least_four_seconds() {
        let s = SimSpec::default();
        assert_eq!(s.loop_frames(), 100);
        let s = SimSpec { gop: 250, ..s };
        assert_eq!(s.loop_frames(), 500);
        let s = SimSpec {
            gop: 30,
            fps: 30,
            ..s
        };
        assert_eq!(s.loop_frames(), 120);
    }

    #[tokio::test]
    async fn clip_is_real_h264_with_keyframes_where_the_gop_says() {
        let mut src = SimSource::open("sim://t?fps=50&size=160x96&gop=10")
            .await
            .unwrap();
        let again = SimSource::open("sim://other?fps=50&size=160x96&gop=10")
            .await
            .unwrap();
        assert!(Arc::ptr_eq(&src.clip, &again.clip), "encoded once per spec");

        let mut pts = Vec::new();
        for i in 0..25 {
            let f = src.next_frame().await.unwrap();
            assert_eq!(f.is_key, i % 10 == 0, "frame {i}");
            assert!(!f.data.is_empty());
            pts.push(f.pts);
        }
        assert!(pts.windows(2).all(|w| w[1] - w[0] == 1800));
        assert_eq!(src.params().info.codec, Codec::H264);

        let es = src.clip_annexb();
        let nals = annexb_nals(&es);
        let keys = src.clip.frames.iter().filter(|f| f.0).count();
        assert_eq!(nals[0].first().map(|b| b & 0x1f), Some(7), "SPS first");
        let per_frame: usize = src
            .clip
            .frames
            .iter()
            .map(|f| super::super::avcc_nals(&f.1).count())
            .sum();
        assert_eq!(
            nals.len(),
            per_frame + 2 * keys,
            "every NAL, SPS+PPS per keyframe"
        );
    }
}

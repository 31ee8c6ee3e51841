//! What the recorder hands to the uplink: init segments, media segments
//! and gaps, in recording order, all still plaintext.
//!
//! The recorder (`recorder.rs`) produces these from a camera; the uplink
//! side encrypts each object, keeps it in the on-disk spool and uploads it.
//! An [`InitSegment`] always comes before the first [`MediaSegment`] that
//! names it in `init_id`.

use argus_core::wire::ids;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A video codec the relay records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    H264,
    H265,
}

impl Codec {
    /// The name used on the wire and in the catalog: `h264` or `h265`.
    pub fn as_str(self) -> &'static str {
        match self {
            Codec::H264 => "h264",
            Codec::H265 => "h265",
        }
    }
}

/// The video stream's parameters, as its init segment describes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamInfo {
    pub codec: Codec,
    pub width: u32,
    pub height: u32,
}

/// `ftyp` + `moov` of one recording run's parameters.
#[derive(Clone, Debug)]
pub struct InitSegment {
    /// [`ids::init_id`] of `bytes`: the same parameters give the same id.
    pub id: Uuid,
    pub camera_id: Uuid,
    pub info: StreamInfo,
    pub bytes: Vec<u8>,
}

impl InitSegment {
    pub fn new(camera_id: Uuid, info: StreamInfo, bytes: Vec<u8>) -> Self {
        let id = ids::init_id(camera_id, &bytes);
        Self {
            id,
            camera_id,
            info,
            bytes,
        }
    }
}

/// `moof` + `mdat`: a few seconds of video starting at a keyframe.
#[derive(Clone, Debug)]
pub struct MediaSegment {
    /// [`ids::segment_id`] of the camera and `start`.
    pub id: Uuid,
    pub camera_id: Uuid,
    pub init_id: Uuid,
    /// Segments of one run are contiguous in media time; a new run starts
    /// after a reconnect, a parameter change or a wall-clock jump.
    pub run_id: Uuid,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub bytes: Vec<u8>,
}

impl MediaSegment {
    /// Microseconds since the Unix epoch of `start`: the id's input and
    /// part of the ciphertext's associated data.
    pub fn start_us(&self) -> i64 {
        self.start.timestamp_micros()
    }
}

/// A span the camera has no recording for, and why (`camera_offline`,
/// `buffer_full`, `clock_jump`, …).
#[derive(Clone, Debug)]
pub struct Gap {
    pub camera_id: Uuid,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub reason: String,
}

/// One output of the recorder.
#[derive(Clone, Debug)]
pub enum RecorderEvent {
    Init(InitSegment),
    Media(MediaSegment),
    Gap(Gap),
}

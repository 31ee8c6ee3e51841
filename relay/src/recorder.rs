//! Records one camera: connect (with backoff, from the first try), cut
//! into segments, emit [`RecorderEvent`]s, keep the camera's health current.
//!
//! Invariants: an [`InitSegment`] is sent before the first segment naming
//! it; a run's segments are exactly contiguous (wall-clock anchored at the
//! run's first frame, then advanced by media time); runs never overlap (a
//! new run starts no earlier than the previous one ended); every span
//! between runs is reported as a [`Gap`] with its reason. If the wall clock
//! and media time drift apart by more than [`RecorderOptions::max_drift`],
//! the run ends and a new one starts.
//!
//! TODO(#3): a consumer that blocks `events` for longer than `max_drift`
//! makes frames arrive late, which ends the run ("camera_timing"); the
//! uplink should keep the channel drained (it spools to disk).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use argus_core::wire::control::{CameraHealth, CameraState};
use argus_core::wire::CameraConfig;
use argus_core::Secret;
use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::Instrument;
use uuid::Uuid;

use crate::fmp4;
use crate::live::audio::{AudioCodec, AudioSource};
use crate::segment::{Gap, InitSegment, MediaSegment, RecorderEvent};
use crate::segmenter::{Segment, Segmenter};
use crate::source::{redact_url, Frame, Source, SourceError, Timeouts, VideoParams, TIMESCALE};

/// Segment length used when the camera's config says 0.
pub const DEFAULT_SEGMENT_SECS: u32 = 4;

/// The wall clock the recorder anchors runs to: the system clock plus an
/// offset a test can move to simulate an NTP step.
#[derive(Clone, Debug, Default)]
pub struct WallClock {
    offset_us: Arc<AtomicI64>,
}

impl WallClock {
    /// Now, in microseconds since the Unix epoch.
    pub fn now_us(&self) -> i64 {
        Utc::now().timestamp_micros() + self.offset_us.load(Ordering::Relaxed)
    }

    /// Steps the clock by `by_us` (negative: backwards), as NTP might.
    pub fn step(&self, by_us: i64) {
        self.offset_us.fetch_add(by_us, Ordering::Relaxed);
    }
}

/// Tuning of [`run_with`]; [`run`] uses the defaults.
#[derive(Clone, Debug)]
pub struct RecorderOptions {
    /// Per-step limits of the source.
    pub timeouts: Timeouts,
    /// First retry delay; doubles per failure up to `backoff_max`.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// Wall-clock vs media-time disagreement that ends a run.
    pub max_drift: Duration,
    /// The wall clock runs are anchored to.
    pub clock: WallClock,
    /// Where frames go for live view while someone watches.
    pub live: Option<crate::live::tap::Tap>,
}

impl Default for RecorderOptions {
    fn default() -> Self {
        Self {
            timeouts: Timeouts::default(),
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            max_drift: Duration::from_secs(5),
            clock: WallClock::default(),
            live: None,
        }
    }
}

/// Records one camera until the task is dropped/aborted: connects (with backoff from the first
/// try), emits InitSegment before the first MediaSegment naming it, a Gap for every span without
/// recording (reason "camera_offline", "clock_jump", ...), and keeps `health` current.
pub async fn run(
    camera: CameraConfig,
    credentials: Option<Secret<String>>,
    events: mpsc::Sender<RecorderEvent>,
    health: watch::Sender<CameraHealth>,
) {
    run_with(
        camera,
        credentials,
        events,
        health,
        RecorderOptions::default(),
    )
    .await
}

/// [`run`] with explicit options. Returns only when `events` is closed.
pub async fn run_with(
    camera: CameraConfig,
    credentials: Option<Secret<String>>,
    events: mpsc::Sender<RecorderEvent>,
    health: watch::Sender<CameraHealth>,
    options: RecorderOptions,
) {
    let span = tracing::info_span!("recorder", camera.id = %camera.id);
    let mut rec = Recorder::new(camera, events, health, options);
    rec.main_loop(credentials).instrument(span).await
}

/// The receiver of events went away: stop recording.
struct Closed;

struct Recorder {
    camera: CameraConfig,
    events: mpsc::Sender<RecorderEvent>,
    health: watch::Sender<CameraHealth>,
    opts: RecorderOptions,
    /// End of the last run, or since when the camera could not be reached.
    last_end_us: Option<i64>,
    /// Why the next run did not start right after the last one.
    gap_reason: &'static str,
    /// Where the next run must start (right after a parameter change).
    next_anchor_us: Option<i64>,
    meter: Meter,
}

/// One recording run: one init segment, contiguous segments.
struct Run {
    id: Uuid,
    init_id: Uuid,
    params: VideoParams,
    /// Wall time of decode time 0.
    anchor_us: i64,
    /// Wall and monotonic time of the first frame, for drift checks.
    seen_us: i64,
    seen_at: Instant,
    segmenter: Segmenter,
    sequence: u32,
}

impl Recorder {
    fn new(
        camera: CameraConfig,
        events: mpsc::Sender<RecorderEvent>,
        health: watch::Sender<CameraHealth>,
        opts: RecorderOptions,
    ) -> Self {
        Self {
            camera,
            events,
            health,
            opts,
            last_end_us: None,
            gap_reason: "camera_offline",
            next_anchor_us: None,
            meter: Meter::default(),
        }
    }

    async fn main_loop(&mut self, credentials: Option<Secret<String>>) {
        let url = redact_url(&self.camera.source_url);
        let mut delay = self.opts.backoff_min;
        loop {
            self.set_state(CameraState::Connecting, None);
            let Ok((error, recorded)) = self.connect_and_record(credentials.as_ref()).await else {
                return;
            };
            if recorded {
                delay = self.opts.backoff_min;
            }

            self.went_offline(&url, &error, delay);
            if self.events.is_closed() {
                return;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.opts.backoff_max);
        }
    }

    async fn connect_and_record(
        &mut self,
        credentials: Option<&Secret<String>>,
    ) -> Result<(SourceError, bool), Closed> {
        let url = &self.camera.source_url;
        match Source::open(url, credentials, self.opts.timeouts).await {
            Ok(source) => {
                self.note_audio(source.audio(), credentials);
                self.record(source).await
            }
            Err(error) => Ok((error, false)),
        }
    }

    /// Tells health and the live tap what audio the camera has: live view
    /// forwards Opus and G.711 over a session of its own.
    fn note_audio(&self, encoding: Option<&str>, credentials: Option<&Secret<String>>) {
        let audio = encoding.map(str::to_string);
        self.health.send_modify(|h| h.audio = audio);
        let Some(tap) = &self.opts.live else {
            return;
        };
        let codec = encoding.and_then(AudioCodec::from_encoding);
        tap.set_audio(codec.map(|codec| AudioSource {
            url: self.camera.source_url.clone(),
            credentials: credentials.cloned(),
            codec,
            timeouts: self.opts.timeouts,
        }));
    }

    /// Notes the outage: the next run's gap starts here (or where the last
    /// run ended), and health says why.
    fn went_offline(&mut self, url: &str, error: &SourceError, delay: Duration) {
        if self.last_end_us.is_none() {
            self.last_end_us = Some(self.opts.clock.now_us());
        }
        (self.gap_reason, self.next_anchor_us) = ("camera_offline", None);

        let retry_in_ms = delay.as_millis() as u64;
        tracing::warn!(url, error = %error, retry_in_ms, "camera offline");
        self.set_state(CameraState::Offline, Some(error.to_string()));
    }

    /// Records a connected source until it fails; returns why, and whether
    /// anything was recorded.
    async fn record(&mut self, mut source: Source) -> Result<(SourceError, bool), Closed> {
        let mut run: Option<Run> = None;
        let mut recorded = false;
        loop {
            let frame = match source.next_frame().await {
                Ok(f) => f,
                Err(e) => {
                    if let Some(r) = run.take() {
                        self.end_run(r).await?;
                    }
                    return Ok((e, recorded));
                }
            };
            if !recorded {
                tracing::info!(codec = source.params().info.codec.as_str(), "camera online");
                recorded = true;
            }
            self.meter.add(frame.data.len());
            if let Some(tap) = &self.opts.live {
                tap.offer(source.params(), &frame);
                if tap.take_key_request() {
                    source.request_keyframe();
                }
            }
            run = self.on_frame(run, source.params(), frame).await?;
            self.report_online(source.params());
        }
    }

    /// Continues the run with one frame, ending it first if it must; a new
    /// run starts at a keyframe (earlier frames could not be decoded).
    async fn on_frame(
        &mut self,
        run: Option<Run>,
        params: &VideoParams,
        frame: Frame,
    ) -> Result<Option<Run>, Closed> {
        let run = match run {
            Some(r) => self.check_run(r, &frame).await?,
            None => None,
        };
        let mut run = match run {
            Some(r) => r,
            None if !frame.is_key => return Ok(None),
            None => self.start_run(params).await?,
        };

        if let Some(seg) = run.segmenter.push(frame) {
            self.emit_segment(&mut run, seg).await?;
        }
        Ok(Some(run))
    }

    /// Ends `run` if the frame brings new parameters or the clocks drifted.
    async fn check_run(&mut self, run: Run, frame: &Frame) -> Result<Option<Run>, Closed> {
        if frame.new_params.as_ref().is_some_and(|p| *p != run.params) {
            tracing::info!("stream parameters changed; new recording run");
            let end = self.end_run(run).await?;
            (self.next_anchor_us, self.gap_reason) = (Some(end), "parameters_changed");
            return Ok(None);
        }
        match self.drift_reason(&run) {
            Some(reason) => {
                tracing::warn!(
                    reason,
                    "wall clock and media time disagree; new recording run"
                );
                self.end_run(run).await?;
                (self.next_anchor_us, self.gap_reason) = (None, reason);
                Ok(None)
            }
            None => Ok(Some(run)),
        }
    }

    /// Why the run must end, if wall clock and media time disagree.
    fn drift_reason(&self, run: &Run) -> Option<&'static str> {
        let media_us = (run.segmenter.media_ticks() * 1_000_000 / u64::from(TIMESCALE)) as i64;
        let max = self.opts.max_drift.as_micros() as i64;
        let mono = run.seen_at.elapsed().as_micros() as i64 - media_us;
        let wall = self.opts.clock.now_us() - run.seen_us - media_us;
        match (mono.abs() > max, wall.abs() > max) {
            (true, _) => Some("camera_timing"),
            (false, true) => Some("clock_jump"),
            _ => None,
        }
    }

    /// Opens a run now (or where a parameter change put it), never before
    /// the last run's end, reporting the span in between as a gap.
    async fn start_run(&mut self, params: &VideoParams) -> Result<Run, Closed> {
        let now = self.opts.clock.now_us();
        let at_us = self.next_anchor_us.take().unwrap_or(now);
        let anchor_us = at_us.max(self.last_end_us.unwrap_or(i64::MIN));
        let reason = self.gap_reason;
        if let Some(gap_start) = self.last_end_us.filter(|&e| e < anchor_us) {
            self.send(RecorderEvent::Gap(Gap {
                camera_id: self.camera.id,
                start: from_us(gap_start),
                end: from_us(anchor_us),
                reason: reason.to_string(),
            }))
            .await?;
        }

        let bytes = fmp4::init_segment(params).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot write init segment");
            Vec::new()
        });
        let init = InitSegment::new(self.camera.id, params.info, bytes);
        let init_id = init.id;
        self.send(RecorderEvent::Init(init)).await?;

        let segment_secs = match self.camera.segment_secs {
            0 => DEFAULT_SEGMENT_SECS,
            s => s,
        };
        let id = Uuid::now_v7();
        tracing::debug!(run.id = %id, "recording run started");
        Ok(Run {
            id,
            init_id,
            params: params.clone(),
            anchor_us,
            seen_us: now,
            seen_at: Instant::now(),
            segmenter: Segmenter::new(segment_secs),
            sequence: 0,
        })
    }

    /// Flushes the run's last segment; returns where the run ended.
    async fn end_run(&mut self, mut run: Run) -> Result<i64, Closed> {
        if let Some(seg) = run.segmenter.finish() {
            self.emit_segment(&mut run, seg).await?;
        }
        let end = run.anchor_us + ticks_to_us(run.segmenter.media_ticks());
        self.last_end_us = Some(end);
        Ok(end)
    }

    async fn emit_segment(&mut self, run: &mut Run, seg: Segment) -> Result<(), Closed> {
        run.sequence += 1;
        let bytes = match fmp4::media_segment(run.sequence, &seg) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "cannot write media segment; dropped");
                return Ok(());
            }
        };

        let start_us = run.anchor_us + ticks_to_us(seg.base_decode_time);
        let end_us = run.anchor_us + ticks_to_us(seg.base_decode_time + seg.duration);
        self.last_end_us = Some(end_us);
        self.send(RecorderEvent::Media(MediaSegment {
            id: argus_core::wire::ids::segment_id(self.camera.id, start_us),
            camera_id: self.camera.id,
            init_id: run.init_id,
            run_id: run.id,
            start: from_us(start_us),
            end: from_us(end_us),
            bytes,
        }))
        .await
    }

    async fn send(&self, event: RecorderEvent) -> Result<(), Closed> {
        self.events.send(event).await.map_err(|_| Closed)
    }

    fn set_state(&self, state: CameraState, error: Option<String>) {
        self.health.send_modify(|h| {
            h.camera_id = self.camera.id;
            h.state = state;
            if state != CameraState::Online {
                h.bitrate_bps = 0;
            }
            if error.is_some() {
                h.error = error;
            }
        });
    }

    /// Marks the camera online (at most once a second after the first frame).
    fn report_online(&mut self, params: &VideoParams) {
        let Some(bitrate) = self.meter.sample() else {
            if self.health.borrow().state == CameraState::Online {
                return;
            }
            return self.publish_online(params, None);
        };
        self.publish_online(params, Some(bitrate));
    }

    fn publish_online(&self, params: &VideoParams, bitrate: Option<u64>) {
        let now = from_us(self.opts.clock.now_us());
        self.health.send_modify(|h| {
            h.camera_id = self.camera.id;
            h.state = CameraState::Online;
            h.bitrate_bps = bitrate.unwrap_or(h.bitrate_bps);
            h.last_frame_at = Some(now);
            h.codec = Some(params.info.codec.as_str().to_string());
            h.width = Some(params.info.width);
            h.height = Some(params.info.height);
            h.error = None;
        });
    }
}

/// Received bytes over windows of about a second.
#[derive(Debug, Default)]
struct Meter {
    since: Option<Instant>,
    bytes: u64,
}

impl Meter {
    fn add(&mut self, n: usize) {
        self.since.get_or_insert_with(Instant::now);
        self.bytes += n as u64;
    }

    /// The bitrate of the window once it is a second old; starts a new one.
    fn sample(&mut self) -> Option<u64> {
        let elapsed = self.since?.elapsed();
        if elapsed < Duration::from_secs(1) {
            return None;
        }
        let bps = self.bytes * 8 * 1000 / (elapsed.as_millis() as u64).max(1);
        (self.since, self.bytes) = (Some(Instant::now()), 0);
        Some(bps)
    }
}

fn ticks_to_us(ticks: u64) -> i64 {
    (ticks * 1_000_000 / u64::from(TIMESCALE)) as i64
}

fn from_us(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

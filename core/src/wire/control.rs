//! Messages of the control channel: one WebSocket per relay, opened by
//! the relay at `/relay/v1/connect`, JSON text frames tagged by `type`.

use super::RelayConfig;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Relay → cloud.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RelayMessage {
    /// First message on every connection.
    Hello {
        protocol: u32,
        version: String,
        cameras: Vec<CameraHealth>,
    },
    /// Every few seconds, also when nothing changed.
    Heartbeat { uplink: UplinkHealth },
    /// A camera's state changed, or its periodic report.
    Camera(CameraHealth),
}

/// Cloud → relay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CloudMessage {
    /// The full set of cameras to record; replaces the previous one.
    Config(RelayConfig),
    /// Start pushing a camera live to `whip_url` (live view).
    StartLive { camera_id: Uuid, whip_url: String },
    /// No one watches any more (after the grace period).
    StopLive { camera_id: Uuid },
}

/// How a camera is doing, as its relay sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CameraHealth {
    pub camera_id: Uuid,
    pub state: CameraState,
    /// Received video bitrate over the last few seconds.
    pub bitrate_bps: u64,
    pub last_frame_at: Option<DateTime<Utc>>,
    /// `h264` or `h265` once known.
    pub codec: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The encoding of the camera's audio as its SDP names it (`pcmu`,
    /// `pcma`, `opus`, `mpeg4-generic` for AAC...); `None`: no audio, or
    /// not known yet. Older relays leave it out.
    #[serde(default)]
    pub audio: Option<String>,
    /// The last error, for the operator (never contains credentials).
    pub error: Option<String>,
}

impl CameraHealth {
    /// A camera whose source is being opened: nothing known yet.
    pub fn connecting(camera_id: Uuid) -> Self {
        Self {
            camera_id,
            state: CameraState::Connecting,
            bitrate_bps: 0,
            last_frame_at: None,
            codec: None,
            width: None,
            height: None,
            audio: None,
            error: None,
        }
    }
}

/// A camera's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraState {
    Connecting,
    Online,
    Offline,
}

/// The relay's upload backlog.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UplinkHealth {
    /// Segments recorded but not yet committed.
    pub buffered_segments: u64,
    pub buffered_bytes: u64,
    /// Segments dropped since start because the buffer was full.
    pub dropped_segments: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_json() {
        let m = CloudMessage::StopLive {
            camera_id: Uuid::nil(),
        };
        let text = serde_json::to_string(&m).unwrap();
        assert!(text.starts_with(r#"{"type":"stop_live""#), "{text}");
        let back: CloudMessage = serde_json::from_str(&text).unwrap();
        assert_eq!(back, m);
    }
}

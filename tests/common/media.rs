//! Checks on recorded video with tools no one here wrote: ffprobe reads
//! the codec, size and duration, ffmpeg decodes every frame.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// What ffprobe says of a file's first video stream and its container.
pub struct Probe {
    pub codec: String,
    pub width: u64,
    pub height: u64,
    pub duration: f64,
}

/// Runs ffprobe on `file`; panics with ffprobe's words if it cannot read it.
pub fn probe(file: &Path) -> Probe {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_streams",
            "-show_format",
        ])
        .arg(file)
        .output()
        .expect("ffprobe installed (scripts/ensure-test-tools.sh)");
    assert!(
        out.status.success(),
        "ffprobe cannot read {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let video = v["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["codec_type"] == "video")
        .unwrap_or_else(|| panic!("no video stream in {v}"))
        .clone();
    Probe {
        codec: video["codec_name"].as_str().unwrap_or("").to_string(),
        width: video["width"].as_u64().unwrap_or(0),
        height: video["height"].as_u64().unwrap_or(0),
        duration: v["format"]["duration"]
            .as_str()
            .and_then(|d| d.parse().ok())
            .unwrap_or(0.0),
    }
}

/// Decodes every frame of `file` with ffmpeg; returns how many, and
/// panics if ffmpeg reports any error.
pub fn decode_frames(file: &Path) -> u64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(file)
        .output()
        .expect("ffprobe installed");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.trim().is_empty(),
        "decoding {}: {err}",
        file.display()
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The bytes after the leading `ftyp` and `moov` boxes: the media
/// fragments of a file that the api served as init + media.
pub fn strip_init(mp4: &[u8]) -> &[u8] {
    let mut at = 0;
    while at + 8 <= mp4.len() {
        let size = u32::from_be_bytes(mp4[at..at + 4].try_into().unwrap()) as usize;
        let kind = &mp4[at + 4..at + 8];
        if (kind != b"ftyp" && kind != b"moov") || size < 8 {
            break;
        }
        at += size;
    }
    &mp4[at..]
}

/// Whether `bytes` carries MP4 boxes in the clear near its start (where
/// an unencrypted init or media segment, even behind a nonce, has them).
pub fn looks_like_mp4(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(64)];
    head.windows(4)
        .any(|w| [b"ftyp", b"moov", b"moof", b"mdat", b"styp"].contains(&w.try_into().unwrap()))
}

/// Keys of every object in `bucket` (moto answers unsigned list requests).
pub async fn list_objects(s3: &str, bucket: &str) -> Vec<String> {
    let url = format!("{s3}/{bucket}?list-type=2&max-keys=10000");
    let xml = reqwest::get(url).await.unwrap().text().await.unwrap();
    xml.split("<Key>")
        .skip(1)
        .map(|s| s.split("</Key>").next().unwrap().to_string())
        .collect()
}

/// One object's raw bytes, as stored, read with the api's own S3 client
/// and the test credentials.
pub async fn get_object(s3: &str, bucket: &str, key: &str) -> Vec<u8> {
    let cfg = argus_api::config::StorageConfig {
        endpoint: Some(s3.to_string()),
        bucket: bucket.to_string(),
        access_key_id: Some("e2e".into()),
        secret_access_key: Some(argus_core::Secret::new("e2e-secret".into())),
        ..Default::default()
    };
    let storage = argus_api::storage::Storage::new(&cfg).unwrap();
    storage
        .get(key)
        .await
        .unwrap_or_else(|e| panic!("GET {key}: {e}"))
}

//! Deterministic ids for recorded objects.
//!
//! A relay that retries an upload or a commit after a crash must name the
//! same object again, so ids derive from what the object is, never from a
//! random draw: a media segment from its camera and start time, an init
//! segment from its camera and content.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Namespace of Argus's name-based (v5) ids.
const NAMESPACE: Uuid = Uuid::from_u128(0x6172_6775_732d_7365_676d_656e_7473_0001);

/// The id of the media segment of `camera` starting at `start_us`
/// (microseconds since the Unix epoch).
pub fn segment_id(camera: Uuid, start_us: i64) -> Uuid {
    let mut name = Vec::with_capacity(25);
    name.push(b's');
    name.extend_from_slice(camera.as_bytes());
    name.extend_from_slice(&start_us.to_be_bytes());
    Uuid::new_v5(&NAMESPACE, &name)
}

/// The id of an init segment of `camera` with these exact bytes.
pub fn init_id(camera: Uuid, init: &[u8]) -> Uuid {
    let mut name = Vec::with_capacity(49);
    name.push(b'i');
    name.extend_from_slice(camera.as_bytes());
    name.extend_from_slice(&Sha256::digest(init));
    Uuid::new_v5(&NAMESPACE, &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let cam = Uuid::from_u128(7);
        assert_eq!(segment_id(cam, 1_000), segment_id(cam, 1_000));
        assert_ne!(segment_id(cam, 1_000), segment_id(cam, 1_001));
        assert_ne!(
            segment_id(cam, 1_000),
            segment_id(Uuid::from_u128(8), 1_000)
        );
        assert_eq!(init_id(cam, b"moov"), init_id(cam, b"moov"));
        assert_ne!(init_id(cam, b"moov"), init_id(cam, b"moof"));
    }
}

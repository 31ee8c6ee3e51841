//! H.264 in RTP (RFC 6184): whether a packet starts a keyframe.
//!
//! A keyframe starts at the first packet carrying an SPS (type 7) or an
//! IDR slice (type 5), alone (single NAL unit, §5.6), inside an
//! aggregation packet (STAP-A, §5.7.1) or as the first fragment of a
//! fragmentation unit (FU-A with the S bit, §5.8). Later FU-A fragments of
//! an IDR do not start one: a stream cut there would not decode.

/// NAL unit types this module looks at.
const IDR: u8 = 5;
const SPS: u8 = 7;
const STAP_A: u8 = 24;
const FU_A: u8 = 28;

/// Whether an SPS or IDR NAL unit starts in this RTP payload.
pub fn starts_keyframe(payload: &[u8]) -> bool {
    let Some(&first) = payload.first() else {
        return false;
    };
    match first & 0x1f {
        IDR | SPS => true,
        STAP_A => stap_a_has_keyframe(&payload[1..]),
        FU_A => payload
            .get(1)
            .is_some_and(|fu| fu & 0x80 != 0 && matches!(fu & 0x1f, IDR | SPS)),
        _ => false,
    }
}

/// Walks the length-prefixed NAL units of a STAP-A body.
fn stap_a_has_keyframe(mut body: &[u8]) -> bool {
    while body.len() >= 3 {
        let len = usize::from(u16::from_be_bytes([body[0], body[1]]));
        let Some(nal) = body.get(2..2 + len) else {
            return false;
        };
        if nal.first().is_some_and(|h| matches!(h & 0x1f, IDR | SPS)) {
            return true;
        }
        body = &body[2 + len..];
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_nal_units() {
        assert!(starts_keyframe(&[0x67, 0x42, 0x00]), "SPS");
        assert!(starts_keyframe(&[0x65, 0x88]), "IDR");
        assert!(!starts_keyframe(&[0x41, 0x9a]), "P slice");
        assert!(!starts_keyframe(&[0x68, 0xce]), "PPS alone");
        assert!(!starts_keyframe(&[]));
    }

    #[test]
    fn stap_a_with_sps_pps() {
        let stap = [0x78, 0, 2, 0x68, 0xce, 0, 3, 0x67, 0x42, 0x00];
        assert!(starts_keyframe(&stap));
        let only_pps = [0x78, 0, 2, 0x68, 0xce];
        assert!(!starts_keyframe(&only_pps));
        let truncated = [0x78, 0, 9, 0x67];
        assert!(!starts_keyframe(&truncated));
    }

    #[test]
    fn fu_a_start_of_an_idr_only() {
        assert!(starts_keyframe(&[0x7c, 0x85, 0x88]), "FU-A start, IDR");
        assert!(!starts_keyframe(&[0x7c, 0x05, 0x88]), "FU-A middle, IDR");
        assert!(!starts_keyframe(&[0x7c, 0x81, 0x9a]), "FU-A start, P slice");
    }
}

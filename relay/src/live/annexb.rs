//! From the recorder's AVCC frames (each NAL prefixed by its length) to
//! the Annex B byte stream (each NAL after a start code) that the RTP
//! packetizer of a live push takes.
//!
//! Invariant: an H.264 keyframe always leaves here with its SPS and PPS in
//! front, taken from the stream's parameters when the camera sent them only
//! in the SDP, so a viewer can start decoding at any keyframe.

use crate::source::{avcc_nals, VideoParams};

const START: [u8; 4] = [0, 0, 0, 1];
const NAL_SPS: u8 = 7;

/// Converts one access unit; `is_key` frames get parameter sets if they lack them.
pub fn from_avcc(avcc: &[u8], is_key: bool, params: &VideoParams) -> Vec<u8> {
    let mut out = Vec::with_capacity(avcc.len() + 64);
    let nals: Vec<&[u8]> = avcc_nals(avcc).filter(|n| !n.is_empty()).collect();

    let has_sps = nals
        .iter()
        .any(|n| n.first().map(|b| b & 0x1f) == Some(NAL_SPS));
    if is_key && !has_sps {
        if let mp4_atom::Codec::Avc1(avc1) = &params.sample_entry {
            let sets = avc1.avcc.sequence_parameter_sets.iter();
            for set in sets.chain(&avc1.avcc.picture_parameter_sets) {
                out.extend_from_slice(&START);
                out.extend_from_slice(set);
            }
        }
    }

    for nal in nals {
        out.extend_from_slice(&START);
        out.extend_from_slice(nal);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::{Codec, StreamInfo};

    fn params() -> VideoParams {
        let avcc = mp4_atom::Avcc {
            configuration_version: 1,
            avc_profile_indication: 0x42,
            profile_compatibility: 0xe0,
            avc_level_indication: 0x1f,
            length_size: 4,
            sequence_parameter_sets: vec![vec![0x67, 1, 2]],
            picture_parameter_sets: vec![vec![0x68, 3]],
            ext: None,
        };
        let avc1 = mp4_atom::Avc1 {
            visual: Default::default(),
            avcc,
            btrt: None,
            colr: None,
            pasp: None,
            taic: None,
            fiel: None,
            spatial: None,
        };
        VideoParams {
            info: StreamInfo {
                codec: Codec::H264,
                width: 16,
                height: 16,
            },
            sample_entry: mp4_atom::Codec::Avc1(avc1),
        }
    }

    fn avcc(nals: &[&[u8]]) -> Vec<u8> {
        let mut out = vec![];
        for n in nals {
            out.extend_from_slice(&(n.len() as u32).to_be_bytes());
            out.extend_from_slice(n);
        }
        out
    }

    #[test]
    fn keyframes_get_parameter_sets_from_the_sdp() {
        let idr: &[u8] = &[0x65, 9, 9];
        let out = from_avcc(&avcc(&[idr]), true, &params());
        let want = [&START[..], &[0x67, 1, 2], &START, &[0x68, 3], &START, idr].concat();
        assert_eq!(out, want);
    }

    #[test]
    fn in_band_parameter_sets_are_not_doubled_and_deltas_stay_bare() {
        let (sps, pps, idr): (&[u8], &[u8], &[u8]) = (&[0x67, 7], &[0x68, 8], &[0x65, 5]);
        let out = from_avcc(&avcc(&[sps, pps, idr]), true, &params());
        assert_eq!(out, [&START[..], sps, &START, pps, &START, idr].concat());

        let slice: &[u8] = &[0x41, 1];
        let out = from_avcc(&avcc(&[slice, slice]), false, &params());
        assert_eq!(out, [&START[..], slice, &START, slice].concat());
    }

    #[test]
    fn a_truncated_buffer_keeps_only_whole_nals() {
        let mut buf = avcc(&[&[0x41, 1, 2]]);
        buf.extend_from_slice(&[0, 0, 0, 9, 0x41]);
        assert_eq!(from_avcc(&buf, false, &params()).len(), 4 + 3);
    }
}

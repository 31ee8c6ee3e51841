//! Fragmented MP4 (ISO/IEC 14496-12) for recordings: one init segment
//! (`ftyp` + `moov`) per run's parameters and one `moof` + `mdat` per
//! segment, written with `mp4-atom`.
//!
//! Invariant: a single video track (id 1) at [`TIMESCALE`]; each fragment's
//! `tfdt` carries the segment's decode time since the run started, and its
//! `trun` data offset points just past the `mdat` header (offsets relative to
//! the `moof`, `default-base-is-moof`), so `cat init seg1 seg2 …` is a
//! playable file.

use mp4_atom::{
    Dinf, Dref, Encode, Ftyp, Hdlr, Mdhd, Mdia, Mfhd, Minf, Moof, Moov, Mvex, Mvhd, Stbl, Stco,
    Stsd, Tfdt, Tfhd, Tkhd, Traf, Trak, Trex, Trun, TrunEntry, Url, Vmhd,
};

use crate::segmenter::Segment;
use crate::source::{VideoParams, TIMESCALE};

const TRACK_ID: u32 = 1;

/// Sample flags (ISO/IEC 14496-12 §8.8.3.1): a sync sample depends on no
/// other; a non-sync sample depends on others and is flagged non-sync.
const SYNC_FLAGS: u32 = 0x0200_0000;
const NON_SYNC_FLAGS: u32 = 0x0101_0000;

/// Writing a box failed (mp4-atom refused a value).
#[derive(Debug, thiserror::Error)]
#[error("fmp4: {0}")]
pub struct Fmp4Error(#[from] mp4_atom::Error);

/// `ftyp` + `moov` describing one video track with `params`.
pub fn init_segment(params: &VideoParams) -> Result<Vec<u8>, Fmp4Error> {
    let ftyp = Ftyp {
        major_brand: b"iso6".into(),
        minor_version: 0,
        compatible_brands: vec![b"iso6".into(), b"mp41".into(), b"dash".into()],
    };
    let moov = Moov {
        mvhd: Mvhd {
            timescale: 1000,
            rate: 1.into(),
            volume: 1.into(),
            next_track_id: TRACK_ID + 1,
            ..Default::default()
        },
        mvex: Some(Mvex {
            mehd: None,
            trex: vec![Trex {
                track_id: TRACK_ID,
                default_sample_description_index: 1,
                ..Default::default()
            }],
        }),
        trak: vec![track(params)],
        ..Default::default()
    };

    let mut out = Vec::new();
    ftyp.encode(&mut out)?;
    moov.encode(&mut out)?;
    Ok(out)
}

fn track(params: &VideoParams) -> Trak {
    Trak {
        tkhd: Tkhd {
            track_id: TRACK_ID,
            enabled: true,
            in_movie: true,
            width: (params.info.width as u16).into(),
            height: (params.info.height as u16).into(),
            ..Default::default()
        },
        mdia: Mdia {
            mdhd: Mdhd {
                timescale: TIMESCALE,
                language: "und".to_string(),
                ..Default::default()
            },
            hdlr: Hdlr {
                handler: b"vide".into(),
                name: "Argus video".to_string(),
            },
            minf: Minf {
                vmhd: Some(Vmhd::default()),
                dinf: Dinf {
                    dref: Dref {
                        entries: vec![Url::default().into()],
                    },
                },
                stbl: Stbl {
                    stsd: Stsd {
                        codecs: vec![params.sample_entry.clone()],
                    },
                    stco: Some(Stco::default()),
                    ..Default::default()
                },
                ..Default::default()
            },
        },
        ..Default::default()
    }
}

/// `moof` + `mdat` of `seg`; `sequence` is the fragment's number in its run
/// (from 1).
pub fn media_segment(sequence: u32, seg: &Segment) -> Result<Vec<u8>, Fmp4Error> {
    let entries = seg
        .samples
        .iter()
        .map(|s| TrunEntry {
            duration: Some(s.duration),
            size: Some(s.size),
            flags: Some(if s.is_key { SYNC_FLAGS } else { NON_SYNC_FLAGS }),
            cts: None,
        })
        .collect::<Vec<_>>();
    let mut moof = Moof {
        mfhd: Mfhd {
            sequence_number: sequence,
        },
        traf: vec![Traf {
            tfhd: Tfhd {
                track_id: TRACK_ID,
                default_base_is_moof: true,
                ..Default::default()
            },
            tfdt: Some(Tfdt {
                base_media_decode_time: seg.base_decode_time,
            }),
            trun: vec![Trun {
                data_offset: Some(0),
                samples: entries.into(),
            }],
            ..Default::default()
        }],
    };

    // The data offset depends on the moof's own size: measure it once.
    let mut probe = Vec::new();
    moof.encode(&mut probe)?;
    moof.traf[0].trun[0].data_offset = Some(probe.len() as i32 + 8);

    let mut out = Vec::with_capacity(probe.len() + 8 + seg.data.len());
    moof.encode(&mut out)?;
    put_mdat(&mut out, &seg.data)?;
    Ok(out)
}

/// Appends an `mdat` box holding `data`. By hand, in one copy: mp4-atom's
/// `Mdat` would need its own copy of the data and encodes it byte by byte
/// (half of the relay's CPU time, measured).
fn put_mdat(out: &mut Vec<u8>, data: &[u8]) -> Result<(), Fmp4Error> {
    let too_large = |_| mp4_atom::Error::TooLarge(b"mdat".into());
    let size = u32::try_from(8 + data.len()).map_err(too_large)?;
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(b"mdat");
    out.extend_from_slice(data);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segmenter::Sample;
    use mp4_atom::{Decode, Mdat};

    #[test]
    fn a_media_segment_is_a_moof_then_an_mdat_of_the_samples() {
        let sample = |size, is_key| Sample {
            duration: 3600,
            size,
            is_key,
        };
        let seg = Segment {
            base_decode_time: 7200,
            duration: 7200,
            samples: vec![sample(3, true), sample(2, false)],
            data: vec![0, 0, 0, 1, 0x65, 9],
        };
        let bytes = media_segment(2, &seg).unwrap();

        let mut buf = bytes.as_slice();
        let moof = Moof::decode(&mut buf).unwrap();
        let moof_len = bytes.len() - buf.len();
        let mdat = Mdat::decode(&mut buf).unwrap();
        assert!(buf.is_empty());
        assert_eq!(mdat.data, seg.data);
        assert_eq!(moof.mfhd.sequence_number, 2);
        let trun = &moof.traf[0].trun[0];
        assert_eq!(trun.data_offset, Some(moof_len as i32 + 8));
        assert_eq!(trun.samples.len(), 2);
    }
}

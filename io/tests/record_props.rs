//! Property tests of the shared record reader: truncation is always a torn tail, bit flips are
//! always an error or provably torn, and an intact record is never dropped silently.
//!
//! `CHRONOS_FUZZ_CASES=N` runs N cases per property (default 256, what CI runs).

use std::path::Path;

use chronos_io::Error;
use chronos_io::record::{HEADER_BYTES, MAX_PAYLOAD_BYTES, Tail, encode, read_records};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    let cases = std::env::var("CHRONOS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const FILE: &str = "/data/000007.log";

/// Frames `payloads`; returns the file and each record's byte range.
fn frame(payloads: &[Vec<u8>]) -> (Vec<u8>, Vec<std::ops::Range<usize>>) {
    let mut out = Vec::new();
    let mut ranges = Vec::new();
    for p in payloads {
        let start = out.len();
        encode(&mut out, p).expect("small payload");
        ranges.push(start..out.len());
    }
    (out, ranges)
}

fn payloads() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..12)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn truncation_is_a_torn_tail_keeping_every_whole_record(
        payloads in payloads(),
        cut_frac in 0.0f64..=1.0,
    ) {
        let (data, ranges) = frame(&payloads);
        let cut = (data.len() as f64 * cut_frac) as usize;
        let r = read_records(&data[..cut], Path::new(FILE), true).expect("a cut is never corruption");
        let whole = ranges.iter().take_while(|r| r.end <= cut).count();
        prop_assert_eq!(r.records.len(), whole);
        for (got, want) in r.records.iter().zip(&payloads) {
            prop_assert_eq!(got.1, want.as_slice());
        }
        let at_boundary = cut == 0 || ranges.iter().any(|r| r.end == cut);
        match r.tail {
            Tail::Clean => prop_assert!(at_boundary),
            Tail::Torn { offset, .. } => {
                prop_assert!(!at_boundary);
                prop_assert_eq!(offset as usize, ranges[whole].start);
            }
        }
    }

    #[test]
    fn bit_flips_are_errors_or_provably_torn_never_a_silent_loss(
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..12),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..4),
        newest in any::<bool>(),
    ) {
        let (mut data, ranges) = frame(&payloads);
        let mut damaged = std::collections::BTreeSet::new();
        for (at, bit) in &flips {
            let at = at.index(data.len());
            data[at] ^= 1 << bit;
            damaged.insert(at);
        }
        // Flips can cancel out; what counts is the bytes that differ.
        let (clean, _) = frame(&payloads);
        let differs: Vec<usize> = damaged.into_iter().filter(|&i| data[i] != clean[i]).collect();
        match read_records(&data, Path::new(FILE), newest) {
            Ok(r) => {
                // Every record returned is exactly what was written, in order ...
                for (got, want) in r.records.iter().zip(&payloads) {
                    prop_assert_eq!(got.1, want.as_slice());
                }
                // ... and every record not returned is itself damaged: nothing intact is cut.
                for range in &ranges[r.records.len()..] {
                    prop_assert!(
                        differs.iter().any(|i| range.contains(i)),
                        "intact record {:?} dropped, tail {:?}", range, r.tail
                    );
                }
                if r.tail == Tail::Clean {
                    prop_assert_eq!(r.records.len(), payloads.len());
                    prop_assert!(differs.is_empty());
                }
            }
            Err(Error::Corruption { file, offset, .. }) => {
                prop_assert_eq!(file.as_path(), Path::new(FILE));
                // The offset is a record boundary at or before the first damaged byte.
                let first = differs.first().copied().unwrap_or(0);
                prop_assert!(ranges.iter().any(|r| r.start == offset as usize));
                prop_assert!(offset as usize <= first);
            }
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }

    #[test]
    fn garbage_never_panics_and_records_stay_in_bounds(
        data in prop::collection::vec(any::<u8>(), 0..4096),
        newest in any::<bool>(),
    ) {
        if let Ok(r) = read_records(&data, Path::new(FILE), newest) {
            let mut end = 0;
            for (offset, payload) in &r.records {
                prop_assert_eq!(*offset as usize, end);
                end += HEADER_BYTES + payload.len();
                prop_assert!(payload.len() <= MAX_PAYLOAD_BYTES);
            }
            prop_assert!(end <= data.len());
        }
    }
}

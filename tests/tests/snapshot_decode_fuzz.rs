//! Fuzzing of the node's decoders that the storage fuzzers cannot reach from inside their
//! crates: Raft entry commands (`state_machine::Command::decode`) and snapshot dumps
//! (`state_machine::restore`, the format a follower downloads from a peer and loads).
//!
//! Property: garbage, truncation, bit flips and huge length fields are an error or data, never
//! a panic, and no single allocation exceeds what the input could justify. A counting global
//! allocator records the largest allocation this test binary makes.
//!
//! `CHRONOS_FUZZ_CASES=N` runs N cases per property (default 64, what CI runs).
#![expect(clippy::unwrap_used, reason = "tests")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chronos_kv::mvcc::{HybridClock, MvccOptions, MvccStore, WallClock};
use chronos_kv::{Db, Options};
use chronos_server::state_machine::{Command, restore};
use proptest::prelude::*;

/// The system allocator, recording the largest single request.
struct Counting;

static LARGEST_ALLOCATION: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST_ALLOCATION.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is passed through.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST_ALLOCATION.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST_ALLOCATION.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Serialises the tests that read [`LARGEST_ALLOCATION`] (the test harness runs tests on
/// several threads, and the counter is process-wide).
static MEASURING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Far above anything these small inputs justify, far below a length field's reach (4 GiB).
const ALLOCATION_BOUND_BYTES: usize = 64 << 20;

fn config() -> ProptestConfig {
    let cases = std::env::var("CHRONOS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

#[derive(Debug)]
struct ZeroClock;
impl WallClock for ZeroClock {
    fn now_millis(&self) -> u64 {
        0
    }
}

fn store() -> (tempfile::TempDir, Arc<MvccStore>) {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        write_buffer_size_bytes: 1 << 20,
        ..Options::default()
    };
    let db = Db::open(dir.path().join("kv"), opts).unwrap();
    let store = MvccStore::open(
        db,
        HybridClock::new(Arc::new(ZeroClock)),
        MvccOptions::default(),
    )
    .unwrap();
    (dir, store)
}

/// A dump record: key and value, each `len u32 LE | bytes`.
fn record(out: &mut Vec<u8>, k: &[u8], v: &[u8]) {
    for f in [k, v] {
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
}

/// Found by this fuzzer: a dump's length field was an allocation request (`vec![0; len]`), so
/// four bytes from a peer or a damaged file asked for up to 4 GiB before reading anything.
#[test]
fn a_huge_length_in_a_snapshot_dump_is_an_error_not_an_allocation() {
    let _guard = MEASURING.lock().unwrap_or_else(|p| p.into_inner());
    let (_dir, store) = store();
    let mut dump = Vec::new();
    record(&mut dump, b"\x01a", b"value");
    dump.extend_from_slice(&u32::MAX.to_le_bytes());
    dump.extend_from_slice(b"short");
    LARGEST_ALLOCATION.store(0, Ordering::Relaxed);
    assert!(restore(&store, &dump, 7).is_err());
    let largest = LARGEST_ALLOCATION.load(Ordering::Relaxed);
    assert!(
        largest < ALLOCATION_BOUND_BYTES,
        "allocated {largest} bytes"
    );
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn entry_commands_take_garbage(data in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Command::decode(&data);
    }

    #[test]
    fn snapshot_dumps_take_garbage_and_damage(
        pairs in prop::collection::vec((prop::collection::vec(any::<u8>(), 0..20), prop::collection::vec(any::<u8>(), 0..40)), 0..12),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut dump = Vec::new();
        let mut keys: Vec<Vec<u8>> = pairs.iter().map(|(k, _)| [&[1u8][..], k].concat()).collect();
        keys.sort();
        keys.dedup();
        for (k, (_, v)) in keys.iter().zip(&pairs) {
            record(&mut dump, k, v);
        }
        if !dump.is_empty() {
            for (at, x) in &flips {
                let at = at.index(dump.len());
                dump[at] ^= x;
            }
            dump.truncate(cut.index(dump.len() + 1));
        }
        let _guard = MEASURING.lock().unwrap_or_else(|p| p.into_inner());
        let (_dir, store) = store();
        LARGEST_ALLOCATION.store(0, Ordering::Relaxed);
        let _ = restore(&store, &dump, 3);
        let largest = LARGEST_ALLOCATION.load(Ordering::Relaxed);
        prop_assert!(largest < ALLOCATION_BOUND_BYTES, "allocated {} bytes", largest);
    }
}

//! Counters the engine keeps for tools and benchmarks.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters, updated with relaxed atomics (they are statistics, not synchronisation).
#[derive(Debug, Default)]
pub struct Stats {
    pub user_bytes_written: AtomicU64,
    pub wal_bytes_written: AtomicU64,
    pub wal_syncs: AtomicU64,
    pub write_groups: AtomicU64,
    pub batches_written: AtomicU64,
    pub flushes: AtomicU64,
    pub flush_bytes_written: AtomicU64,
    pub compactions: AtomicU64,
    pub trivial_moves: AtomicU64,
    pub compaction_bytes_read: AtomicU64,
    pub compaction_bytes_written: AtomicU64,
    /// Point lookups the bloom filter answered "certainly not here".
    pub bloom_useful: AtomicU64,
    /// Point lookups that passed the bloom filter (true or false positives).
    pub bloom_checked_positive: AtomicU64,
    /// Writes that were slowed because L0 backed up.
    pub slowdown_stalls: AtomicU64,
    /// Writes that waited for a flush or compaction to make room.
    pub stop_stalls: AtomicU64,
    pub stall_micros: AtomicU64,
}

/// One level's shape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LevelStats {
    pub files: usize,
    pub bytes: u64,
}

/// A copy of the counters plus the current shape of the tree.
#[derive(Debug, Clone, Default)]
pub struct StatsSnapshot {
    pub levels: Vec<LevelStats>,
    pub memtable_bytes: usize,
    pub immutable_memtables: usize,
    pub last_sequence: u64,
    pub user_bytes_written: u64,
    pub wal_bytes_written: u64,
    pub wal_syncs: u64,
    pub write_groups: u64,
    pub batches_written: u64,
    pub flushes: u64,
    pub flush_bytes_written: u64,
    pub compactions: u64,
    pub trivial_moves: u64,
    pub compaction_bytes_read: u64,
    pub compaction_bytes_written: u64,
    pub bloom_useful: u64,
    pub bloom_checked_positive: u64,
    pub slowdown_stalls: u64,
    pub stop_stalls: u64,
    pub stall_micros: u64,
}

impl Stats {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            user_bytes_written: get(&self.user_bytes_written),
            wal_bytes_written: get(&self.wal_bytes_written),
            wal_syncs: get(&self.wal_syncs),
            write_groups: get(&self.write_groups),
            batches_written: get(&self.batches_written),
            flushes: get(&self.flushes),
            flush_bytes_written: get(&self.flush_bytes_written),
            compactions: get(&self.compactions),
            trivial_moves: get(&self.trivial_moves),
            compaction_bytes_read: get(&self.compaction_bytes_read),
            compaction_bytes_written: get(&self.compaction_bytes_written),
            bloom_useful: get(&self.bloom_useful),
            bloom_checked_positive: get(&self.bloom_checked_positive),
            slowdown_stalls: get(&self.slowdown_stalls),
            stop_stalls: get(&self.stop_stalls),
            stall_micros: get(&self.stall_micros),
            ..StatsSnapshot::default()
        }
    }
}

impl StatsSnapshot {
    /// Bytes written to disk (WAL, flushes, compactions) per byte the user wrote.
    pub fn write_amplification(&self) -> f64 {
        if self.user_bytes_written == 0 {
            return 0.0;
        }
        (self.wal_bytes_written + self.flush_bytes_written + self.compaction_bytes_written) as f64
            / self.user_bytes_written as f64
    }

    /// Share of bloom probes that saved a block read.
    pub fn bloom_useful_ratio(&self) -> f64 {
        let total = self.bloom_useful + self.bloom_checked_positive;
        if total == 0 {
            return 0.0;
        }
        self.bloom_useful as f64 / total as f64
    }
}

impl fmt::Display for StatsSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "level  files        bytes")?;
        for (i, l) in self.levels.iter().enumerate() {
            writeln!(f, "L{i:<5} {:>5} {:>12}", l.files, l.bytes)?;
        }
        writeln!(
            f,
            "memtable {} bytes, {} immutable; last sequence {}",
            self.memtable_bytes, self.immutable_memtables, self.last_sequence
        )?;
        writeln!(
            f,
            "user bytes {}, WAL bytes {} in {} syncs ({} groups, {} batches)",
            self.user_bytes_written,
            self.wal_bytes_written,
            self.wal_syncs,
            self.write_groups,
            self.batches_written
        )?;
        writeln!(
            f,
            "flushes {} ({} bytes), compactions {} (+{} trivial moves; {} read, {} written)",
            self.flushes,
            self.flush_bytes_written,
            self.compactions,
            self.trivial_moves,
            self.compaction_bytes_read,
            self.compaction_bytes_written
        )?;
        writeln!(
            f,
            "write amplification {:.2}; bloom filter avoided {} of {} probes ({:.1}%)",
            self.write_amplification(),
            self.bloom_useful,
            self.bloom_useful + self.bloom_checked_positive,
            100.0 * self.bloom_useful_ratio()
        )?;
        write!(
            f,
            "stalls: {} slowdowns, {} stops, {} µs",
            self.slowdown_stalls, self.stop_stalls, self.stall_micros
        )
    }
}

//! Tuning knobs of the engine, with defaults for a server and a tiny preset for tests.

/// How flushes and compactions run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackgroundMode {
    /// A background thread flushes and compacts while writes continue.
    Thread,
    /// No thread: the writer that fills the memtable flushes and compacts before returning.
    /// Deterministic, for tests and simulation.
    Inline,
}

/// Options for [`crate::Db::open`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Create the data directory if it does not exist (or is empty).
    pub create_if_missing: bool,
    /// A memtable is frozen and flushed once it reaches this size.
    pub write_buffer_size_bytes: usize,
    /// Frozen memtables waiting for flush before writers wait.
    pub max_immutable_memtables: usize,
    /// Target size of an SSTable data block.
    pub block_size_bytes: usize,
    /// Entries between full keys in a data block.
    pub block_restart_interval: usize,
    /// Bloom filter bits per key (0 disables the filter's effect: every probe passes).
    pub bloom_bits_per_key: usize,
    /// Compaction output files are cut at this size.
    pub target_file_size_bytes: u64,
    /// L0 files that trigger an L0 → L1 compaction.
    pub l0_compaction_trigger: usize,
    /// L0 files at which each write is delayed a little.
    pub l0_slowdown_trigger: usize,
    /// L0 files at which writes wait for compaction.
    pub l0_stop_trigger: usize,
    /// Target size of L1; each deeper level is `level_size_ratio` times larger.
    pub level_base_bytes: u64,
    pub level_size_ratio: u64,
    /// Number of levels (L0 .. L(n-1)).
    pub num_levels: usize,
    /// Start a new manifest once the current one grows past this size.
    pub manifest_rollover_bytes: u64,
    pub background: BackgroundMode,
    /// Open without changing anything on disk (for inspection tools): the WAL is replayed into
    /// memory, nothing is flushed, compacted or cleaned up, and writes are refused.
    pub read_only: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            create_if_missing: true,
            write_buffer_size_bytes: 64 << 20,
            max_immutable_memtables: 2,
            block_size_bytes: 4096,
            block_restart_interval: 16,
            bloom_bits_per_key: 10,
            target_file_size_bytes: 32 << 20,
            l0_compaction_trigger: 4,
            l0_slowdown_trigger: 12,
            l0_stop_trigger: 20,
            level_base_bytes: 256 << 20,
            level_size_ratio: 10,
            num_levels: 7,
            manifest_rollover_bytes: 16 << 20,
            background: BackgroundMode::Thread,
            read_only: false,
        }
    }
}

impl Options {
    /// Everything tiny, so a few hundred writes exercise flushes, multi-block tables, every
    /// level and manifest rollover. Inline background work, for determinism.
    pub fn tiny() -> Self {
        Options {
            create_if_missing: true,
            write_buffer_size_bytes: 2 << 10,
            max_immutable_memtables: 1,
            block_size_bytes: 128,
            block_restart_interval: 2,
            bloom_bits_per_key: 10,
            target_file_size_bytes: 1 << 10,
            l0_compaction_trigger: 2,
            l0_slowdown_trigger: 6,
            l0_stop_trigger: 8,
            level_base_bytes: 4 << 10,
            level_size_ratio: 4,
            num_levels: 5,
            manifest_rollover_bytes: 4 << 10,
            background: BackgroundMode::Inline,
            read_only: false,
        }
    }

    /// Target size of level `level` (>= 1).
    pub fn max_bytes_for_level(&self, level: usize) -> u64 {
        let mut bytes = self.level_base_bytes;
        for _ in 1..level {
            bytes = bytes.saturating_mul(self.level_size_ratio);
        }
        bytes
    }

    pub(crate) fn validate(&self) -> crate::Result<()> {
        let bad = |what: &str| Err(crate::Error::InvalidArgument(format!("options: {what}")));
        if self.num_levels < 2 {
            return bad("num_levels must be at least 2");
        }
        if self.l0_compaction_trigger == 0
            || self.l0_slowdown_trigger < self.l0_compaction_trigger
            || self.l0_stop_trigger < self.l0_slowdown_trigger
        {
            return bad("L0 triggers must satisfy 0 < compaction <= slowdown <= stop");
        }
        if self.max_immutable_memtables == 0 || self.write_buffer_size_bytes == 0 {
            return bad("memtable sizes must be positive");
        }
        if self.level_size_ratio < 2
            || self.level_base_bytes == 0
            || self.target_file_size_bytes == 0
        {
            return bad("level sizes must be positive and grow by at least 2x");
        }
        Ok(())
    }
}

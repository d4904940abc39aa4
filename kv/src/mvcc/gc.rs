//! Garbage collection of versions no reader can see.
//!
//! The watermark is the older of (a) the oldest active snapshot and (b) now minus the retention
//! window (never above the last commit). For each key, the newest version at or below the
//! watermark is what every possible reader at or above the watermark sees if it sees anything
//! old, so it stays — unless it is a tombstone, which then hides nothing and goes too — and
//! every older version goes. The watermark is raised (and persisted) *before* anything is
//! deleted, so time-travel reads below it are refused rather than served from partial history.
//! Deletions are ordinary engine deletes; compaction returns the space.

use std::ops::Bound;

use super::encoding;
use super::store::MvccStore;
use super::timestamp::Timestamp;
use crate::batch::WriteBatch;
use crate::db::WriteOptions;
use crate::error::Result;
use crate::iter::Direction;

/// Engine deletes per write batch during a pass.
const DELETES_PER_BATCH: usize = 1024;

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    pub watermark: Timestamp,
    pub versions_scanned: u64,
    pub versions_removed: u64,
}

impl MvccStore {
    /// Runs one garbage-collection pass over every key.
    pub fn gc(&self) -> Result<GcReport> {
        let watermark = {
            let mut t = self.tracker.lock();
            let retention_edge = Timestamp::new(
                self.clock
                    .wall_millis()
                    .saturating_sub(self.opts.retention_ms),
                0,
            );
            let mut w = retention_edge.min(t.last_commit_ts);
            if let Some((&oldest, _)) = t.active.first_key_value() {
                w = w.min(oldest);
            }
            w = w.max(t.gc_watermark);
            t.gc_watermark = w;
            w
        };
        self.persist_gc_watermark(watermark)?;

        let mut report = GcReport {
            watermark,
            ..GcReport::default()
        };
        let (lo, hi) = encoding::engine_bounds(Bound::Unbounded, Bound::Unbounded);
        let scan = self.db.scan(
            lo.as_ref().map(Vec::as_slice),
            hi.as_ref().map(Vec::as_slice),
            Direction::Forward,
        )?;
        let mut batch = WriteBatch::new();
        // The key being visited, and whether its newest version at or below the watermark
        // has been seen (everything after it is older and unreadable).
        let mut current: Option<Vec<u8>> = None;
        let mut covered = false;
        for entry in scan {
            let (engine_key, value) = entry?;
            report.versions_scanned += 1;
            let (user_key, ts) = encoding::decode_version_key(&engine_key)?;
            if current.as_ref() != Some(&user_key) {
                current = Some(user_key);
                covered = false;
            }
            if ts > watermark {
                continue;
            }
            let remove = if covered {
                true
            } else {
                covered = true;
                encoding::decode_value(&value)?.is_none()
            };
            if remove {
                batch.delete(&engine_key)?;
                report.versions_removed += 1;
                if batch.len() >= DELETES_PER_BATCH {
                    self.db
                        .write(std::mem::take(&mut batch), WriteOptions::BUFFERED)?;
                }
            }
        }
        if !batch.is_empty() {
            self.db.write(batch, WriteOptions::BUFFERED)?;
        }
        Ok(report)
    }
}

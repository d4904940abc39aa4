//! Versions: which SSTables make up the tree, level by level.
//!
//! A [`Version`] is plain data and immutable once built; each flush or compaction produces a
//! [`VersionEdit`] and a new version from it. Invariants (checked by [`Version::apply`]):
//! - L0 files may overlap; they are ordered newest first (by file number, which only grows).
//! - In L1 and deeper, files are ordered by key and their user-key ranges do not overlap.
//! - A file number appears at most once in the whole version.

use std::cmp::Ordering;

use crate::error::{Error, Result};
use crate::key;

/// What the manifest records about one SSTable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    pub number: u64,
    pub size_bytes: u64,
    pub entries: u64,
    /// Smallest and largest internal keys in the file.
    pub smallest: Vec<u8>,
    pub largest: Vec<u8>,
}

impl FileMeta {
    pub fn smallest_user_key(&self) -> &[u8] {
        key::user_key(&self.smallest)
    }

    pub fn largest_user_key(&self) -> &[u8] {
        key::user_key(&self.largest)
    }

    /// Whether the file's user-key range intersects `[lo, hi]` (None = unbounded).
    pub fn overlaps(&self, lo: Option<&[u8]>, hi: Option<&[u8]>) -> bool {
        let below = hi.is_some_and(|hi| self.smallest_user_key() > hi);
        let above = lo.is_some_and(|lo| self.largest_user_key() < lo);
        !below && !above
    }
}

/// A change to the version, recorded in the manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionEdit {
    /// WAL segments numbered below this are no longer needed.
    pub log_number: Option<u64>,
    pub next_file_number: Option<u64>,
    pub last_sequence: Option<u64>,
    pub added: Vec<(usize, FileMeta)>,
    pub deleted: Vec<(usize, u64)>,
}

/// The set of SSTables at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Version {
    pub levels: Vec<Vec<FileMeta>>,
}

impl Version {
    pub fn new(num_levels: usize) -> Self {
        Version {
            levels: vec![Vec::new(); num_levels],
        }
    }

    pub fn level_bytes(&self, level: usize) -> u64 {
        self.levels[level].iter().map(|f| f.size_bytes).sum()
    }

    pub fn file_count(&self) -> usize {
        self.levels.iter().map(Vec::len).sum()
    }

    pub fn all_files(&self) -> impl Iterator<Item = (usize, &FileMeta)> {
        self.levels
            .iter()
            .enumerate()
            .flat_map(|(l, files)| files.iter().map(move |f| (l, f)))
    }

    /// Files of `level` whose user-key range intersects `[lo, hi]`.
    pub fn overlapping(
        &self,
        level: usize,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
    ) -> Vec<&FileMeta> {
        self.levels[level]
            .iter()
            .filter(|f| f.overlaps(lo, hi))
            .collect()
    }

    /// The version after `edit`; fails (as corruption of `source`) if the edit does not fit.
    pub fn apply(&self, edit: &VersionEdit, source: &std::path::Path) -> Result<Version> {
        let bad = |reason: String| Error::corruption(source, 0, reason);
        let mut next = self.clone();
        for &(level, number) in &edit.deleted {
            let files = next
                .levels
                .get_mut(level)
                .ok_or_else(|| bad(format!("edit deletes from level {level}, beyond the last")))?;
            let before = files.len();
            files.retain(|f| f.number != number);
            if files.len() == before {
                return Err(bad(format!(
                    "edit deletes file {number} missing from level {level}"
                )));
            }
        }
        for (level, meta) in &edit.added {
            if next.all_files().any(|(_, f)| f.number == meta.number) {
                return Err(bad(format!("edit adds file {} twice", meta.number)));
            }
            next.levels
                .get_mut(*level)
                .ok_or_else(|| bad(format!("edit adds to level {level}, beyond the last")))?
                .push(meta.clone());
        }
        next.levels[0].sort_by_key(|f| std::cmp::Reverse(f.number));
        for (level, files) in next.levels.iter_mut().enumerate().skip(1) {
            files.sort_by(|a, b| key::compare(&a.smallest, &b.smallest));
            for pair in files.windows(2) {
                if pair[0].largest_user_key().cmp(pair[1].smallest_user_key()) != Ordering::Less {
                    return Err(bad(format!(
                        "files {} and {} overlap in level {level}",
                        pair[0].number, pair[1].number
                    )));
                }
            }
        }
        Ok(next)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::key::{ValueKind, encode};
    use std::path::Path;

    pub fn meta(number: u64, lo: &str, hi: &str, size_bytes: u64) -> FileMeta {
        FileMeta {
            number,
            size_bytes,
            entries: 1,
            smallest: encode(lo.as_bytes(), 2, ValueKind::Put),
            largest: encode(hi.as_bytes(), 1, ValueKind::Put),
        }
    }

    #[test]
    fn apply_orders_levels_and_rejects_overlap() {
        let v = Version::new(3);
        let edit = VersionEdit {
            added: vec![
                (0, meta(1, "a", "z", 10)),
                (0, meta(2, "b", "c", 10)),
                (1, meta(4, "m", "p", 10)),
                (1, meta(3, "a", "c", 10)),
            ],
            ..Default::default()
        };
        let v = v.apply(&edit, Path::new("m")).expect("valid edit");
        assert_eq!(
            v.levels[0].iter().map(|f| f.number).collect::<Vec<_>>(),
            [2, 1]
        );
        assert_eq!(
            v.levels[1].iter().map(|f| f.number).collect::<Vec<_>>(),
            [3, 4]
        );
        let overlap = VersionEdit {
            added: vec![(1, meta(5, "c", "d", 1))],
            ..Default::default()
        };
        assert!(v.apply(&overlap, Path::new("m")).is_err());
        let missing = VersionEdit {
            deleted: vec![(2, 9)],
            ..Default::default()
        };
        assert!(v.apply(&missing, Path::new("m")).is_err());
    }
}

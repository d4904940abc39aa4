//! Leveled compaction: choosing what to compact (a pure function of the version) and merging.
//!
//! Scores: L0 is scored by file count against `l0_compaction_trigger`; level n >= 1 by its
//! bytes against `max_bytes_for_level(n)` (each level `level_size_ratio` times the last). The
//! highest score >= 1 is compacted:
//! - L0 → L1 takes every L0 file (they overlap each other) and the L1 files they overlap.
//! - Ln → Ln+1 takes the one file of Ln whose overlap with Ln+1 is smallest relative to its
//!   own size (least rewrite per byte moved down), and the Ln+1 files it overlaps. A file
//!   that overlaps nothing below is moved by a manifest edit alone (a trivial move).
//!
//! The merge keeps the newest version of each user key (readers of older states keep the
//! input files alive through their `Arc`s, so nothing they can see is lost) and drops a
//! tombstone when no level below the output holds that key: nothing older can be shadowed.

use crate::error::Result;
use crate::iter::InternalIterator;
use crate::key::{self, ValueKind};
use crate::options::Options;
use crate::version::{FileMeta, Version};

/// One compaction to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactionTask {
    pub level: usize,
    pub output_level: usize,
    /// Files from `level`.
    pub inputs: Vec<FileMeta>,
    /// Files from `output_level` that overlap the inputs.
    pub next_inputs: Vec<FileMeta>,
}

impl CompactionTask {
    /// Whether the task is a move of one file with nothing to merge.
    pub fn is_trivial_move(&self) -> bool {
        self.level > 0 && self.inputs.len() == 1 && self.next_inputs.is_empty()
    }

    pub fn input_bytes(&self) -> u64 {
        self.inputs
            .iter()
            .chain(&self.next_inputs)
            .map(|f| f.size_bytes)
            .sum()
    }
}

/// The level most in need of compaction and its score, if any score is >= 1.
pub fn level_scores(version: &Version, opts: &Options) -> Vec<f64> {
    let last = version.levels.len() - 1;
    (0..last)
        .map(|level| {
            if level == 0 {
                version.levels[0].len() as f64 / opts.l0_compaction_trigger as f64
            } else {
                version.level_bytes(level) as f64 / opts.max_bytes_for_level(level) as f64
            }
        })
        .collect()
}

/// Chooses the next compaction, or `None` if the tree is in shape.
pub fn pick(version: &Version, opts: &Options) -> Option<CompactionTask> {
    let scores = level_scores(version, opts);
    let (level, score) = scores
        .iter()
        .copied()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    if score < 1.0 {
        return None;
    }
    let inputs: Vec<FileMeta> = if level == 0 {
        version.levels[0].clone()
    } else {
        let overlap_ratio = |f: &FileMeta| {
            let below: u64 = version
                .overlapping(
                    level + 1,
                    Some(f.smallest_user_key()),
                    Some(f.largest_user_key()),
                )
                .iter()
                .map(|g| g.size_bytes)
                .sum();
            below as f64 / f.size_bytes.max(1) as f64
        };
        let best = version.levels[level]
            .iter()
            .min_by(|a, b| overlap_ratio(a).total_cmp(&overlap_ratio(b)))?;
        vec![best.clone()]
    };
    let lo = inputs.iter().map(FileMeta::smallest_user_key).min()?;
    let hi = inputs.iter().map(FileMeta::largest_user_key).max()?;
    let next_inputs = version
        .overlapping(level + 1, Some(lo), Some(hi))
        .into_iter()
        .cloned()
        .collect();
    Some(CompactionTask {
        level,
        output_level: level + 1,
        inputs,
        next_inputs,
    })
}

/// Whether any level deeper than `output_level` may hold `user_key`.
pub fn deeper_levels_may_hold(version: &Version, output_level: usize, user_key: &[u8]) -> bool {
    version.levels[output_level + 1..].iter().any(|files| {
        // Levels >= 1 are sorted and disjoint: binary search the one candidate.
        let i = files.partition_point(|f| f.largest_user_key() < user_key);
        files
            .get(i)
            .is_some_and(|f| f.smallest_user_key() <= user_key)
    })
}

/// Streams the merged, deduplicated output of a compaction (or a flush) to `emit`.
///
/// `input` must be positioned at its first entry. `drop_tombstone(user_key)` says whether a
/// tombstone may be dropped.
pub fn merge_newest(
    input: &mut dyn InternalIterator,
    mut drop_tombstone: impl FnMut(&[u8]) -> bool,
    mut emit: impl FnMut(&[u8], &[u8]) -> Result<()>,
) -> Result<()> {
    let mut last_user_key: Option<Vec<u8>> = None;
    while input.valid() {
        let k = input.key();
        let parsed = key::parse(k).ok_or_else(|| {
            crate::Error::InvalidArgument("malformed internal key in merge".into())
        })?;
        let newest = last_user_key.as_deref() != Some(parsed.user_key);
        if newest {
            last_user_key = Some(parsed.user_key.to_vec());
            let droppable = parsed.kind == ValueKind::Delete && drop_tombstone(parsed.user_key);
            if !droppable {
                emit(k, input.value())?;
            }
        }
        input.next()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iter::VecIterator;
    use crate::key::encode;
    use crate::version::tests::meta;

    fn opts() -> Options {
        Options {
            l0_compaction_trigger: 2,
            level_base_bytes: 100,
            level_size_ratio: 10,
            num_levels: 4,
            ..Options::tiny()
        }
    }

    #[test]
    fn picks_l0_with_overlapping_l1_files() {
        let mut v = Version::new(4);
        v.levels[0] = vec![meta(9, "c", "f", 10), meta(8, "a", "d", 10)];
        v.levels[1] = vec![
            meta(1, "a", "b", 10),
            meta(2, "e", "g", 10),
            meta(3, "x", "z", 10),
        ];
        let t = pick(&v, &opts()).expect("L0 is over its trigger");
        assert_eq!((t.level, t.output_level), (0, 1));
        assert_eq!(t.inputs.len(), 2);
        assert_eq!(
            t.next_inputs.iter().map(|f| f.number).collect::<Vec<_>>(),
            [1, 2]
        );
    }

    #[test]
    fn picks_the_deeper_file_with_least_overlap_and_nothing_when_in_shape() {
        let mut v = Version::new(4);
        v.levels[1] = vec![meta(1, "a", "c", 80), meta(2, "m", "p", 80)];
        v.levels[2] = vec![meta(3, "a", "b", 500)];
        let t = pick(&v, &opts()).expect("L1 is over its target");
        assert_eq!(t.inputs[0].number, 2);
        assert!(t.is_trivial_move());
        v.levels[1].pop();
        assert_eq!(pick(&v, &opts()), None);
    }

    #[test]
    fn merge_keeps_newest_and_drops_bottom_tombstones() {
        let entries = vec![
            (encode(b"a", 5, ValueKind::Put), b"new".to_vec()),
            (encode(b"a", 2, ValueKind::Put), b"old".to_vec()),
            (encode(b"b", 4, ValueKind::Delete), vec![]),
            (encode(b"b", 1, ValueKind::Put), b"gone".to_vec()),
            (encode(b"c", 3, ValueKind::Delete), vec![]),
        ];
        let mut it = VecIterator::new(entries);
        it.seek_to_first().expect("seek");
        let mut out = Vec::new();
        merge_newest(
            &mut it,
            |k| k == b"b",
            |k, v| {
                out.push((key::user_key(k).to_vec(), v.to_vec()));
                Ok(())
            },
        )
        .expect("merge");
        assert_eq!(
            out,
            [(b"a".to_vec(), b"new".to_vec()), (b"c".to_vec(), vec![])]
        );
    }
}

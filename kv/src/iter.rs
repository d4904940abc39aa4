//! The internal iterator contract and the iterators that compose over it.
//!
//! Every source of entries (a memtable, an SSTable, a level of SSTables) implements
//! [`InternalIterator`] over encoded internal keys (see [`crate::key`]) in internal-key order.
//!
//! Contract:
//! - An iterator starts unpositioned ([`InternalIterator::valid`] is false). It is positioned
//!   by `seek_to_first`/`seek` (forward) or `seek_to_last`/`seek_for_prev` (reverse), and then
//!   moves with `next` (after a forward positioning) or `prev` (after a reverse one). Chronos
//!   scans never change direction midway, so iterators need not support that, and the merging
//!   iterator relies on it.
//! - `key` and `value` may be called only while `valid`; they borrow until the next move.
//! - Errors (corruption, IO) are returned by the positioning call that met them; after an
//!   error the iterator is not valid.
//!
//! [`MergingIterator`] merges children into one ordered stream; [`crate::db::DbIterator`] is
//! the separate visibility adaptor that turns that stream into user-visible keys at a snapshot.

use std::cmp::Ordering;

use crate::error::Result;
use crate::key;

/// An ordered cursor over encoded internal keys and their values.
pub trait InternalIterator: Send {
    fn valid(&self) -> bool;
    fn seek_to_first(&mut self) -> Result<()>;
    fn seek_to_last(&mut self) -> Result<()>;
    /// Positions at the first entry with key >= `target`.
    fn seek(&mut self, target: &[u8]) -> Result<()>;
    /// Positions at the last entry with key <= `target`.
    fn seek_for_prev(&mut self, target: &[u8]) -> Result<()>;
    fn next(&mut self) -> Result<()>;
    fn prev(&mut self) -> Result<()>;
    fn key(&self) -> &[u8];
    fn value(&self) -> &[u8];
}

/// Direction of a scan, fixed when it is positioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Reverse,
}

/// Merges children ordered by internal key into one ordered stream.
///
/// Internal keys are unique across sources (sequence numbers are), so there are no ties.
/// The number of children is small (memtables + L0 files + one per deeper level), so picking
/// the smallest (or largest) child is a linear scan.
pub struct MergingIterator {
    children: Vec<Box<dyn InternalIterator>>,
    current: Option<usize>,
    direction: Direction,
}

impl std::fmt::Debug for MergingIterator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MergingIterator")
            .field("children", &self.children.len())
            .field("current", &self.current)
            .finish()
    }
}

impl MergingIterator {
    pub fn new(children: Vec<Box<dyn InternalIterator>>) -> Self {
        MergingIterator {
            children,
            current: None,
            direction: Direction::Forward,
        }
    }

    fn pick(&mut self) {
        let want = match self.direction {
            Direction::Forward => Ordering::Less,
            Direction::Reverse => Ordering::Greater,
        };
        let mut best: Option<usize> = None;
        for (i, child) in self.children.iter().enumerate() {
            if !child.valid() {
                continue;
            }
            best = match best {
                Some(b) if key::compare(child.key(), self.children[b].key()) != want => Some(b),
                _ => Some(i),
            };
        }
        self.current = best;
    }

    fn position_all(
        &mut self,
        direction: Direction,
        mut f: impl FnMut(&mut dyn InternalIterator) -> Result<()>,
    ) -> Result<()> {
        self.direction = direction;
        self.current = None;
        for child in &mut self.children {
            f(child.as_mut())?;
        }
        self.pick();
        Ok(())
    }
}

impl InternalIterator for MergingIterator {
    fn valid(&self) -> bool {
        self.current.is_some()
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.position_all(Direction::Forward, |c| c.seek_to_first())
    }

    fn seek_to_last(&mut self) -> Result<()> {
        self.position_all(Direction::Reverse, |c| c.seek_to_last())
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.position_all(Direction::Forward, |c| c.seek(target))
    }

    fn seek_for_prev(&mut self, target: &[u8]) -> Result<()> {
        self.position_all(Direction::Reverse, |c| c.seek_for_prev(target))
    }

    fn next(&mut self) -> Result<()> {
        debug_assert_eq!(
            self.direction,
            Direction::Forward,
            "next after a reverse seek"
        );
        if let Some(i) = self.current {
            let moved = self.children[i].next();
            if moved.is_err() {
                self.current = None;
            }
            moved?;
            self.pick();
        }
        Ok(())
    }

    fn prev(&mut self) -> Result<()> {
        debug_assert_eq!(
            self.direction,
            Direction::Reverse,
            "prev after a forward seek"
        );
        if let Some(i) = self.current {
            let moved = self.children[i].prev();
            if moved.is_err() {
                self.current = None;
            }
            moved?;
            self.pick();
        }
        Ok(())
    }

    fn key(&self) -> &[u8] {
        let i = self
            .current
            .expect("invariant: key() is called only while valid");
        self.children[i].key()
    }

    fn value(&self) -> &[u8] {
        let i = self
            .current
            .expect("invariant: value() is called only while valid");
        self.children[i].value()
    }
}

/// An in-memory iterator over sorted entries, for tests.
#[cfg(test)]
#[derive(Debug, Default)]
pub struct VecIterator {
    entries: Vec<(Vec<u8>, Vec<u8>)>,
    pos: Option<usize>,
}

#[cfg(test)]
impl VecIterator {
    /// `entries` must be sorted by internal key.
    pub fn new(entries: Vec<(Vec<u8>, Vec<u8>)>) -> Self {
        debug_assert!(
            entries
                .windows(2)
                .all(|w| key::compare(&w[0].0, &w[1].0).is_lt())
        );
        VecIterator { entries, pos: None }
    }
}

#[cfg(test)]
impl InternalIterator for VecIterator {
    fn valid(&self) -> bool {
        self.pos.is_some()
    }
    fn seek_to_first(&mut self) -> Result<()> {
        self.pos = (!self.entries.is_empty()).then_some(0);
        Ok(())
    }
    fn seek_to_last(&mut self) -> Result<()> {
        self.pos = self.entries.len().checked_sub(1);
        Ok(())
    }
    fn seek(&mut self, target: &[u8]) -> Result<()> {
        let i = self
            .entries
            .partition_point(|(k, _)| key::compare(k, target).is_lt());
        self.pos = (i < self.entries.len()).then_some(i);
        Ok(())
    }
    fn seek_for_prev(&mut self, target: &[u8]) -> Result<()> {
        let i = self
            .entries
            .partition_point(|(k, _)| key::compare(k, target).is_le());
        self.pos = i.checked_sub(1);
        Ok(())
    }
    fn next(&mut self) -> Result<()> {
        self.pos = self.pos.map(|p| p + 1).filter(|&p| p < self.entries.len());
        Ok(())
    }
    fn prev(&mut self) -> Result<()> {
        self.pos = self.pos.and_then(|p| p.checked_sub(1));
        Ok(())
    }
    fn key(&self) -> &[u8] {
        &self.entries[self
            .pos
            .expect("invariant: key() is called only while valid")]
        .0
    }
    fn value(&self) -> &[u8] {
        &self.entries[self
            .pos
            .expect("invariant: value() is called only while valid")]
        .1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{ValueKind, encode};

    fn source(keys: &[(&str, u64)]) -> Box<dyn InternalIterator> {
        let entries = keys
            .iter()
            .map(|(k, s)| {
                (
                    encode(k.as_bytes(), *s, ValueKind::Put),
                    k.as_bytes().to_vec(),
                )
            })
            .collect();
        Box::new(VecIterator::new(entries))
    }

    fn collect(it: &mut MergingIterator, forward: bool) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        while it.valid() {
            let p = key::parse(it.key()).expect("valid key");
            out.push((String::from_utf8_lossy(p.user_key).into_owned(), p.seq));
            if forward { it.next() } else { it.prev() }.expect("move");
        }
        out
    }

    #[test]
    fn merges_both_directions_in_internal_key_order() {
        let mut it = MergingIterator::new(vec![
            source(&[("a", 3), ("c", 1)]),
            source(&[("a", 5), ("b", 2)]),
            source(&[]),
        ]);
        it.seek_to_first().expect("seek");
        let fwd = collect(&mut it, true);
        assert_eq!(
            fwd,
            [
                ("a".into(), 5),
                ("a".into(), 3),
                ("b".into(), 2),
                ("c".into(), 1)
            ]
        );
        it.seek_to_last().expect("seek");
        let mut rev = collect(&mut it, false);
        rev.reverse();
        assert_eq!(rev, fwd);
        it.seek_for_prev(&encode(b"b", 0, ValueKind::Put))
            .expect("seek");
        assert_eq!(collect(&mut it, false)[0], ("b".into(), 2));
    }
}

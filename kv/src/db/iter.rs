//! [`DbIterator`]: user-visible keys at a snapshot, within bounds, in one direction.
//!
//! It sits on a [`MergingIterator`] over every memtable and SSTable of a pinned view and
//! applies visibility: versions newer than the snapshot are skipped, the newest remaining
//! version of each user key decides, and tombstones hide the key.

use std::ops::Bound;

use super::ReadView;
use crate::error::Result;
use crate::iter::{Direction, InternalIterator, MergingIterator};
use crate::key::{self, MAX_SEQUENCE, ValueKind};

/// Whether `user_key` is within the bounds.
pub fn bounds_contain(lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>, user_key: &[u8]) -> bool {
    let above_lower = match lower {
        Bound::Included(l) => user_key >= l.as_slice(),
        Bound::Excluded(l) => user_key > l.as_slice(),
        Bound::Unbounded => true,
    };
    let below_upper = match upper {
        Bound::Included(u) => user_key <= u.as_slice(),
        Bound::Excluded(u) => user_key < u.as_slice(),
        Bound::Unbounded => true,
    };
    above_lower && below_upper
}

/// Iterates user keys and values; yields `Result` because reads can meet IO errors or
/// corruption, after which the iterator is finished.
pub struct DbIterator {
    _view: ReadView,
    merged: MergingIterator,
    seq: u64,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    direction: Direction,
    started: bool,
    finished: bool,
}

impl std::fmt::Debug for DbIterator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbIterator")
            .field("seq", &self.seq)
            .field("direction", &self.direction)
            .finish()
    }
}

impl DbIterator {
    pub(super) fn new(
        view: ReadView,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        direction: Direction,
    ) -> Result<Self> {
        let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
        for mem in &view.mems {
            children.push(Box::new(mem.iter()));
        }
        let version = &view.current.version;
        let (lo, hi) = (bound_key(lower), bound_key(upper));
        for (_, f) in version.all_files() {
            if f.overlaps(lo, hi) {
                children.push(Box::new(view.current.table(f.number)?.iter()));
            }
        }
        Ok(DbIterator {
            seq: view.seq,
            merged: MergingIterator::new(children),
            _view: view,
            lower: lower.map(<[u8]>::to_vec),
            upper: upper.map(<[u8]>::to_vec),
            direction,
            started: false,
            finished: false,
        })
    }

    fn start(&mut self) -> Result<()> {
        self.started = true;
        match (self.direction, &self.lower, &self.upper) {
            (Direction::Forward, Bound::Unbounded, _) => self.merged.seek_to_first(),
            (Direction::Forward, Bound::Included(l) | Bound::Excluded(l), _) => {
                let target = key::seek_key(l, MAX_SEQUENCE);
                self.merged.seek(&target)
            }
            (Direction::Reverse, _, Bound::Unbounded) => self.merged.seek_to_last(),
            (Direction::Reverse, _, Bound::Included(u) | Bound::Excluded(u)) => {
                // The oldest possible version of `u` sorts last among its versions.
                let target = key::encode(u, 0, ValueKind::Delete);
                self.merged.seek_for_prev(&target)
            }
        }
    }

    fn next_forward(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        while self.merged.valid() {
            let parsed = key::parse(self.merged.key()).ok_or_else(malformed)?;
            if !bounds_contain(&Bound::Unbounded, &self.upper, parsed.user_key) {
                return Ok(None);
            }
            if parsed.seq > self.seq {
                self.merged.next()?;
                continue;
            }
            let user_key = parsed.user_key.to_vec();
            let visible = (parsed.kind == ValueKind::Put).then(|| self.merged.value().to_vec());
            // Skip the older versions of this key.
            self.merged.next()?;
            while self.merged.valid() && key::user_key(self.merged.key()) == user_key.as_slice() {
                self.merged.next()?;
            }
            if let Some(value) = visible
                && bounds_contain(&self.lower, &Bound::Unbounded, &user_key)
            {
                return Ok(Some((user_key, value)));
            }
        }
        Ok(None)
    }

    fn next_reverse(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        while self.merged.valid() {
            let user_key = key::user_key(self.merged.key()).to_vec();
            if !bounds_contain(&self.lower, &Bound::Unbounded, &user_key) {
                return Ok(None);
            }
            // Versions of one key arrive oldest first; the last visible one wins.
            let mut newest: Option<Option<Vec<u8>>> = None;
            while self.merged.valid() && key::user_key(self.merged.key()) == user_key.as_slice() {
                let parsed = key::parse(self.merged.key()).ok_or_else(malformed)?;
                if parsed.seq <= self.seq {
                    newest =
                        Some((parsed.kind == ValueKind::Put).then(|| self.merged.value().to_vec()));
                }
                self.merged.prev()?;
            }
            if let Some(Some(value)) = newest
                && bounds_contain(&Bound::Unbounded, &self.upper, &user_key)
            {
                return Ok(Some((user_key, value)));
            }
        }
        Ok(None)
    }
}

fn malformed() -> crate::Error {
    crate::Error::InvalidArgument("invariant: iterators yield well-formed internal keys".into())
}

fn bound_key(b: Bound<&[u8]>) -> Option<&[u8]> {
    match b {
        Bound::Included(k) | Bound::Excluded(k) => Some(k),
        Bound::Unbounded => None,
    }
}

impl Iterator for DbIterator {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let step = (|| {
            if !self.started {
                self.start()?;
            }
            match self.direction {
                Direction::Forward => self.next_forward(),
                Direction::Reverse => self.next_reverse(),
            }
        })();
        match step {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.finished = true;
                None
            }
            Err(e) => {
                self.finished = true;
                Some(Err(e))
            }
        }
    }
}

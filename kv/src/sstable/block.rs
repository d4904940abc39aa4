//! Data blocks: prefix-compressed entries with restart points (layout in the module doc above).

use std::cmp::Ordering;
use std::path::Path;

use crate::coding::{get_varint, put_varint};
use crate::error::{Error, Result};
use crate::fs::FileBytes;
use crate::key;

/// Builds one data block.
#[derive(Debug)]
pub struct BlockBuilder {
    buf: Vec<u8>,
    restarts: Vec<u32>,
    since_restart: usize,
    restart_interval: usize,
    last_key: Vec<u8>,
}

impl BlockBuilder {
    pub fn new(restart_interval: usize) -> Self {
        BlockBuilder {
            buf: Vec::new(),
            restarts: vec![0],
            since_restart: 0,
            restart_interval: restart_interval.max(1),
            last_key: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Size of the block if finished now.
    pub fn estimated_size(&self) -> usize {
        self.buf.len() + 4 * self.restarts.len() + 4
    }

    /// Appends an entry; keys must arrive in increasing internal-key order.
    pub fn add(&mut self, k: &[u8], value: &[u8]) {
        debug_assert!(
            self.buf.is_empty() || key::compare(&self.last_key, k).is_lt(),
            "block keys out of order"
        );
        let shared = if self.since_restart < self.restart_interval {
            self.last_key
                .iter()
                .zip(k)
                .take_while(|(a, b)| a == b)
                .count()
        } else {
            self.restarts.push(self.buf.len() as u32);
            self.since_restart = 0;
            0
        };
        put_varint(&mut self.buf, shared as u64);
        put_varint(&mut self.buf, (k.len() - shared) as u64);
        put_varint(&mut self.buf, value.len() as u64);
        self.buf.extend_from_slice(&k[shared..]);
        self.buf.extend_from_slice(value);
        self.last_key.clear();
        self.last_key.extend_from_slice(k);
        self.since_restart += 1;
    }

    /// Finishes the block and returns its bytes; the builder is reset.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.buf);
        for r in &self.restarts {
            out.extend_from_slice(&r.to_le_bytes());
        }
        out.extend_from_slice(&(self.restarts.len() as u32).to_le_bytes());
        self.restarts = vec![0];
        self.since_restart = 0;
        self.last_key.clear();
        out
    }
}

/// A cursor over one block inside a mapped file.
///
/// Offsets are absolute within the file. The block's checksum was verified before the
/// iterator was made, so a decoding error here means a bug in the writer; it is still
/// reported as corruption rather than a panic.
pub struct BlockIter {
    data: FileBytes,
    path: std::sync::Arc<Path>,
    start: usize,
    restarts_at: usize,
    num_restarts: usize,
    /// Offset of the current entry; `restarts_at` when not valid.
    current: usize,
    next: usize,
    key: Vec<u8>,
    value: (usize, usize),
}

impl std::fmt::Debug for BlockIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockIter")
            .field("start", &self.start)
            .field("current", &self.current)
            .finish()
    }
}

impl BlockIter {
    /// A cursor over the block at `start..end` of `data` (checksum already verified).
    pub fn new(
        data: FileBytes,
        path: std::sync::Arc<Path>,
        start: usize,
        end: usize,
    ) -> Result<Self> {
        let bytes = (*data).as_ref();
        let corrupt = |reason: &str| Error::corruption(path.to_path_buf(), start as u64, reason);
        if end < start + 4 || end > bytes.len() {
            return Err(corrupt("block too small for its restart count"));
        }
        let num_restarts = u32::from_le_bytes([
            bytes[end - 4],
            bytes[end - 3],
            bytes[end - 2],
            bytes[end - 1],
        ]) as usize;
        let restarts_len = num_restarts
            .checked_mul(4)
            .and_then(|n| n.checked_add(4))
            .filter(|&n| num_restarts > 0 && n <= end - start)
            .ok_or_else(|| corrupt("restart count does not fit the block"))?;
        let restarts_at = end - restarts_len;
        Ok(BlockIter {
            data,
            path,
            start,
            restarts_at,
            num_restarts,
            current: restarts_at,
            next: restarts_at,
            key: Vec::new(),
            value: (0, 0),
        })
    }

    fn bytes(&self) -> &[u8] {
        (*self.data).as_ref()
    }

    fn corrupt(&self, reason: &str) -> Error {
        Error::corruption(self.path.to_path_buf(), self.current as u64, reason)
    }

    fn restart_offset(&self, i: usize) -> usize {
        let at = self.restarts_at + 4 * i;
        let b = self.bytes();
        self.start + u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
    }

    pub fn valid(&self) -> bool {
        self.current < self.restarts_at
    }

    pub fn key(&self) -> &[u8] {
        &self.key
    }

    pub fn value(&self) -> &[u8] {
        &self.bytes()[self.value.0..self.value.1]
    }

    fn invalidate(&mut self) {
        self.current = self.restarts_at;
        self.next = self.restarts_at;
    }

    /// Decodes the entry at `self.next` into the cursor.
    fn parse_next(&mut self) -> Result<()> {
        self.current = self.next;
        if self.current >= self.restarts_at {
            self.invalidate();
            return Ok(());
        }
        let bytes = (*self.data).as_ref();
        let mut at = self.current;
        let mut field = || -> Option<usize> {
            let (v, n) = get_varint(bytes.get(at..self.restarts_at)?)?;
            at += n;
            usize::try_from(v).ok()
        };
        let (Some(shared), Some(unshared), Some(value_len)) = (field(), field(), field()) else {
            let e = self.corrupt("malformed block entry header");
            self.invalidate();
            return Err(e);
        };
        let key_end = at.checked_add(unshared);
        let value_end = key_end.and_then(|k| k.checked_add(value_len));
        match value_end {
            Some(value_end) if shared <= self.key.len() && value_end <= self.restarts_at => {
                let key_end = at + unshared;
                self.key.truncate(shared);
                self.key.extend_from_slice(&bytes[at..key_end]);
                self.value = (key_end, value_end);
                self.next = value_end;
                Ok(())
            }
            _ => {
                let e = self.corrupt("block entry runs past its block");
                self.invalidate();
                Err(e)
            }
        }
    }

    fn seek_to_restart(&mut self, i: usize) -> Result<()> {
        self.key.clear();
        self.next = self.restart_offset(i);
        if self.next > self.restarts_at {
            let e = self.corrupt("restart offset out of range");
            self.invalidate();
            return Err(e);
        }
        self.parse_next()
    }

    pub fn seek_to_first(&mut self) -> Result<()> {
        self.seek_to_restart(0)
    }

    pub fn seek_to_last(&mut self) -> Result<()> {
        self.seek_to_restart(self.num_restarts - 1)?;
        while self.valid() && self.next < self.restarts_at {
            self.parse_next()?;
        }
        Ok(())
    }

    pub fn next(&mut self) -> Result<()> {
        self.parse_next()
    }

    /// Positions at the first entry >= `target`.
    pub fn seek(&mut self, target: &[u8]) -> Result<()> {
        // Find the last restart point whose key is < target.
        let (mut lo, mut hi) = (0, self.num_restarts - 1);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            self.seek_to_restart(mid)?;
            if !self.valid() {
                return Err(self.corrupt("restart point has no entry"));
            }
            if key::compare(&self.key, target) == Ordering::Less {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        self.seek_to_restart(lo)?;
        while self.valid() && key::compare(&self.key, target) == Ordering::Less {
            self.parse_next()?;
        }
        Ok(())
    }

    /// Positions at the last entry <= `target`.
    pub fn seek_for_prev(&mut self, target: &[u8]) -> Result<()> {
        self.seek(target)?;
        if !self.valid() {
            return self.seek_to_last();
        }
        if key::compare(&self.key, target) == Ordering::Greater {
            self.prev()?;
        }
        Ok(())
    }

    pub fn prev(&mut self) -> Result<()> {
        let original = self.current;
        if original <= self.start || !self.valid() {
            self.invalidate();
            return Ok(());
        }
        // The last restart point before the current entry, then forward to its predecessor.
        let mut r = self.num_restarts - 1;
        while r > 0 && self.restart_offset(r) >= original {
            r -= 1;
        }
        self.seek_to_restart(r)?;
        while self.valid() && self.next < original {
            self.parse_next()?;
        }
        if self.current >= original {
            self.invalidate();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{ValueKind, encode};
    use std::sync::Arc;

    fn block(n: u32, interval: usize) -> BlockIter {
        let mut b = BlockBuilder::new(interval);
        for i in 0..n {
            b.add(
                &encode(&(i * 2).to_be_bytes(), 1, ValueKind::Put),
                &i.to_le_bytes(),
            );
        }
        let bytes = b.finish();
        let len = bytes.len();
        BlockIter::new(Arc::new(bytes), Arc::from(Path::new("t")), 0, len).expect("block")
    }

    fn k(i: u32) -> Vec<u8> {
        encode(&i.to_be_bytes(), 1, ValueKind::Put)
    }

    #[test]
    fn seeks_and_walks_both_ways() {
        for interval in [1, 3, 16] {
            let mut it = block(50, interval);
            it.seek(&k(31)).expect("seek");
            assert_eq!(it.key(), k(32));
            assert_eq!(it.value(), 16u32.to_le_bytes());
            it.seek_for_prev(&k(31)).expect("seek");
            assert_eq!(it.key(), k(30));
            let mut seen = 0;
            it.seek_to_last().expect("last");
            while it.valid() {
                seen += 1;
                it.prev().expect("prev");
            }
            assert_eq!(seen, 50, "interval {interval}");
            it.seek(&k(1000)).expect("seek");
            assert!(!it.valid());
            it.seek_for_prev(&k(1000)).expect("seek");
            assert_eq!(it.key(), k(98));
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            if let Ok(mut it) =
                BlockIter::new(Arc::new(bytes.clone()), Arc::from(Path::new("t")), 0, len)
            {
                let _ = it.seek_to_first();
                let _ = it.seek(&k(3));
                let _ = it.seek_to_last();
                let _ = it.prev();
            }
        }
    }
}

//! The replicated state machine: what a Raft entry carries, how it is applied, and the snapshot
//! of the store (a full dump of the MVCC keyspace, restored by clearing and loading).
//!
//! Entry payload (`EntryPayload::Normal`) layout:
//!
//! ```text
//! 1 | origin node u64 LE | request id u64 LE | KvBatch::encode()     a transaction commit
//! 2 | node id u64 LE | address (UTF-8)                                an address-book entry
//! ```
//!
//! Snapshot layout: repeated `key len u32 LE | key | value len u32 LE | value` for every engine
//! key in the MVCC keyspace (`0x00` meta, `0x01` versions), in key order.

use std::ops::Bound;

use chronos_kv::mvcc::{CommitVerdict, KvBatch, MvccStore, Timestamp};
use chronos_kv::{Db, Direction, WriteBatch, WriteOptions};

use crate::error::{Error, Result};

const TAG_TXN: u8 = 1;
const TAG_ADDRESS: u8 = 2;

/// Engine keys below this byte are the MVCC keyspace (meta `0x00`, versions `0x01`).
const MVCC_KEYSPACE_END: &[u8] = &[0x02];
/// Raw engine key (outside the MVCC keyspace) recording the last Raft snapshot loaded into it.
const SNAPSHOT_MARKER_KEY: &[u8] = b"\x7fraft-snapshot-index";
/// The MVCC layer's meta entry holding the last commit timestamp (`0x00 | name`, see the layout
/// in chronos-kv's `mvcc/encoding.rs`).
const LAST_COMMIT_META_KEY: &[u8] = b"\x00last_commit_ts";
/// Keys per write batch when loading a snapshot.
const LOAD_BATCH_KEYS: usize = 4096;

/// What one Raft entry asks the state machine to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Commit a transaction's batch; `origin` and `request` name the waiting client.
    Txn {
        origin: u64,
        request: u64,
        batch: KvBatch,
    },
    /// Record the address of a node (membership changes carry addresses this way).
    SetAddress { node: u64, address: String },
}

fn u64_at(b: &[u8], at: usize) -> Result<u64> {
    let s = b
        .get(at..at + 8)
        .ok_or_else(|| Error::Malformed("entry truncated".into()))?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Ok(u64::from_le_bytes(a))
}

impl Command {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Command::Txn {
                origin,
                request,
                batch,
            } => {
                let mut out = vec![TAG_TXN];
                out.extend_from_slice(&origin.to_le_bytes());
                out.extend_from_slice(&request.to_le_bytes());
                out.extend_from_slice(&batch.encode());
                out
            }
            Command::SetAddress { node, address } => {
                let mut out = vec![TAG_ADDRESS];
                out.extend_from_slice(&node.to_le_bytes());
                out.extend_from_slice(address.as_bytes());
                out
            }
        }
    }

    pub fn decode(b: &[u8]) -> Result<Command> {
        match b.first() {
            Some(&TAG_TXN) => Ok(Command::Txn {
                origin: u64_at(b, 1)?,
                request: u64_at(b, 9)?,
                batch: KvBatch::decode(&b[17..])?,
            }),
            Some(&TAG_ADDRESS) => Ok(Command::SetAddress {
                node: u64_at(b, 1)?,
                address: String::from_utf8(b[9..].to_vec())
                    .map_err(|_| Error::Malformed("address is not UTF-8".into()))?,
            }),
            Some(t) => Err(Error::Malformed(format!("unknown entry tag {t}"))),
            None => Err(Error::Malformed("empty entry".into())),
        }
    }
}

/// Applies one transaction batch. Deterministic: every replica reaches the same verdict. A batch
/// whose commit timestamp is not above the last applied one (proposed by a deposed leader, or a
/// replay after restart of an entry already in the store) is refused like a conflict, and makes
/// no change.
pub fn apply_txn(store: &MvccStore, batch: &KvBatch) -> Result<CommitVerdict> {
    if batch.commit_ts <= store.last_commit_ts() {
        return Ok(CommitVerdict::Conflict {
            key: b"<commit timestamp order>".to_vec(),
        });
    }
    match store.apply(batch) {
        Ok(v) => Ok(v),
        // Malformed batches (read_ts >= commit_ts) are deterministic refusals too.
        Err(chronos_kv::Error::InvalidArgument(m)) => Ok(CommitVerdict::Conflict {
            key: m.into_bytes(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// Dumps the MVCC keyspace from a consistent snapshot of the engine.
pub fn dump(db: &Db) -> Result<Vec<u8>> {
    let snap = db.snapshot();
    let mut out = Vec::new();
    for kv in snap.scan(
        Bound::Unbounded,
        Bound::Excluded(MVCC_KEYSPACE_END),
        Direction::Forward,
    )? {
        let (k, v) = kv?;
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(&k);
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        out.extend_from_slice(&v);
    }
    Ok(out)
}

fn parse_dump(data: &[u8]) -> Result<Vec<(&[u8], &[u8])>> {
    let mut out = Vec::new();
    let mut pos = 0;
    let take = |pos: &mut usize| -> Result<&[u8]> {
        let len_bytes = data
            .get(*pos..*pos + 4)
            .ok_or_else(|| Error::Malformed("snapshot truncated".into()))?;
        let len =
            u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]) as usize;
        let s = data
            .get(*pos + 4..*pos + 4 + len)
            .ok_or_else(|| Error::Malformed("snapshot truncated".into()))?;
        *pos += 4 + len;
        Ok(s)
    };
    while pos < data.len() {
        let k = take(&mut pos)?;
        let v = take(&mut pos)?;
        if k >= MVCC_KEYSPACE_END {
            return Err(Error::Malformed(
                "snapshot key outside the MVCC keyspace".into(),
            ));
        }
        out.push((k, v));
    }
    Ok(out)
}

/// Replaces the MVCC keyspace with a snapshot's content, syncs it, and records `index` as loaded.
/// The store's last commit timestamp is brought up to the snapshot's.
pub fn restore(store: &MvccStore, data: &[u8], index: u64) -> Result<()> {
    let pairs = parse_dump(data)?;
    let db = store.engine();
    // Delete every key not in the snapshot, then write the snapshot's keys.
    let snap = db.snapshot();
    let mut wb = WriteBatch::new();
    let mut wanted = pairs.iter().map(|(k, _)| *k).peekable();
    for kv in snap.scan(
        Bound::Unbounded,
        Bound::Excluded(MVCC_KEYSPACE_END),
        Direction::Forward,
    )? {
        let (k, _) = kv?;
        while wanted.peek().is_some_and(|w| *w < k.as_slice()) {
            wanted.next();
        }
        if wanted.peek() != Some(&k.as_slice()) {
            wb.delete(&k)?;
            if wb.len() >= LOAD_BATCH_KEYS {
                db.write(std::mem::take(&mut wb), WriteOptions::BUFFERED)?;
            }
        }
    }
    for (k, v) in &pairs {
        wb.put(k, v)?;
        if wb.len() >= LOAD_BATCH_KEYS {
            db.write(std::mem::take(&mut wb), WriteOptions::BUFFERED)?;
        }
    }
    wb.put(SNAPSHOT_MARKER_KEY, &index.to_le_bytes())?;
    db.write(wb, WriteOptions::SYNC)?;
    // The engine now holds the snapshot's last-commit meta entry; an empty batch at that
    // timestamp brings the store's in-memory tracker and clock up to it.
    let snap_last = db
        .get(LAST_COMMIT_META_KEY)
        .ok()
        .flatten()
        .and_then(|v| Timestamp::from_bytes(&v));
    if let Some(ts) = snap_last
        && ts > store.last_commit_ts()
    {
        store.apply(&KvBatch {
            read_ts: Timestamp::ZERO,
            commit_ts: ts,
            writes: Vec::new(),
        })?;
    }
    Ok(())
}

/// The Raft snapshot index last loaded into the store (0 if none).
pub fn loaded_snapshot_index(db: &Db) -> Result<u64> {
    Ok(match db.get(SNAPSHOT_MARKER_KEY)? {
        Some(v) if v.len() == 8 => u64_at(&v, 0)?,
        Some(_) => return Err(Error::Malformed("snapshot marker".into())),
        None => 0,
    })
}

/// Records that the store holds the state as of Raft index `index` (a local snapshot).
pub fn mark_loaded(db: &Db, index: u64) -> Result<()> {
    db.put(
        SNAPSHOT_MARKER_KEY,
        &index.to_le_bytes(),
        WriteOptions::SYNC,
    )?;
    Ok(())
}

/// Meta-entry prefix of replicated node addresses (inside the MVCC keyspace, so snapshots carry
/// them).
const ADDRESS_PREFIX: &[u8] = b"\x00node-address/";

/// Stores a node's address (applied from a [`Command::SetAddress`] entry).
pub fn record_address(db: &Db, node: u64, address: &str) -> Result<()> {
    let mut k = ADDRESS_PREFIX.to_vec();
    k.extend_from_slice(&node.to_be_bytes());
    db.put(&k, address.as_bytes(), WriteOptions::BUFFERED)?;
    Ok(())
}

/// Every node address recorded in the store.
pub fn load_addresses(db: &Db) -> Result<Vec<(u64, String)>> {
    let mut out = Vec::new();
    for kv in db.scan_prefix(ADDRESS_PREFIX, Direction::Forward)? {
        let (k, v) = kv?;
        let id = k
            .get(ADDRESS_PREFIX.len()..)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| Error::Malformed("address key".into()))?;
        let addr =
            String::from_utf8(v).map_err(|_| Error::Malformed("address is not UTF-8".into()))?;
        out.push((id, addr));
    }
    Ok(out)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip_and_reject_garbage() {
        let c = Command::SetAddress {
            node: 4,
            address: "127.0.0.1:7004".into(),
        };
        assert_eq!(Command::decode(&c.encode()).unwrap(), c);
        assert!(Command::decode(&[]).is_err());
        assert!(Command::decode(&[9, 1, 2]).is_err());
        assert!(Command::decode(&[1, 0, 0]).is_err());
        assert!(parse_dump(&[1, 0, 0, 0]).is_err());
    }
}

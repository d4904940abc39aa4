//! The replicated state machine: what a Raft entry carries, how it is applied, and the snapshot
//! of the store (a dump of the MVCC keyspace streamed in chunks from a consistent engine
//! snapshot, loaded by merging it into the store; the transfer is in `snapshot.rs`).
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

/// What applying one transaction entry did, the same on every replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Committed at this timestamp.
    Committed(Timestamp),
    /// A write-write conflict with a transaction committed after this one's snapshot.
    Conflict { key: Vec<u8> },
    /// Refused without a conflict, and without any change: its commit timestamp is not above the
    /// last applied one (proposed by a deposed leader, or a replay of an entry already in the
    /// store), or the batch is malformed. Not a conflict: no key is involved.
    Refused { reason: String },
}

/// Applies one transaction batch. Deterministic: every replica reaches the same verdict.
pub fn apply_txn(store: &MvccStore, batch: &KvBatch) -> Result<Applied> {
    let last = store.last_commit_ts();
    if batch.commit_ts <= last {
        return Ok(Applied::Refused {
            reason: format!(
                "commit timestamp {:?} is not above the last applied {:?} (proposed by a \
                 leader that was deposed)",
                batch.commit_ts, last
            ),
        });
    }
    match store.apply(batch) {
        Ok(CommitVerdict::Committed(ts)) => Ok(Applied::Committed(ts)),
        Ok(CommitVerdict::Conflict { key }) => Ok(Applied::Conflict { key }),
        // Malformed batches (read_ts >= commit_ts) are deterministic refusals too.
        Err(chronos_kv::Error::InvalidArgument(m)) => Ok(Applied::Refused { reason: m }),
        Err(e) => Err(e.into()),
    }
}

/// The data of every Raft snapshot this node takes: a descriptor saying "fetch the state out of
/// band" (see [`crate::snapshot`]). Raft snapshots stay this small however large the store is.
pub const OUT_OF_BAND_SNAPSHOT: &[u8] = b"chronos-snapshot/out-of-band/v1";

/// Streams the MVCC keyspace from a consistent snapshot of the engine in the dump format, cut
/// into chunks of about `chunk_bytes` (a record may straddle two chunks). `emit` receives each
/// chunk and returns false to stop early. Returns (chunks, bytes).
pub fn dump_chunks(
    db: &Db,
    chunk_bytes: usize,
    mut emit: impl FnMut(Vec<u8>) -> bool,
) -> Result<(u64, u64)> {
    let snap = db.snapshot();
    let mut chunk = Vec::with_capacity(chunk_bytes);
    let (mut chunks, mut bytes) = (0u64, 0u64);
    let mut flush = |chunk: &mut Vec<u8>, chunks: &mut u64, bytes: &mut u64| -> bool {
        *chunks += 1;
        *bytes += chunk.len() as u64;
        emit(std::mem::replace(chunk, Vec::with_capacity(chunk_bytes)))
    };
    for kv in snap.scan(
        Bound::Unbounded,
        Bound::Excluded(MVCC_KEYSPACE_END),
        Direction::Forward,
    )? {
        let (k, v) = kv?;
        for part in [&k, &v] {
            let mut rest: &[u8] = &(part.len() as u32).to_le_bytes();
            let mut body: &[u8] = part;
            // The length prefix, then the body, each split at chunk boundaries.
            for piece in [&mut rest, &mut body] {
                while !piece.is_empty() {
                    let room = chunk_bytes.saturating_sub(chunk.len()).max(1);
                    let n = room.min(piece.len());
                    let p: &[u8] = piece;
                    chunk.extend_from_slice(&p[..n]);
                    *piece = &p[n..];
                    if chunk.len() >= chunk_bytes && !flush(&mut chunk, &mut chunks, &mut bytes) {
                        return Ok((chunks, bytes));
                    }
                }
            }
        }
    }
    if !chunk.is_empty() {
        flush(&mut chunk, &mut chunks, &mut bytes);
    }
    Ok((chunks, bytes))
}

/// Dumps the MVCC keyspace whole (tests and small stores only).
pub fn dump(db: &Db) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    dump_chunks(db, 1 << 20, |c| {
        out.extend_from_slice(&c);
        true
    })?;
    Ok(out)
}

/// Reads dump records one at a time from a byte stream, checking the key order and keyspace.
struct DumpReader<R> {
    r: R,
    prev: Option<Vec<u8>>,
}

impl<R: std::io::Read> DumpReader<R> {
    fn field(&mut self, first: bool) -> Result<Option<Vec<u8>>> {
        let mut len = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            let n = self.r.read(&mut len[got..]).map_err(|e| Error::Io {
                what: "reading a snapshot".into(),
                source: e,
            })?;
            if n == 0 {
                if got == 0 && first {
                    return Ok(None);
                }
                return Err(Error::Malformed("snapshot truncated".into()));
            }
            got += n;
        }
        // The length is read from a peer or a file: it bounds the read, never sizes an
        // allocation up front (the buffer grows with the bytes actually there).
        let len = u64::from(u32::from_le_bytes(len));
        let mut buf = Vec::new();
        let mut field = std::io::Read::take(&mut self.r, len);
        std::io::Read::read_to_end(&mut field, &mut buf).map_err(|e| Error::Io {
            what: "reading a snapshot".into(),
            source: e,
        })?;
        if buf.len() as u64 != len {
            return Err(Error::Malformed("snapshot truncated".into()));
        }
        Ok(Some(buf))
    }

    fn next_pair(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let Some(k) = self.field(true)? else {
            return Ok(None);
        };
        let v = self
            .field(false)?
            .ok_or_else(|| Error::Malformed("snapshot truncated".into()))?;
        if k.as_slice() >= MVCC_KEYSPACE_END {
            return Err(Error::Malformed(
                "snapshot key outside the MVCC keyspace".into(),
            ));
        }
        if self.prev.as_ref().is_some_and(|p| *p >= k) {
            return Err(Error::Malformed("snapshot keys out of order".into()));
        }
        self.prev = Some(k.clone());
        Ok(Some((k, v)))
    }
}

#[cfg(test)]
fn parse_dump(data: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut r = DumpReader {
        r: data,
        prev: None,
    };
    let mut out = Vec::new();
    while let Some(p) = r.next_pair()? {
        out.push(p);
    }
    Ok(out)
}

/// Replaces the MVCC keyspace with a snapshot's content, syncs it, and records `index` as loaded.
/// The store's last commit timestamp is brought up to the snapshot's. `data` is the whole dump
/// (snapshots taken before snapshots moved out of band).
pub fn restore(store: &MvccStore, data: &[u8], index: u64) -> Result<()> {
    restore_from(store, data, index)
}

/// Same as [`restore`], streaming the dump from a file in bounded memory.
pub fn restore_file(store: &MvccStore, path: &std::path::Path, index: u64) -> Result<()> {
    let f = std::fs::File::open(path).map_err(|e| Error::Io {
        what: format!("opening snapshot {}", path.display()),
        source: e,
    })?;
    restore_from(store, std::io::BufReader::with_capacity(1 << 16, f), index)
}

/// Bytes of keys and values per write batch when loading a snapshot.
const LOAD_BATCH_BYTES: usize = 4 << 20;

/// The load: a merge of the store's current MVCC keys with the dump's (both in key order):
/// current keys absent from the dump are deleted, the dump's keys are written, in write batches
/// of at most [`LOAD_BATCH_KEYS`] keys / [`LOAD_BATCH_BYTES`] bytes. The marker is written last
/// with a synced write, so a crash before it leaves `loaded_snapshot_index` below `index` and
/// the load is redone at startup.
fn restore_from(store: &MvccStore, r: impl std::io::Read, index: u64) -> Result<()> {
    let mut dump = DumpReader { r, prev: None };
    let db = store.engine();
    let snap = db.snapshot();
    let mut current = snap
        .scan(
            Bound::Unbounded,
            Bound::Excluded(MVCC_KEYSPACE_END),
            Direction::Forward,
        )?
        .peekable();
    let mut wb = WriteBatch::new();
    let mut wb_bytes = 0usize;
    let flush = |wb: &mut WriteBatch, wb_bytes: &mut usize| -> Result<()> {
        if wb.len() >= LOAD_BATCH_KEYS || *wb_bytes >= LOAD_BATCH_BYTES {
            db.write(std::mem::take(wb), WriteOptions::BUFFERED)?;
            *wb_bytes = 0;
        }
        Ok(())
    };
    loop {
        let next = dump.next_pair()?;
        // Delete every current key below the dump's next key (all of them at the end).
        loop {
            let below = match (current.peek(), &next) {
                (None, _) => false,
                (Some(Err(_)), _) => true,
                (Some(Ok((k, _))), Some((nk, _))) => k < nk,
                (Some(Ok(_)), None) => true,
            };
            if !below {
                break;
            }
            let (k, _) = current
                .next()
                .ok_or_else(|| Error::Malformed("scan ended".into()))??;
            wb.delete(&k)?;
            wb_bytes += k.len();
            flush(&mut wb, &mut wb_bytes)?;
        }
        let Some((k, v)) = next else { break };
        if current
            .peek()
            .is_some_and(|c| c.as_ref().is_ok_and(|(ck, _)| *ck == k))
        {
            current.next();
        }
        wb.put(&k, &v)?;
        wb_bytes += k.len() + v.len();
        flush(&mut wb, &mut wb_bytes)?;
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

    #[test]
    fn chunked_dump_round_trips_and_restore_replaces_the_keyspace() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("a"), chronos_kv::Options::default()).unwrap();
        for i in 0..200u32 {
            let v = vec![b'x'; (i as usize * 7) % 300];
            db.put(
                &[&[0x01u8][..], &i.to_be_bytes()].concat(),
                &v,
                WriteOptions::BUFFERED,
            )
            .unwrap();
        }
        let whole = dump(&db).unwrap();
        let mut chunks = Vec::new();
        let (n, bytes) = dump_chunks(&db, 997, |c| {
            assert!(c.len() <= 997);
            chunks.push(c);
            true
        })
        .unwrap();
        assert_eq!(n as usize, chunks.len());
        assert!(n > 1);
        assert_eq!(bytes as usize, whole.len());
        assert_eq!(chunks.concat(), whole);
        assert_eq!(parse_dump(&whole).unwrap().len(), 200);
        // Restore into a store holding other keys: they go, the dump's come.
        let db2 = Db::open(dir.path().join("b"), chronos_kv::Options::default()).unwrap();
        db2.put(b"\x01zzz", b"stale", WriteOptions::BUFFERED)
            .unwrap();
        db2.put(b"\x01", b"stale", WriteOptions::BUFFERED).unwrap();
        let store = MvccStore::open(
            db2,
            chronos_kv::mvcc::HybridClock::new(std::sync::Arc::new(ZeroClock)),
            chronos_kv::mvcc::MvccOptions::default(),
        )
        .unwrap();
        let path = dir.path().join("dump");
        std::fs::write(&path, &whole).unwrap();
        restore_file(&store, &path, 9).unwrap();
        assert_eq!(dump(store.engine()).unwrap(), whole);
        assert_eq!(loaded_snapshot_index(store.engine()).unwrap(), 9);
        std::fs::write(&path, &whole[..whole.len() - 3]).unwrap();
        assert!(restore_file(&store, &path, 10).is_err());
    }

    #[derive(Debug)]
    struct ZeroClock;
    impl chronos_kv::mvcc::WallClock for ZeroClock {
        fn now_millis(&self) -> u64 {
            0
        }
    }

    /// Before: an out-of-order batch came back as a conflict on the fake key
    /// "<commit timestamp order>". It is a refusal without a key, and no change.
    #[test]
    fn an_out_of_order_batch_is_refused_not_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("a"), chronos_kv::Options::default()).unwrap();
        let store = MvccStore::open(
            db,
            chronos_kv::mvcc::HybridClock::new(std::sync::Arc::new(ZeroClock)),
            chronos_kv::mvcc::MvccOptions::default(),
        )
        .unwrap();
        let batch = |read, commit, v: &[u8]| KvBatch {
            read_ts: Timestamp::new(read, 0),
            commit_ts: Timestamp::new(commit, 0),
            writes: vec![(b"k".to_vec(), Some(v.to_vec()))],
        };
        assert_eq!(
            apply_txn(&store, &batch(1, 5, b"a")).unwrap(),
            Applied::Committed(Timestamp::new(5, 0))
        );
        assert!(matches!(
            apply_txn(&store, &batch(5, 4, b"b")).unwrap(),
            Applied::Refused { .. }
        ));
        assert!(matches!(
            apply_txn(&store, &batch(1, 6, b"c")).unwrap(),
            Applied::Conflict { .. }
        ));
    }
}

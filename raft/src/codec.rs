//! Hand-written little-endian encoding of the durable types (entries, hard state, snapshot
//! metadata). Used by the file storage; the framing (length, CRC) is the storage's business.

use crate::types::{
    ConfChange, Entry, EntryPayload, HardState, Membership, Snapshot, SnapshotMeta,
};

/// Append-only encoder.
#[derive(Debug, Default)]
pub(crate) struct Enc(pub Vec<u8>);

impl Enc {
    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.0.extend_from_slice(b);
    }
}

/// Cursor decoder; every read fails cleanly on truncated input.
#[derive(Debug)]
pub(crate) struct Dec<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Dec<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Dec { buf, pos: 0 }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.buf.len() - self.pos < n {
            return Err(format!("truncated: need {n} bytes at {}", self.pos));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    pub fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u64(&mut self) -> Result<u64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    pub fn bytes(&mut self) -> Result<Vec<u8>, String> {
        let n = self.u64()?;
        let n = usize::try_from(n).map_err(|_| format!("length {n} too large"))?;
        Ok(self.take(n)?.to_vec())
    }
    pub fn finish(&self) -> Result<(), String> {
        if self.pos != self.buf.len() {
            return Err(format!("{} trailing bytes", self.buf.len() - self.pos));
        }
        Ok(())
    }
}

pub(crate) fn put_entry(e: &mut Enc, entry: &Entry) {
    e.u64(entry.term);
    e.u64(entry.index);
    match &entry.payload {
        EntryPayload::Empty => e.u8(0),
        EntryPayload::Normal(d) => {
            e.u8(1);
            e.bytes(d);
        }
        EntryPayload::ConfChange(cc) => {
            e.u8(2);
            let (k, id) = match cc {
                ConfChange::AddVoter(id) => (0, id),
                ConfChange::AddLearner(id) => (1, id),
                ConfChange::RemoveNode(id) => (2, id),
            };
            e.u8(k);
            e.u64(*id);
        }
        EntryPayload::Bootstrap(m) => {
            e.u8(3);
            put_ids(e, &m.voters);
            put_ids(e, &m.learners);
        }
    }
}

pub(crate) fn get_entry(d: &mut Dec<'_>) -> Result<Entry, String> {
    let term = d.u64()?;
    let index = d.u64()?;
    let payload = match d.u8()? {
        0 => EntryPayload::Empty,
        1 => EntryPayload::Normal(d.bytes()?),
        2 => {
            let k = d.u8()?;
            let id = d.u64()?;
            EntryPayload::ConfChange(match k {
                0 => ConfChange::AddVoter(id),
                1 => ConfChange::AddLearner(id),
                2 => ConfChange::RemoveNode(id),
                k => return Err(format!("unknown conf change kind {k}")),
            })
        }
        3 => {
            let voters = get_ids(d)?;
            let learners = get_ids(d)?;
            EntryPayload::Bootstrap(Membership { voters, learners })
        }
        k => return Err(format!("unknown payload kind {k}")),
    };
    Ok(Entry {
        term,
        index,
        payload,
    })
}

pub(crate) fn put_hard_state(e: &mut Enc, hs: &HardState) {
    e.u64(hs.term);
    e.u64(hs.vote.unwrap_or(0));
    e.u64(hs.commit);
}

pub(crate) fn get_hard_state(d: &mut Dec<'_>) -> Result<HardState, String> {
    let term = d.u64()?;
    let vote = d.u64()?;
    let commit = d.u64()?;
    Ok(HardState {
        term,
        vote: (vote != 0).then_some(vote),
        commit,
    })
}

fn put_ids(e: &mut Enc, ids: &std::collections::BTreeSet<u64>) {
    e.u32(ids.len() as u32);
    for id in ids {
        e.u64(*id);
    }
}

fn get_ids(d: &mut Dec<'_>) -> Result<std::collections::BTreeSet<u64>, String> {
    let n = d.u32()?;
    (0..n).map(|_| d.u64()).collect()
}

pub(crate) fn put_snapshot(e: &mut Enc, s: &Snapshot) {
    e.u64(s.meta.index);
    e.u64(s.meta.term);
    put_ids(e, &s.meta.membership.voters);
    put_ids(e, &s.meta.membership.learners);
    e.bytes(&s.data);
}

pub(crate) fn get_snapshot(d: &mut Dec<'_>) -> Result<Snapshot, String> {
    let index = d.u64()?;
    let term = d.u64()?;
    let voters = get_ids(d)?;
    let learners = get_ids(d)?;
    let data = d.bytes()?;
    Ok(Snapshot {
        meta: SnapshotMeta {
            index,
            term,
            membership: Membership { voters, learners },
        },
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decoders never panic on arbitrary bytes (a cheap stand-in for fuzzing).
    #[test]
    fn decoders_survive_garbage() {
        let mut rng = crate::config::Rng::new(5);
        for _ in 0..20_000 {
            let len = rng.range(0, 64) as usize;
            let buf: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            let _ = get_entry(&mut Dec::new(&buf));
            let _ = get_hard_state(&mut Dec::new(&buf));
            let _ = get_snapshot(&mut Dec::new(&buf));
        }
    }

    #[test]
    fn roundtrip() {
        let entries = [
            Entry {
                term: 3,
                index: 9,
                payload: EntryPayload::Empty,
            },
            Entry {
                term: 3,
                index: 10,
                payload: EntryPayload::Normal(b"abc".to_vec()),
            },
            Entry {
                term: 4,
                index: 11,
                payload: EntryPayload::ConfChange(ConfChange::AddLearner(7)),
            },
            Entry {
                term: 1,
                index: 1,
                payload: EntryPayload::Bootstrap(Membership::with_voters([1, 2, 3])),
            },
        ];
        for entry in &entries {
            let mut e = Enc::default();
            put_entry(&mut e, entry);
            let mut d = Dec::new(&e.0);
            assert_eq!(&get_entry(&mut d).expect("decodes"), entry);
            assert!(d.finish().is_ok());
            // Every strict prefix fails cleanly.
            for n in 0..e.0.len() {
                assert!(get_entry(&mut Dec::new(&e.0[..n])).is_err());
            }
        }
        let snap = Snapshot {
            meta: SnapshotMeta {
                index: 5,
                term: 2,
                membership: Membership::with_voters([1, 2, 3]),
            },
            data: vec![1, 2, 3],
        };
        let mut e = Enc::default();
        put_snapshot(&mut e, &snap);
        assert_eq!(get_snapshot(&mut Dec::new(&e.0)).expect("decodes"), snap);
    }
}

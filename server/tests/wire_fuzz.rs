//! Fuzzing of every protobuf message a node accepts from a peer or a client.
//!
//! The pipeline is the one a request takes inside a node: bytes off the wire → prost decode →
//! the fallible conversions of `chronos_server::convert` → (for Raft traffic) `RawNode::step` on
//! a live Raft node, followed by the `Ready`/`advance` cycle the driver runs; entry payloads that
//! reach the log are decoded by `state_machine::Command::decode` as the apply loop does.
//! Inputs are random bytes, valid messages with absurd field values (indexes and terms near
//! `u64::MAX`, node 0, huge offsets and counts), and valid messages truncated or with flipped
//! bytes.
//!
//! Properties: no panic; no single allocation larger than [`MAX_ALLOCATION_BYTES`] (a length or
//! count field must not make us allocate for what the input does not carry); and the node keeps
//! serving: after every fuzzed input the Raft node still elects itself and commits a proposal
//! (checked on a sample of cases, the check costs far more than a case).
//!
//! Cases: `CHRONOS_FUZZ_CASES` per property (default 256 so CI stays fast; run millions by hand
//! with `CHRONOS_FUZZ_CASES=1000000 cargo test -p chronos-server --test wire_fuzz --release`).
#![expect(clippy::unwrap_used, reason = "tests")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use chronos_proto::admin as apb;
use chronos_proto::client as cpb;
use chronos_proto::raft as pb;
use chronos_raft::storage::{MemStorage, persist_ready};
use chronos_raft::{Config, InitialState, Message, MessageBody, RawNode, Role};
use chronos_server::convert::message_from_pb;
use chronos_server::state_machine::Command;
use proptest::prelude::*;
use prost::Message as _;

/// Largest single allocation a fuzzed input may cause. Inputs are at most a few KiB; the
/// largest legitimate buffer on this path is the Raft core's own bookkeeping.
const MAX_ALLOCATION_BYTES: usize = 8 << 20;

/// Records the largest allocation request seen (per process: the properties run one after the
/// other in one test, see `fuzz_wire_messages`).
struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; we only record sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn cases() -> u32 {
    std::env::var("CHRONOS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// Node 1 of a three-node cluster, in memory.
struct Node {
    raw: RawNode,
    storage: MemStorage,
}

impl Node {
    fn new(seed: u64) -> Node {
        let mut cfg = Config::new(1);
        cfg.seed = seed;
        cfg.bootstrap_voters = vec![1, 2, 3];
        cfg.election_timeout_ticks = 4;
        cfg.heartbeat_interval_ticks = 1;
        cfg.snapshot_chunk_bytes = 1024;
        let raw = RawNode::new(cfg, InitialState::default()).unwrap();
        let mut n = Node {
            raw,
            storage: MemStorage::new(),
        };
        n.drain();
        n
    }

    /// The driver's cycle: persist, "send" (answering votes with grants so the node can win
    /// elections), apply (decoding entries like the apply loop), advance.
    fn drain(&mut self) -> Vec<Message> {
        let mut sent = Vec::new();
        // Bounded: a Ready cycle that never ends is itself a bug worth seeing.
        for _ in 0..1000 {
            if !self.raw.has_ready() {
                return sent;
            }
            let ready = self.raw.ready();
            persist_ready(&mut self.storage, &ready).unwrap();
            for e in &ready.committed_entries {
                if let chronos_raft::EntryPayload::Normal(d) = &e.payload {
                    let _ = Command::decode(d);
                }
            }
            sent.extend(ready.messages.iter().cloned());
            self.raw.advance();
        }
        panic!("Ready cycle did not settle");
    }

    /// Steps one message; returns what the node sent in answer.
    fn step(&mut self, m: Message) -> Vec<Message> {
        // Refusals are fine; only panics and hangs fail the property.
        let _ = self.raw.step(m);
        self.drain()
    }

    /// What a healthy peer answers to `m` (votes granted, appends accepted, heartbeats
    /// acknowledged), if anything.
    fn answer(m: &Message) -> Option<Message> {
        let body = match &m.body {
            MessageBody::PreVote { .. } => MessageBody::PreVoteResponse { reject: false },
            MessageBody::Vote { .. } => MessageBody::VoteResponse { reject: false },
            MessageBody::Append {
                prev_index,
                entries,
                ..
            } => MessageBody::AppendResponse {
                index: entries.last().map_or(*prev_index, |e| e.index),
                reject: None,
            },
            MessageBody::Heartbeat { read_seq, .. } => MessageBody::HeartbeatResponse {
                read_seq: *read_seq,
            },
            _ => return None,
        };
        Some(Message {
            from: m.to,
            to: 1,
            term: m.term,
            body,
        })
    }

    /// Delivers `sent` to healthy peers and their answers back, for a bounded number of rounds.
    fn pump(&mut self, mut sent: Vec<Message>) {
        for _ in 0..16 {
            let answers: Vec<Message> = sent.iter().filter_map(Self::answer).collect();
            if answers.is_empty() {
                return;
            }
            sent = answers.into_iter().flat_map(|a| self.step(a)).collect();
        }
    }

    /// Ticks with healthy peers until this node leads (bounded).
    fn become_leader(&mut self) {
        for _ in 0..200 {
            if self.raw.raft().role() == Role::Leader {
                return;
            }
            self.raw.tick();
            let sent = self.drain();
            self.pump(sent);
        }
    }

    /// The node still works: it leads (after an election if need be) and commits a proposal
    /// acknowledged by healthy peers.
    fn assert_serving(&mut self) {
        if !self.raw.raft().membership().is_voter(1) {
            // A (fuzzed but well-formed) snapshot or conf change from a leader removed this
            // node: it cannot lead, and that is correct. It must still process traffic.
            for _ in 0..20 {
                self.raw.tick();
                let sent = self.drain();
                self.pump(sent);
            }
            return;
        }
        self.become_leader();
        if self.raw.raft().role() != Role::Leader {
            panic!(
                "node does not lead again: role {:?}, term {}, membership {:?}, log {}..{} commit {}",
                self.raw.raft().role(),
                self.raw.raft().term(),
                self.raw.raft().membership(),
                self.raw.raft().log().snapshot_index(),
                self.raw.raft().log().last_index(),
                self.raw.raft().log().commit(),
            );
        }
        let _ = self.raw.propose(b"probe".to_vec());
        let target = self.raw.raft().log().last_index();
        for _ in 0..100 {
            let sent = self.drain();
            self.pump(sent);
            if self.raw.raft().log().commit() >= target {
                return;
            }
            self.raw.tick();
        }
        panic!(
            "leader does not commit: commit {}, last {target}",
            self.raw.raft().log().commit()
        );
    }
}

/// The inbound path of `Raft.Send`: decode the batch, convert each message, drop those not
/// addressed to this node (the service refuses them), step the rest.
fn feed_raft_bytes(node: &mut Node, bytes: &[u8]) {
    let Ok(batch) = pb::MessageBatch::decode(bytes) else {
        return;
    };
    for m in batch.messages {
        if let Ok(m) = message_from_pb(m)
            && m.to == 1
        {
            let _ = node.step(m);
        }
    }
}

/// Every other inbound message type: decoding (and, for the one-field requests, reading the
/// fields) must not panic or over-allocate.
fn feed_other_bytes(bytes: &[u8]) {
    let _ = pb::FetchSnapshotRequest::decode(bytes);
    let _ = cpb::ExecuteRequest::decode(bytes);
    let _ = cpb::OpenSessionRequest::decode(bytes);
    let _ = cpb::CloseSessionRequest::decode(bytes);
    let _ = apb::StatusRequest::decode(bytes);
    let _ = apb::AddNodeRequest::decode(bytes);
    let _ = apb::RemoveNodeRequest::decode(bytes);
    let _ = apb::TransferLeaderRequest::decode(bytes);
    let _ = apb::PartitionRequest::decode(bytes);
    let _ = Command::decode(bytes);
}

fn absurd_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1u64),
        Just(u64::MAX),
        Just(u64::MAX - 1),
        Just(i64::MAX as u64),
        Just(u64::from(u32::MAX)),
        0u64..16,
        any::<u64>(),
    ]
}

fn node_id() -> impl Strategy<Value = u64> {
    prop_oneof![4 => Just(2u64), 4 => Just(3u64), 1 => Just(1u64), 1 => absurd_u64()]
}

fn membership() -> impl Strategy<Value = pb::Membership> {
    (
        prop::collection::vec(node_id(), 0..4),
        prop::collection::vec(node_id(), 0..3),
    )
        .prop_map(|(voters, learners)| pb::Membership { voters, learners })
}

fn payload() -> impl Strategy<Value = pb::EntryPayload> {
    use pb::entry_payload::Kind;
    prop_oneof![
        Just(Kind::Empty(pb::Nothing {})),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(Kind::Normal),
        (0i32..4, node_id())
            .prop_map(|(kind, node)| Kind::ConfChange(pb::ConfChange { kind, node })),
        membership().prop_map(Kind::Bootstrap),
    ]
    .prop_map(|k| pb::EntryPayload { kind: Some(k) })
}

fn entries(prev_index: u64) -> impl Strategy<Value = Vec<pb::Entry>> {
    (
        prop::collection::vec((absurd_u64(), payload()), 0..5),
        any::<bool>(),
    )
        .prop_map(move |(es, contiguous)| {
            es.into_iter()
                .enumerate()
                .map(|(i, (term, payload))| pb::Entry {
                    term: term % 8,
                    index: if contiguous {
                        prev_index.wrapping_add(1 + i as u64)
                    } else {
                        term
                    },
                    payload: Some(payload),
                })
                .collect()
        })
}

fn body() -> impl Strategy<Value = pb::message::Body> {
    use pb::message::Body;
    prop_oneof![
        (absurd_u64(), absurd_u64()).prop_map(|(last_index, last_term)| Body::PreVote(
            pb::PreVote {
                last_index,
                last_term
            }
        )),
        any::<bool>().prop_map(|reject| Body::PreVoteResponse(pb::VoteResponse { reject })),
        (absurd_u64(), absurd_u64(), any::<bool>()).prop_map(
            |(last_index, last_term, transfer)| Body::Vote(pb::Vote {
                last_index,
                last_term,
                transfer
            })
        ),
        any::<bool>().prop_map(|reject| Body::VoteResponse(pb::VoteResponse { reject })),
        (absurd_u64(), absurd_u64(), absurd_u64()).prop_flat_map(
            |(prev_index, prev_term, commit)| {
                entries(prev_index).prop_map(move |entries| {
                    Body::Append(pb::Append {
                        prev_index,
                        prev_term,
                        entries,
                        commit,
                    })
                })
            }
        ),
        (
            absurd_u64(),
            prop::option::of((prop::option::of(absurd_u64()), absurd_u64()))
        )
            .prop_map(|(index, reject)| Body::AppendResponse(pb::AppendResponse {
                index,
                reject: reject.map(|(conflict_term, conflict_index)| pb::RejectHint {
                    conflict_term,
                    conflict_index
                }),
            })),
        (absurd_u64(), absurd_u64())
            .prop_map(|(commit, read_seq)| Body::Heartbeat(pb::Heartbeat { commit, read_seq })),
        absurd_u64()
            .prop_map(|read_seq| Body::HeartbeatResponse(pb::HeartbeatResponse { read_seq })),
        (
            absurd_u64(),
            absurd_u64(),
            membership(),
            absurd_u64(),
            prop::collection::vec(any::<u8>(), 0..64),
            any::<bool>()
        )
            .prop_map(|(index, term, membership, offset, data, last)| {
                Body::SnapshotChunk(pb::SnapshotChunk {
                    meta: Some(pb::SnapshotMeta {
                        index,
                        term,
                        membership: Some(membership),
                    }),
                    offset,
                    data,
                    last,
                })
            }),
        (absurd_u64(), absurd_u64(), any::<bool>()).prop_map(|(index, received, reject)| {
            Body::SnapshotResponse(pb::SnapshotResponse {
                index,
                received,
                reject,
            })
        }),
        Just(Body::TimeoutNow(pb::Nothing {})),
        prop::collection::vec(payload(), 0..4)
            .prop_map(|payloads| Body::Propose(pb::Propose { payloads })),
        absurd_u64().prop_map(|ctx| Body::ReadIndex(pb::ReadIndex { ctx })),
        (absurd_u64(), absurd_u64())
            .prop_map(|(ctx, index)| Body::ReadIndexResponse(pb::ReadIndexResponse { ctx, index })),
    ]
}

fn message() -> impl Strategy<Value = pb::Message> {
    (
        node_id(),
        prop_oneof![8 => Just(1u64), 1 => absurd_u64()],
        prop_oneof![Just(0u64), Just(1u64), Just(2u64), 0u64..6, absurd_u64()],
        prop::option::of(body()),
    )
        .prop_map(|(from, to, term, body)| pb::Message {
            from,
            to,
            term,
            body,
        })
}

/// How a valid encoding is damaged before it is fed.
#[derive(Debug, Clone)]
enum Damage {
    None,
    Truncate(usize),
    Flip(usize, u8),
    /// A varint length field overwritten with a huge value.
    HugeLength(usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        4 => Just(Damage::None),
        2 => any::<usize>().prop_map(Damage::Truncate),
        2 => (any::<usize>(), 1u8..=255).prop_map(|(i, x)| Damage::Flip(i, x)),
        1 => any::<usize>().prop_map(Damage::HugeLength),
    ]
}

fn apply_damage(mut bytes: Vec<u8>, d: &Damage) -> Vec<u8> {
    if bytes.is_empty() {
        return bytes;
    }
    match *d {
        Damage::None => {}
        Damage::Truncate(i) => bytes.truncate(i % bytes.len()),
        Damage::Flip(i, x) => {
            let n = bytes.len();
            bytes[i % n] ^= x;
        }
        Damage::HugeLength(i) => {
            // Five varint bytes saying "about 34 GB follow".
            let at = i % bytes.len();
            bytes.splice(at..at, [0xff, 0xff, 0xff, 0xff, 0x7f]);
        }
    }
    bytes
}

/// Runs `f` and checks the allocation bound around it.
fn bounded<T>(f: impl FnOnce() -> T) -> T {
    LARGEST.store(0, Ordering::Relaxed);
    let out = f();
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(
        largest <= MAX_ALLOCATION_BYTES,
        "an allocation of {largest} bytes"
    );
    out
}

/// One test so the properties do not run in parallel (the allocation bound is per process).
#[test]
fn fuzz_wire_messages() {
    let config = ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let n = std::sync::atomic::AtomicU64::new(0);

    // Random bytes at every entry point; a fresh follower and a leader receive them.
    proptest!(config.clone(), |(bytes in prop::collection::vec(any::<u8>(), 0..512), seed in any::<u64>())| {
        let case = n.fetch_add(1, Ordering::Relaxed) + 1;
        let mut node = Node::new(seed);
        if seed % 2 == 0 {
            node.become_leader();
        }
        bounded(|| {
            feed_raft_bytes(&mut node, &bytes);
            feed_other_bytes(&bytes);
        });
        if case.is_multiple_of(16) {
            node.assert_serving();
        }
    });

    // Valid-but-absurd messages, in batches, some damaged on the way.
    proptest!(config, |(
        msgs in prop::collection::vec(message(), 1..6),
        from_address in prop_oneof![Just(String::new()), ".{0,40}"],
        damage in damage(),
        seed in any::<u64>(),
        lead in any::<bool>(),
    )| {
        let case = n.fetch_add(1, Ordering::Relaxed) + 1;
        let mut node = Node::new(seed);
        if lead {
            node.become_leader();
        }
        let bytes = pb::MessageBatch { messages: msgs, from_address }.encode_to_vec();
        let bytes = apply_damage(bytes, &damage);
        bounded(|| {
            feed_raft_bytes(&mut node, &bytes);
            feed_other_bytes(&bytes);
        });
        if case.is_multiple_of(4) {
            node.assert_serving();
        }
    });
    eprintln!("wire fuzz: {} cases", n.load(Ordering::Relaxed));
}

#[test]
fn a_huge_length_prefix_is_an_error_without_allocating() {
    // A MessageBatch whose first message claims ~34 GB.
    let bytes = [0x0a, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x08, 0x01];
    bounded(|| assert!(pb::MessageBatch::decode(&bytes[..]).is_err()));
}

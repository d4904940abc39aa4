//! Raft consensus for Chronos: a deterministic, sans-IO Raft core.
//!
//! This crate imports no other Chronos crate. The core owns no threads, sockets, clock,
//! filesystem or global randomness: the caller feeds it inputs and carries out the effects it
//! returns. The same code runs in the server and in the deterministic simulator (`src/sim`).
//!
//! # The protocol
//!
//! Raft (Ongaro & Ousterhout, and Ongaro's dissertation) keeps a replicated log. Time is divided
//! into *terms*; each term has at most one *leader*, which appends client commands to its log and
//! replicates them; an entry is *committed* once stored on a majority of voters, and committed
//! entries are applied to every replica's state machine in log order.
//!
//! - **Elections.** A follower that hears nothing from a leader for a randomized election timeout
//!   (drawn from `[timeout, 2 * timeout)` by a seeded [`Rng`] in the [`Config`]) first runs a
//!   *pre-vote* round: it asks voters whether they would vote for it in the next term, without
//!   changing its term. Only with a majority of yeses does it become a candidate, increment its
//!   term, vote for itself and request votes. A voter grants at most one vote per term, and only
//!   to a candidate whose log is at least as up to date as its own (last term, then last index).
//!   With *check-quorum*, a follower that heard from a leader within the election timeout ignores
//!   vote requests (a lease), and a leader that has not heard from a majority within an election
//!   timeout steps down. Together these keep a partitioned node that rejoins from deposing a
//!   healthy leader (`tests/testdata/prevote_rejoin.txt`, `check_quorum_step_down.txt`).
//! - **Replication** (`leader.rs`, `progress.rs`). A new leader appends an empty entry of its term.
//!   Per follower it tracks `match` and `next` ([`progress::Progress`]): in *probe* state it sends
//!   one append at a time; once the follower's position is known it switches to *replicate* and
//!   pipelines batches (bounded by `max_msg_entries`/`max_msg_bytes`) within a window of
//!   `max_inflight_msgs` messages and `max_inflight_bytes`. A follower rejecting an append returns
//!   a hint (its term at the rejected index and that term's first index) so the leader skips a
//!   whole term per round trip. Appends lost in the window are detected when two heartbeat rounds
//!   pass without progress; the leader then probes again.
//! - **Commit** (`quorum.rs`). The commit index is the highest index stored on a majority of
//!   voters, and it only advances to an entry *of the leader's current term*: earlier-term entries
//!   commit indirectly (Raft §5.4.2, `tests/testdata/figure8.txt`).
//! - **Snapshots.** The application compacts the log at an applied index by handing the core a
//!   snapshot ([`RawNode::compact`]). A follower whose next entry was compacted away gets the
//!   snapshot in `snapshot_chunk_bytes` chunks (each acknowledged), installs it, then receives
//!   the rest of the log.
//! - **Reads.** [`RawNode::read_index`] serves linearizable reads without writing the log: the
//!   leader (once it has committed an entry of its term) records its commit index, confirms it is
//!   still leader by a heartbeat round acknowledged by a majority, then releases a
//!   [`ReadState`]; the application reads once it has applied that index. Followers forward reads.
//!   Optionally (`Config::lease_reads`, with check-quorum) the leader skips the heartbeat round
//!   while a quorum acknowledged one recently enough that no other leader can have been elected,
//!   under a stated bound on clock drift (`lease.rs`, `tests/testdata/lease_read.txt`).
//! - **Leadership transfer.** The leader stops accepting proposals, brings the target up to date
//!   and sends it `TimeoutNow`; the target campaigns at once, and voters ignore their lease for it.
//! - **Membership** (`raft.rs`). One server at a time: add a learner (replicates, never counts),
//!   promote it to voter, remove a node. As in the dissertation (§4.1), every node uses the latest
//!   configuration *in its log*, committed or not, and falls back to the previous one if that
//!   entry is truncated. (Adopting changes only on commit, as an earlier version of this crate
//!   did, is unsafe once two changes are committed while a lagging node has both in its log but
//!   knows neither is committed: it would win an election and commit with a majority of the
//!   configuration two steps back.) A leader proposes a change only after committing an entry of
//!   its own term and while no other change is uncommitted. A leader that removes itself keeps
//!   leading, without counting itself, until the removal commits, then tells the followers the
//!   commit index and steps down. Voters ignore vote requests from nodes that are not voters in
//!   their configuration (a removed node cannot push terms up), and a follower always answers a
//!   stale leader's append with its own term (so an inflated term cannot strand a node).
//!   A brand-new cluster writes its initial membership as one committed entry at index 1, term 1
//!   ([`EntryPayload::Bootstrap`], identical on every initial member), so nodes added later learn
//!   it from the log and a torn write cannot leave half of it.
//!
//! # Data flow: the `Ready` cycle
//!
//! ```text
//!  inputs                      RawNode                         effects (one Ready)
//!  ------                      -------                         -------------------
//!  tick()           ─┐                                    ┌─► hard_state, entries, snapshot ─► storage + fsync
//!  step(Message)    ─┼─► Raft (role: Follower | Pre-  ────┤   (persist_ready)
//!  propose(data)    ─┤   Candidate | Candidate | Leader)  ├─► messages ─► network (only after fsync)
//!  read_index(ctx)  ─┤   RaftLog (in memory) + Progress   ├─► committed_entries ─► state machine
//!  transfer_leader  ─┤                                    └─► read_states ─► serve when applied >= index
//!  propose_conf_change┘                                   advance() ◄── the driver acknowledges
//! ```
//!
//! The driver loop: feed inputs; while [`RawNode::has_ready`]: take [`RawNode::ready`], persist
//! its hard state, entries and snapshot and sync them ([`storage::persist_ready`]), send its
//! messages, apply its committed entries, then [`RawNode::advance`]. No input may be given
//! between `ready` and `advance`. Because messages leave only after the sync, a vote, a term or an
//! acknowledged entry is always durable before anyone can depend on it. The leader counts its own
//! log towards a majority only for entries it has synced.
//!
//! Apply errors are the application's: deterministic failures of a command (a constraint
//! violation) are results returned to the client, and the entry still counts as applied;
//! non-deterministic failures (disk full, I/O error) must stop the node, or replicas diverge.
//!
//! # Storage
//!
//! The core keeps the log after the last snapshot in memory ([`log::RaftLog`]) and reads storage
//! only at startup ([`InitialState`]). [`storage::LogStorage`] has an in-memory implementation
//! that keeps a durable image apart from unsynced writes (crash testing) and a file
//! implementation, [`storage::FileStorage`]: records in segment files framed by the record format
//! shared with the kv crate (`chronos_io::record`), fsync on `sync`, a provably torn tail
//! truncated on restart, and any other damage reported as [`Error::Corruption`] with file and
//! offset (layout in `storage/file.rs`). The file storage runs on the shared filesystem seam
//! (`chronos_io::fs`): the real one, or `MemFs`, whose crashes drop unsynced names and keep a
//! random prefix of each file's unsynced bytes (a torn write), which the simulator uses. The
//! directory is held by an OS advisory lock while open. `chronos_io` is this crate's only
//! Chronos dependency, a leaf below both `raft` and `kv`.
//!
//! # Invariants
//!
//! - Terms never decrease; a node votes at most once per term, durably, before its vote leaves.
//!   On restart the term is raised to the last log entry's term if a torn write lost the newer
//!   hard state record (safe: a vote in a lost record was never sent).
//! - At most one leader per term; a leader never overwrites or deletes its own entries.
//! - Log matching: two logs holding an entry with the same index and term are identical up to it.
//! - Leader completeness: an entry committed in a term is in the log of every later leader.
//! - `snapshot_index <= applied <= commit <= last_index`, and a follower never truncates at or
//!   below its commit index (asserted in `log.rs`). Commit and applied never go backwards.
//! - Per follower, `match < next`; in-flight windows are bounded (asserted in `progress.rs`).
//!
//! The simulator (`src/sim`, test-only) checks the safety properties after every step under
//! drops, delays, duplicates, reordering, partitions, crashes that lose unsynced writes (torn
//! writes on the file storage), restarts, compaction, transfers and membership changes, plus a
//! linearizable register workload and liveness after healing. `CHRONOS_SIM_SEEDS=N` sets the number of seeds, `CHRONOS_SIM_SEED=S`
//! replays one. Golden scenario scripts live in `tests/testdata/` (`UPDATE_GOLDEN=1` rewrites
//! them).
//!
//! # Not implemented (or weaker than it could be)
//!
//! - **Joint consensus**: only single-server changes. Removing a node does not shut it down; a
//!   removed node that never learns of its removal keeps campaigning (voters ignore it, but it is
//!   noise). The simulator changes membership in 5-node runs (never below 3 voters), adds a sixth
//!   node that starts with empty storage, and re-adds removed nodes with their old storage (it
//!   never wipes a removed node's storage before re-adding it).
//! - **Leader leases** rest on the clock-drift bound in `lease.rs`; the simulator exercises lease
//!   reads (with evenly spread clock drift) but is a weak check of the bound itself: a lease 20x
//!   too long went undetected in 3000 seeds, because check-quorum deposes a cut-off leader at
//!   about the time the others can elect a new one. Pending ReadIndex reads are dropped (never
//!   answered) when leadership is lost; the client must time out and retry. There is no error
//!   message for a dropped forwarded proposal.
//! - **Memory**: the whole log after the last snapshot, and the latest snapshot itself, are held
//!   in memory; snapshot chunks are cut from that in-memory copy, and a receiving follower buffers
//!   the whole snapshot before installing it. Chunks are sent stop-and-wait (one in flight).
//! - **Asynchronous storage writes**: the leader does not append to its log in parallel with
//!   replication; a `Ready` must be persisted before its messages go out (simple, slower).
//! - **Storage**: the simulator's `MemFs` models torn writes and lost directory operations but
//!   not reordered writes across files or bit rot, and the simulator injects no I/O errors
//!   (`chronos_io::fs::FaultFs` could). Segments are never
//!   preallocated; a snapshot file is rewritten whole; old segments are deleted only as a prefix,
//!   so a stale segment can delay reclaiming space until a later compaction.
//! - **Liveness** is checked in two phases: a fresh write commits within 400 ticks of healing,
//!   and every member applies it within 2000 more. With one entry per message and a one-message
//!   window, a far-behind follower catches up one entry per round trip.
//! - Proposals carry no client/session ids: duplicates (a retried or duplicated forward) are
//!   appended twice and must be deduplicated by the application.
//! - The core trusts its peers' messages: a malformed append (non-contiguous entries, terms
//!   going down) trips an invariant assertion rather than being rejected.
//! - Roles are an enum with per-role state and asserting transitions (`RoleState`), not
//!   typestate values consumed by each transition.
//! - No flow-control feedback from the transport (unreachable reports) and no batching of
//!   heartbeats or messages across Raft groups (one group per `RawNode`).

mod candidate;
mod codec;
pub mod config;
pub mod error;
mod follower;
mod leader;
mod lease;
pub mod log;
pub mod message;
pub mod progress;
pub mod quorum;
mod raft;
mod rawnode;
pub mod read_only;
#[cfg(test)]
mod sim;
pub mod storage;
pub mod types;

pub use config::{Config, Rng};
pub use error::{Error, Result};
pub use message::{Message, MessageBody, RejectHint};
pub use raft::Raft;
pub use rawnode::{InitialState, RawNode, Ready};
pub use types::*;

/// Render an entry compactly for logs and golden files: `index/term:payload`.
pub fn format_entry(e: &Entry) -> String {
    let p = match &e.payload {
        EntryPayload::Empty => "-".to_string(),
        EntryPayload::Normal(d) => String::from_utf8_lossy(d).into_owned(),
        EntryPayload::ConfChange(ConfChange::AddVoter(id)) => format!("+v{id}"),
        EntryPayload::ConfChange(ConfChange::AddLearner(id)) => format!("+l{id}"),
        EntryPayload::ConfChange(ConfChange::RemoveNode(id)) => format!("-n{id}"),
        EntryPayload::Bootstrap(m) => format!("boot({m})"),
    };
    format!("{}/{}:{}", e.index, e.term, p)
}

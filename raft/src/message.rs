//! Messages exchanged between nodes. The core never sends them itself: they come out of
//! [`crate::Ready::messages`] and go in through [`crate::RawNode::step`].

use crate::types::{Entry, EntryPayload, Index, NodeId, SnapshotMeta, Term};

/// A message between two nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Sender.
    pub from: NodeId,
    /// Recipient.
    pub to: NodeId,
    /// Sender's term (for a pre-vote request or grant: the term the candidate would campaign in).
    /// Ignored for the term-less bodies (see [`MessageBody::is_termless`]).
    pub term: Term,
    /// The payload.
    pub body: MessageBody,
}

/// Why a follower rejected an append, so the leader can skip a whole term at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RejectHint {
    /// Term of the follower's entry at the rejected `prev_index`, if it has one.
    pub conflict_term: Option<Term>,
    /// First index of `conflict_term` in the follower's log, or its last index + 1 if its log is
    /// shorter than `prev_index`.
    pub conflict_index: Index,
}

/// Message payloads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageBody {
    /// Would you vote for me in `term` (not yet entered)?
    PreVote { last_index: Index, last_term: Term },
    /// Answer to a pre-vote.
    PreVoteResponse { reject: bool },
    /// Vote for me in `term`. `transfer` is set when the leader asked for this election
    /// (leadership transfer): voters then ignore their leader lease.
    Vote {
        last_index: Index,
        last_term: Term,
        transfer: bool,
    },
    /// Answer to a vote.
    VoteResponse { reject: bool },
    /// Append `entries` after (`prev_index`, `prev_term`); the leader's commit index is `commit`.
    Append {
        prev_index: Index,
        prev_term: Term,
        entries: Vec<Entry>,
        commit: Index,
    },
    /// Answer to an append. On success `index` is the last index known to match the leader; on
    /// rejection it is the rejected `prev_index` and `reject` carries the hint.
    AppendResponse {
        index: Index,
        reject: Option<RejectHint>,
    },
    /// Leader liveness and commit propagation; `read_seq` confirms pending ReadIndex requests.
    Heartbeat { commit: Index, read_seq: u64 },
    /// Answer to a heartbeat, echoing its `read_seq`.
    HeartbeatResponse { read_seq: u64 },
    /// A chunk of a snapshot: `data` goes at byte `offset`; `last` marks the final chunk.
    SnapshotChunk {
        meta: SnapshotMeta,
        offset: u64,
        data: Vec<u8>,
        last: bool,
    },
    /// Answer to a chunk: the follower holds `received` contiguous bytes of the snapshot at
    /// `index`. `reject` asks the leader to restart from `received`.
    SnapshotResponse {
        index: Index,
        received: u64,
        reject: bool,
    },
    /// Leadership transfer: start an election now, skipping pre-vote.
    TimeoutNow,
    /// Proposals forwarded by a follower to its leader (term-less).
    Propose { payloads: Vec<EntryPayload> },
    /// A ReadIndex request forwarded by a follower to its leader (term-less).
    ReadIndex { ctx: u64 },
    /// The leader's answer to a forwarded ReadIndex (term-less).
    ReadIndexResponse { ctx: u64, index: Index },
}

impl MessageBody {
    /// Bodies that are not part of the term protocol: forwarded client requests and their answers.
    pub fn is_termless(&self) -> bool {
        matches!(
            self,
            MessageBody::Propose { .. }
                | MessageBody::ReadIndex { .. }
                | MessageBody::ReadIndexResponse { .. }
        )
    }

    /// Short name used in logs and golden files.
    pub fn name(&self) -> &'static str {
        match self {
            MessageBody::PreVote { .. } => "PreVote",
            MessageBody::PreVoteResponse { .. } => "PreVoteResp",
            MessageBody::Vote { .. } => "Vote",
            MessageBody::VoteResponse { .. } => "VoteResp",
            MessageBody::Append { .. } => "App",
            MessageBody::AppendResponse { .. } => "AppResp",
            MessageBody::Heartbeat { .. } => "Heartbeat",
            MessageBody::HeartbeatResponse { .. } => "HeartbeatResp",
            MessageBody::SnapshotChunk { .. } => "Snap",
            MessageBody::SnapshotResponse { .. } => "SnapResp",
            MessageBody::TimeoutNow => "TimeoutNow",
            MessageBody::Propose { .. } => "Propose",
            MessageBody::ReadIndex { .. } => "ReadIndex",
            MessageBody::ReadIndexResponse { .. } => "ReadIndexResp",
        }
    }

    /// Approximate size, for flow control and tests.
    pub fn size_bytes(&self) -> usize {
        match self {
            MessageBody::Append { entries, .. } => {
                32 + entries.iter().map(Entry::size_bytes).sum::<usize>()
            }
            MessageBody::SnapshotChunk { data, .. } => 48 + data.len(),
            MessageBody::Propose { payloads } => {
                8 + payloads.iter().map(EntryPayload::size_bytes).sum::<usize>()
            }
            _ => 32,
        }
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}->{} {}", self.from, self.to, self.body.name())?;
        if !self.body.is_termless() {
            write!(f, " term={}", self.term)?;
        }
        match &self.body {
            MessageBody::PreVote {
                last_index,
                last_term,
            } => write!(f, " last={last_index}/{last_term}"),
            MessageBody::Vote {
                last_index,
                last_term,
                transfer,
            } => {
                write!(f, " last={last_index}/{last_term}")?;
                if *transfer {
                    write!(f, " transfer")?;
                }
                Ok(())
            }
            MessageBody::PreVoteResponse { reject } | MessageBody::VoteResponse { reject } => {
                write!(f, " {}", if *reject { "reject" } else { "grant" })
            }
            MessageBody::Append {
                prev_index,
                prev_term,
                entries,
                commit,
            } => {
                write!(
                    f,
                    " prev={prev_index}/{prev_term} commit={commit} entries=["
                )?;
                for (i, e) in entries.iter().enumerate() {
                    if i > 0 {
                        write!(f, " ")?;
                    }
                    write!(f, "{}", crate::format_entry(e))?;
                }
                write!(f, "]")
            }
            MessageBody::AppendResponse { index, reject } => match reject {
                None => write!(f, " index={index}"),
                Some(h) => match h.conflict_term {
                    Some(t) => write!(f, " reject={index} hint={}/{t}", h.conflict_index),
                    None => write!(f, " reject={index} hint={}/-", h.conflict_index),
                },
            },
            MessageBody::Heartbeat { commit, read_seq } => {
                write!(f, " commit={commit} read_seq={read_seq}")
            }
            MessageBody::HeartbeatResponse { read_seq } => write!(f, " read_seq={read_seq}"),
            MessageBody::SnapshotChunk {
                meta,
                offset,
                data,
                last,
            } => write!(
                f,
                " snap={}/{} offset={offset} len={}{}",
                meta.index,
                meta.term,
                data.len(),
                if *last { " last" } else { "" }
            ),
            MessageBody::SnapshotResponse {
                index,
                received,
                reject,
            } => {
                write!(
                    f,
                    " snap={index} received={received}{}",
                    if *reject { " reject" } else { "" }
                )
            }
            MessageBody::TimeoutNow => Ok(()),
            MessageBody::Propose { payloads } => write!(f, " n={}", payloads.len()),
            MessageBody::ReadIndex { ctx } => write!(f, " ctx={ctx}"),
            MessageBody::ReadIndexResponse { ctx, index } => write!(f, " ctx={ctx} index={index}"),
        }
    }
}

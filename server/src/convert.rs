//! Fallible conversions between the wire messages (`chronos-proto`) and the Raft and SQL types.
//! A malformed message (missing body, unknown enum value) is an [`Error::Malformed`], never a
//! panic.

use chronos_proto::client as cpb;
use chronos_proto::raft as pb;
use chronos_raft::{
    ConfChange, Entry, EntryPayload, Membership, Message, MessageBody, RejectHint, SnapshotMeta,
};
use chronos_sql::{DataType, StatementResult, Value};

use crate::error::{Error, Result};

fn malformed(what: &str) -> Error {
    Error::Malformed(what.to_string())
}

/// Largest term, log index, byte offset or sequence number accepted from the wire. No real
/// cluster gets near it (2^62 entries), and keeping peers' values this far below `u64::MAX`
/// means the Raft core's arithmetic on them (`term + 1`, `index + n`) cannot overflow.
pub const MAX_WIRE_COUNTER: u64 = 1 << 62;

/// `v`, if it is a plausible term/index/offset (see [`MAX_WIRE_COUNTER`]).
fn counter(v: u64, what: &str) -> Result<u64> {
    if v > MAX_WIRE_COUNTER {
        return Err(Error::Malformed(format!(
            "{what} {v} is beyond any real cluster (limit {MAX_WIRE_COUNTER})"
        )));
    }
    Ok(v)
}

fn membership_to_pb(m: &Membership) -> pb::Membership {
    pb::Membership {
        voters: m.voters.iter().copied().collect(),
        learners: m.learners.iter().copied().collect(),
    }
}

fn membership_from_pb(m: pb::Membership) -> Result<Membership> {
    let out = Membership {
        voters: m.voters.into_iter().collect(),
        learners: m.learners.into_iter().collect(),
    };
    if !out.voters.is_disjoint(&out.learners) || out.contains(0) {
        return Err(malformed(
            "membership: overlapping voters and learners, or node 0",
        ));
    }
    // No cluster has zero voters: such a membership could never commit again.
    if out.voters.is_empty() {
        return Err(malformed("membership without voters"));
    }
    Ok(out)
}

fn payload_to_pb(p: &EntryPayload) -> pb::EntryPayload {
    use pb::entry_payload::Kind;
    let kind = match p {
        EntryPayload::Empty => Kind::Empty(pb::Nothing {}),
        EntryPayload::Normal(d) => Kind::Normal(d.clone()),
        EntryPayload::ConfChange(cc) => {
            let (kind, node) = match cc {
                ConfChange::AddVoter(n) => (pb::conf_change::Kind::AddVoter, *n),
                ConfChange::AddLearner(n) => (pb::conf_change::Kind::AddLearner, *n),
                ConfChange::RemoveNode(n) => (pb::conf_change::Kind::RemoveNode, *n),
            };
            Kind::ConfChange(pb::ConfChange {
                kind: kind as i32,
                node,
            })
        }
        EntryPayload::Bootstrap(m) => Kind::Bootstrap(membership_to_pb(m)),
    };
    pb::EntryPayload { kind: Some(kind) }
}

fn payload_from_pb(p: pb::EntryPayload) -> Result<EntryPayload> {
    use pb::entry_payload::Kind;
    Ok(match p.kind.ok_or_else(|| malformed("entry payload"))? {
        Kind::Empty(_) => EntryPayload::Empty,
        Kind::Normal(d) => EntryPayload::Normal(d),
        Kind::ConfChange(cc) => {
            if cc.node == 0 {
                return Err(malformed("conf change names node 0"));
            }
            let kind = pb::conf_change::Kind::try_from(cc.kind)
                .map_err(|_| malformed("conf change kind"))?;
            EntryPayload::ConfChange(match kind {
                pb::conf_change::Kind::AddVoter => ConfChange::AddVoter(cc.node),
                pb::conf_change::Kind::AddLearner => ConfChange::AddLearner(cc.node),
                pb::conf_change::Kind::RemoveNode => ConfChange::RemoveNode(cc.node),
            })
        }
        Kind::Bootstrap(m) => EntryPayload::Bootstrap(membership_from_pb(m)?),
    })
}

fn entry_to_pb(e: &Entry) -> pb::Entry {
    pb::Entry {
        term: e.term,
        index: e.index,
        payload: Some(payload_to_pb(&e.payload)),
    }
}

fn entry_from_pb(e: pb::Entry) -> Result<Entry> {
    if e.index == 0 {
        return Err(malformed("entry index 0"));
    }
    Ok(Entry {
        term: counter(e.term, "entry term")?,
        index: counter(e.index, "entry index")?,
        payload: payload_from_pb(
            e.payload
                .ok_or_else(|| malformed("entry without payload"))?,
        )?,
    })
}

fn meta_to_pb(m: &SnapshotMeta) -> pb::SnapshotMeta {
    pb::SnapshotMeta {
        index: m.index,
        term: m.term,
        membership: Some(membership_to_pb(&m.membership)),
    }
}

fn meta_from_pb(m: pb::SnapshotMeta) -> Result<SnapshotMeta> {
    Ok(SnapshotMeta {
        index: counter(m.index, "snapshot index")?,
        term: counter(m.term, "snapshot term")?,
        membership: membership_from_pb(
            m.membership
                .ok_or_else(|| malformed("snapshot meta without membership"))?,
        )?,
    })
}

/// A Raft message as it goes on the wire.
pub fn message_to_pb(m: &Message) -> pb::Message {
    use pb::message::Body;
    let body = match &m.body {
        MessageBody::PreVote {
            last_index,
            last_term,
        } => Body::PreVote(pb::PreVote {
            last_index: *last_index,
            last_term: *last_term,
        }),
        MessageBody::PreVoteResponse { reject } => {
            Body::PreVoteResponse(pb::VoteResponse { reject: *reject })
        }
        MessageBody::Vote {
            last_index,
            last_term,
            transfer,
        } => Body::Vote(pb::Vote {
            last_index: *last_index,
            last_term: *last_term,
            transfer: *transfer,
        }),
        MessageBody::VoteResponse { reject } => {
            Body::VoteResponse(pb::VoteResponse { reject: *reject })
        }
        MessageBody::Append {
            prev_index,
            prev_term,
            entries,
            commit,
        } => Body::Append(pb::Append {
            prev_index: *prev_index,
            prev_term: *prev_term,
            entries: entries.iter().map(entry_to_pb).collect(),
            commit: *commit,
        }),
        MessageBody::AppendResponse { index, reject } => Body::AppendResponse(pb::AppendResponse {
            index: *index,
            reject: reject.map(|h| pb::RejectHint {
                conflict_term: h.conflict_term,
                conflict_index: h.conflict_index,
            }),
        }),
        MessageBody::Heartbeat { commit, read_seq } => Body::Heartbeat(pb::Heartbeat {
            commit: *commit,
            read_seq: *read_seq,
        }),
        MessageBody::HeartbeatResponse { read_seq } => {
            Body::HeartbeatResponse(pb::HeartbeatResponse {
                read_seq: *read_seq,
            })
        }
        MessageBody::SnapshotChunk {
            meta,
            offset,
            data,
            last,
        } => Body::SnapshotChunk(pb::SnapshotChunk {
            meta: Some(meta_to_pb(meta)),
            offset: *offset,
            data: data.clone(),
            last: *last,
        }),
        MessageBody::SnapshotResponse {
            index,
            received,
            reject,
        } => Body::SnapshotResponse(pb::SnapshotResponse {
            index: *index,
            received: *received,
            reject: *reject,
        }),
        MessageBody::TimeoutNow => Body::TimeoutNow(pb::Nothing {}),
        MessageBody::Propose { payloads } => Body::Propose(pb::Propose {
            payloads: payloads.iter().map(payload_to_pb).collect(),
        }),
        MessageBody::ReadIndex { ctx } => Body::ReadIndex(pb::ReadIndex { ctx: *ctx }),
        MessageBody::ReadIndexResponse { ctx, index } => {
            Body::ReadIndexResponse(pb::ReadIndexResponse {
                ctx: *ctx,
                index: *index,
            })
        }
    };
    pb::Message {
        from: m.from,
        to: m.to,
        term: m.term,
        body: Some(body),
    }
}

/// A Raft message from the wire; fails on a missing body or field, or an unknown enum value.
pub fn message_from_pb(m: pb::Message) -> Result<Message> {
    use pb::message::Body;
    if m.from == 0 || m.to == 0 {
        return Err(malformed("message from or to node 0"));
    }
    counter(m.term, "term")?;
    let body = match m.body.ok_or_else(|| malformed("message without body"))? {
        Body::PreVote(v) => MessageBody::PreVote {
            last_index: counter(v.last_index, "last index")?,
            last_term: counter(v.last_term, "last term")?,
        },
        Body::PreVoteResponse(v) => MessageBody::PreVoteResponse { reject: v.reject },
        Body::Vote(v) => MessageBody::Vote {
            last_index: counter(v.last_index, "last index")?,
            last_term: counter(v.last_term, "last term")?,
            transfer: v.transfer,
        },
        Body::VoteResponse(v) => MessageBody::VoteResponse { reject: v.reject },
        Body::Append(a) => {
            let prev_index = counter(a.prev_index, "prev index")?;
            let entries = a
                .entries
                .into_iter()
                .map(entry_from_pb)
                .collect::<Result<Vec<_>>>()?;
            // The core trusts its peers; check contiguity here so a bad message is an error.
            // No overflow: every index is at most MAX_WIRE_COUNTER.
            let prev_term = counter(a.prev_term, "prev term")?;
            let mut last_term = prev_term;
            for (i, e) in entries.iter().enumerate() {
                if e.index != prev_index + 1 + i as u64 {
                    return Err(malformed("append entries not contiguous after prev_index"));
                }
                // A leader sends entries of its term or older, in a log whose terms never
                // decrease; an entry from a later term would break the log's invariants when
                // this node next appends as a leader.
                if e.term < last_term || e.term > m.term {
                    return Err(malformed(
                        "append entry terms decrease, or exceed the message's term",
                    ));
                }
                last_term = e.term;
            }
            MessageBody::Append {
                prev_index,
                prev_term,
                entries,
                commit: counter(a.commit, "commit index")?,
            }
        }
        Body::AppendResponse(r) => MessageBody::AppendResponse {
            index: counter(r.index, "append response index")?,
            reject: match r.reject {
                None => None,
                Some(h) => Some(RejectHint {
                    conflict_term: h
                        .conflict_term
                        .map(|t| counter(t, "conflict term"))
                        .transpose()?,
                    conflict_index: counter(h.conflict_index, "conflict index")?,
                }),
            },
        },
        Body::Heartbeat(h) => MessageBody::Heartbeat {
            commit: counter(h.commit, "commit index")?,
            read_seq: counter(h.read_seq, "read sequence")?,
        },
        Body::HeartbeatResponse(h) => MessageBody::HeartbeatResponse {
            read_seq: counter(h.read_seq, "read sequence")?,
        },
        Body::SnapshotChunk(c) => MessageBody::SnapshotChunk {
            meta: {
                let meta = meta_from_pb(
                    c.meta
                        .ok_or_else(|| malformed("snapshot chunk without meta"))?,
                )?;
                if meta.term > m.term {
                    return Err(malformed("snapshot term exceeds the message's term"));
                }
                meta
            },
            offset: counter(c.offset, "snapshot offset")?,
            data: c.data,
            last: c.last,
        },
        Body::SnapshotResponse(r) => MessageBody::SnapshotResponse {
            index: counter(r.index, "snapshot index")?,
            received: counter(r.received, "snapshot bytes received")?,
            reject: r.reject,
        },
        Body::TimeoutNow(_) => MessageBody::TimeoutNow,
        Body::Propose(p) => MessageBody::Propose {
            // A follower forwards application data only: membership changes are proposed at
            // the leader itself, and bootstrap entries exist only at index 1. A forwarded
            // bootstrap or conf change would let any peer rewrite the membership.
            payloads: p
                .payloads
                .into_iter()
                .map(|p| match payload_from_pb(p)? {
                    normal @ EntryPayload::Normal(_) => Ok(normal),
                    _ => Err(malformed(
                        "a forwarded proposal carries only application data",
                    )),
                })
                .collect::<Result<Vec<_>>>()?,
        },
        Body::ReadIndex(r) => MessageBody::ReadIndex { ctx: r.ctx },
        Body::ReadIndexResponse(r) => MessageBody::ReadIndexResponse {
            ctx: r.ctx,
            index: counter(r.index, "read index")?,
        },
    };
    Ok(Message {
        from: m.from,
        to: m.to,
        term: m.term,
        body,
    })
}

fn data_type_to_pb(t: Option<DataType>) -> cpb::DataType {
    match t {
        None => cpb::DataType::Unknown,
        Some(DataType::Boolean) => cpb::DataType::Boolean,
        Some(DataType::Integer) => cpb::DataType::Integer,
        Some(DataType::Float) => cpb::DataType::Float,
        Some(DataType::Text) => cpb::DataType::Text,
        Some(DataType::Char) => cpb::DataType::Char,
        Some(DataType::Timestamp) => cpb::DataType::Timestamp,
        Some(DataType::TimestampTz) => cpb::DataType::Timestamptz,
        Some(DataType::Date) => cpb::DataType::Date,
    }
}

/// A SQL value on the wire.
pub fn value_to_pb(v: &Value) -> cpb::Value {
    use cpb::value::Kind;
    let kind = match v {
        Value::Null => Kind::Null(true),
        Value::Boolean(b) => Kind::Boolean(*b),
        Value::Integer(i) => Kind::Integer(*i),
        Value::Float(f) => Kind::Float(*f),
        Value::Text(s) => Kind::Text(s.clone()),
        Value::Char(s) => Kind::Bpchar(s.clone()),
        Value::Timestamp(t) => Kind::Timestamp(*t),
        Value::TimestampTz(t) => Kind::Timestamptz(*t),
        Value::Date(d) => Kind::Date(*d),
    };
    cpb::Value { kind: Some(kind) }
}

/// A SQL value from the wire (a value without a kind is malformed).
pub fn value_from_pb(v: &cpb::Value) -> Result<Value> {
    use cpb::value::Kind;
    Ok(
        match v
            .kind
            .as_ref()
            .ok_or_else(|| malformed("value without kind"))?
        {
            Kind::Null(_) => Value::Null,
            Kind::Boolean(b) => Value::Boolean(*b),
            Kind::Integer(i) => Value::Integer(*i),
            Kind::Float(f) => Value::Float(*f),
            Kind::Text(s) => Value::Text(s.clone()),
            Kind::Bpchar(s) => Value::Char(s.clone()),
            Kind::Timestamp(t) => Value::Timestamp(*t),
            Kind::Timestamptz(t) => Value::TimestampTz(*t),
            Kind::Date(d) => Value::Date(*d),
        },
    )
}

/// A result column on the wire.
pub fn column_to_pb(c: &chronos_sql::ColumnInfo) -> cpb::Column {
    cpb::Column {
        name: c.name.clone(),
        data_type: data_type_to_pb(c.data_type) as i32,
    }
}

/// A row on the wire.
pub fn row_to_pb(row: &[Value]) -> cpb::Row {
    cpb::Row {
        values: row.iter().map(value_to_pb).collect(),
    }
}

/// Approximate encoded size of a row (for bounding streamed batches).
pub fn row_size(row: &[Value]) -> usize {
    row.iter()
        .map(|v| match v {
            Value::Text(s) | Value::Char(s) => s.len() + 6,
            _ => 11,
        })
        .sum::<usize>()
        + 4
}

/// One statement's outcome on the wire.
pub fn result_to_pb(r: &chronos_sql::Result<StatementResult>) -> cpb::StatementResult {
    use cpb::statement_result::Result as R;
    let result = match r {
        Ok(StatementResult::Query { columns, rows }) => R::Query(cpb::QueryResult {
            columns: columns.iter().map(column_to_pb).collect(),
            rows: rows.iter().map(|r| row_to_pb(r)).collect(),
        }),
        Ok(StatementResult::Modified { tag, rows }) => R::Modified(cpb::Modified {
            tag: (*tag).to_string(),
            rows: *rows,
        }),
        Ok(StatementResult::Command { tag }) => R::Command(cpb::Command { tag: tag.clone() }),
        Ok(StatementResult::Explain { lines }) => R::Explain(cpb::Explain {
            lines: lines.clone(),
        }),
        Err(e) => R::Error(cpb::SqlError {
            sqlstate: e.state.code().to_string(),
            message: e.message.clone(),
            detail: e.detail.clone().unwrap_or_default(),
        }),
    };
    cpb::StatementResult {
        result: Some(result),
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let meta = SnapshotMeta {
            index: 7,
            term: 2,
            membership: Membership::with_voters([1, 2, 3]),
        };
        let bodies = vec![
            MessageBody::PreVote {
                last_index: 3,
                last_term: 1,
            },
            MessageBody::Vote {
                last_index: 3,
                last_term: 1,
                transfer: true,
            },
            MessageBody::Append {
                prev_index: 4,
                prev_term: 1,
                entries: vec![
                    Entry {
                        term: 2,
                        index: 5,
                        payload: EntryPayload::Normal(b"x".to_vec()),
                    },
                    Entry {
                        term: 2,
                        index: 6,
                        payload: EntryPayload::ConfChange(ConfChange::AddLearner(4)),
                    },
                ],
                commit: 4,
            },
            MessageBody::AppendResponse {
                index: 3,
                reject: Some(RejectHint {
                    conflict_term: None,
                    conflict_index: 2,
                }),
            },
            MessageBody::SnapshotChunk {
                meta,
                offset: 10,
                data: vec![1, 2, 3],
                last: true,
            },
            MessageBody::TimeoutNow,
            MessageBody::Propose {
                payloads: vec![EntryPayload::Normal(b"p".to_vec())],
            },
        ];
        for body in bodies {
            let m = Message {
                from: 1,
                to: 2,
                term: 3,
                body,
            };
            assert_eq!(message_from_pb(message_to_pb(&m)).unwrap(), m);
        }
    }

    #[test]
    fn malformed_messages_are_errors() {
        let empty = pb::Message {
            from: 1,
            to: 2,
            term: 1,
            body: None,
        };
        assert!(message_from_pb(empty).is_err());
        let gap = pb::Message {
            from: 1,
            to: 2,
            term: 1,
            body: Some(pb::message::Body::Append(pb::Append {
                prev_index: 1,
                prev_term: 1,
                entries: vec![pb::Entry {
                    term: 1,
                    index: 5,
                    payload: Some(pb::EntryPayload {
                        kind: Some(pb::entry_payload::Kind::Empty(pb::Nothing {})),
                    }),
                }],
                commit: 0,
            })),
        };
        assert!(message_from_pb(gap).is_err());
        let bad_enum = pb::EntryPayload {
            kind: Some(pb::entry_payload::Kind::ConfChange(pb::ConfChange {
                kind: 99,
                node: 3,
            })),
        };
        assert!(payload_from_pb(bad_enum).is_err());
    }

    /// Found by the wire fuzzer (`server/tests/wire_fuzz.rs`): a term of `u64::MAX` made the
    /// Raft core overflow `term + 1` when it next campaigned, and an append after index
    /// `u64::MAX` overflowed the contiguity check here. Both are refused at the boundary now.
    #[test]
    fn counters_near_u64_max_are_malformed_not_overflows() {
        let vote = pb::Message {
            from: 2,
            to: 1,
            term: u64::MAX,
            body: Some(pb::message::Body::VoteResponse(pb::VoteResponse {
                reject: false,
            })),
        };
        assert!(matches!(message_from_pb(vote), Err(Error::Malformed(_))));
        let append = pb::Message {
            from: 2,
            to: 1,
            term: 1,
            body: Some(pb::message::Body::Append(pb::Append {
                prev_index: u64::MAX,
                prev_term: 1,
                entries: vec![pb::Entry {
                    term: 1,
                    index: 0,
                    payload: Some(pb::EntryPayload {
                        kind: Some(pb::entry_payload::Kind::Empty(pb::Nothing {})),
                    }),
                }],
                commit: 0,
            })),
        };
        assert!(matches!(message_from_pb(append), Err(Error::Malformed(_))));
        let at_limit = pb::Message {
            from: 2,
            to: 1,
            term: MAX_WIRE_COUNTER,
            body: Some(pb::message::Body::Heartbeat(pb::Heartbeat {
                commit: MAX_WIRE_COUNTER,
                read_seq: 0,
            })),
        };
        assert!(message_from_pb(at_limit).is_ok());
    }

    /// Found by the wire fuzzer after ~15 minutes: a peer's forwarded `Propose` carrying a
    /// bootstrap membership with no voters was appended and committed by the leader, after
    /// which the cluster could never commit again.
    #[test]
    fn forwarded_proposals_carry_only_application_data() {
        use pb::entry_payload::Kind;
        let propose = |kind: Kind| pb::Message {
            from: 3,
            to: 1,
            term: 2,
            body: Some(pb::message::Body::Propose(pb::Propose {
                payloads: vec![pb::EntryPayload { kind: Some(kind) }],
            })),
        };
        let no_voters = Kind::Bootstrap(pb::Membership {
            voters: vec![],
            learners: vec![3],
        });
        assert!(matches!(
            message_from_pb(propose(no_voters)),
            Err(Error::Malformed(_))
        ));
        let add = Kind::ConfChange(pb::ConfChange {
            kind: pb::conf_change::Kind::AddVoter as i32,
            node: 4,
        });
        assert!(matches!(
            message_from_pb(propose(add)),
            Err(Error::Malformed(_))
        ));
        assert!(message_from_pb(propose(Kind::Normal(b"x".to_vec()))).is_ok());
        assert!(
            membership_from_pb(pb::Membership {
                voters: vec![],
                learners: vec![]
            })
            .is_err()
        );
    }

    /// Found by the wire fuzzer: an append in term 1 carrying an entry of term 4 was accepted;
    /// when the node next led (term 2) its own append broke the log invariant "terms never
    /// decrease" and the driver thread panicked, taking the node down.
    #[test]
    fn append_entries_from_a_later_term_are_malformed() {
        let append = |msg_term: u64, terms: &[u64]| pb::Message {
            from: 2,
            to: 1,
            term: msg_term,
            body: Some(pb::message::Body::Append(pb::Append {
                prev_index: 1,
                prev_term: 1,
                entries: terms
                    .iter()
                    .enumerate()
                    .map(|(i, t)| pb::Entry {
                        term: *t,
                        index: 2 + i as u64,
                        payload: Some(pb::EntryPayload {
                            kind: Some(pb::entry_payload::Kind::Empty(pb::Nothing {})),
                        }),
                    })
                    .collect(),
                commit: 6,
            })),
        };
        assert!(matches!(
            message_from_pb(append(1, &[4])),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            message_from_pb(append(3, &[3, 2])),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            message_from_pb(append(3, &[0])),
            Err(Error::Malformed(_))
        ));
        assert!(message_from_pb(append(3, &[1, 2, 3])).is_ok());
    }
}

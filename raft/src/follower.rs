//! Follower behaviour: accepting appends (with conflict hints), heartbeats, snapshot chunks and
//! leadership transfer requests, and forwarding client requests.

use crate::message::{Message, MessageBody};
use crate::raft::{IncomingSnapshot, Raft};
use crate::types::{ReadState, Snapshot};

impl Raft {
    /// Messages as a follower. Terms were already reconciled by `step`.
    pub(crate) fn step_follower(&mut self, msg: Message) {
        match msg.body {
            MessageBody::Append {
                prev_index,
                prev_term,
                entries,
                commit,
            } => {
                self.heard_from_leader(msg.from);
                self.handle_append(msg.from, prev_index, prev_term, entries, commit);
            }
            MessageBody::Heartbeat { commit, read_seq } => {
                self.heard_from_leader(msg.from);
                // The leader sends min(our match, its commit): safe to commit that far.
                let old = self.log.commit();
                if self.log.commit_to(commit.min(self.log.last_index())) {
                    self.on_commit_advanced(old);
                }
                self.send(msg.from, MessageBody::HeartbeatResponse { read_seq });
            }
            MessageBody::SnapshotChunk {
                meta,
                offset,
                data,
                last,
            } => {
                self.heard_from_leader(msg.from);
                self.handle_snapshot_chunk(msg.from, meta, offset, data, last);
            }
            MessageBody::TimeoutNow if self.promotable() => self.campaign(true),
            MessageBody::Propose { payloads } => {
                // Forwarded to us although we are not the leader: pass it on once, if we know
                // better; otherwise drop it (the client times out and retries).
                if let Some(leader) = self
                    .leader
                    .filter(|&l| l != msg.from && self.cfg.forward_proposals)
                {
                    self.send(leader, MessageBody::Propose { payloads });
                }
            }
            MessageBody::ReadIndexResponse { ctx, index } => {
                self.read_states.push(ReadState { ctx, index });
            }
            _ => {}
        }
    }

    fn heard_from_leader(&mut self, from: u64) {
        self.leader = Some(from);
        self.election_elapsed_ticks = 0;
    }

    fn handle_append(
        &mut self,
        from: u64,
        prev_index: u64,
        prev_term: u64,
        entries: Vec<crate::types::Entry>,
        commit: u64,
    ) {
        if prev_index < self.log.commit() {
            // Everything up to our commit index is known to match; say so.
            let index = self.log.commit();
            self.send(
                from,
                MessageBody::AppendResponse {
                    index,
                    reject: None,
                },
            );
            return;
        }
        if !self.log.match_term(prev_index, prev_term) {
            let hint = self.log.reject_hint(prev_index);
            self.send(
                from,
                MessageBody::AppendResponse {
                    index: prev_index,
                    reject: Some(hint),
                },
            );
            return;
        }
        let last_new = self.log.merge(prev_index, entries);
        self.refresh_membership_from(prev_index + 1);
        let old = self.log.commit();
        if self.log.commit_to(commit.min(last_new)) {
            self.on_commit_advanced(old);
        }
        self.send(
            from,
            MessageBody::AppendResponse {
                index: last_new,
                reject: None,
            },
        );
    }

    fn handle_snapshot_chunk(
        &mut self,
        from: u64,
        meta: crate::types::SnapshotMeta,
        offset: u64,
        data: Vec<u8>,
        last: bool,
    ) {
        if meta.index <= self.log.commit() {
            // Already have it (or newer): report how far we match.
            self.incoming_snapshot = None;
            let index = self.log.commit();
            self.send(
                from,
                MessageBody::AppendResponse {
                    index,
                    reject: None,
                },
            );
            return;
        }
        let restart = match &self.incoming_snapshot {
            Some(inc) => inc.meta != meta || offset == 0,
            None => true,
        };
        if restart {
            self.incoming_snapshot = Some(IncomingSnapshot {
                meta: meta.clone(),
                data: Vec::new(),
            });
        }
        let inc = self
            .incoming_snapshot
            .as_mut()
            .expect("invariant: set just above");
        let have = inc.data.len() as u64;
        let end = offset + data.len() as u64;
        if offset < have && end <= have && !(last && end == have) {
            // A duplicate of a chunk we hold: acknowledge what we have.
            self.send(
                from,
                MessageBody::SnapshotResponse {
                    index: meta.index,
                    received: have,
                    reject: false,
                },
            );
            return;
        }
        if offset != have {
            self.send(
                from,
                MessageBody::SnapshotResponse {
                    index: meta.index,
                    received: have,
                    reject: true,
                },
            );
            return;
        }
        inc.data.extend_from_slice(&data);
        let received = inc.data.len() as u64;
        if !last {
            self.send(
                from,
                MessageBody::SnapshotResponse {
                    index: meta.index,
                    received,
                    reject: false,
                },
            );
            return;
        }
        let inc = self
            .incoming_snapshot
            .take()
            .expect("invariant: set just above");
        let index = inc.meta.index;
        if self.log.match_term(index, inc.meta.term) {
            // Our log already holds the snapshot's last entry: just commit up to it.
            let old = self.log.commit();
            self.log.commit_to(index);
            self.on_commit_advanced(old);
        } else {
            self.install_snapshot(Snapshot {
                meta: inc.meta,
                data: inc.data,
            });
        }
        self.send(
            from,
            MessageBody::AppendResponse {
                index,
                reject: None,
            },
        );
    }
}

//! A connection's session thread. A [`SessionBackend`] is synchronous and may block for as long
//! as a statement runs, so each connection owns one OS thread that holds its session and runs
//! one request at a time; the async protocol task hands it SQL and receives what the session
//! streams through a bounded channel. The bound is what makes streaming real: when the client
//! reads slowly the channel fills, the executor's sink blocks, and no more rows are produced
//! than [`EVENT_QUEUE_LEN`] ahead of the socket.
//!
//! Dropping the [`Worker`] (the connection closed) cancels the running statement and closes
//! the request queue, so the thread ends when that statement does.

use std::sync::Arc;
use std::sync::mpsc as std_mpsc;

use chronos_sql::Streamed;
use pgwire::messages::PgWireBackendMessage;
use tokio::sync::mpsc;

use crate::backend::{Canceller, SessionBackend, TxState};
use crate::error::{Error, Result};
use crate::extended::{Protocol, Request};

/// Events buffered between the executor and the socket.
pub(crate) const EVENT_QUEUE_LEN: usize = 64;

/// What the session thread sends back for one request, in order: the session's stream, then
/// `Finished` with the transaction state after it.
#[derive(Debug)]
pub(crate) enum Event {
    Streamed(Streamed),
    /// An extended-protocol answer, ready to send.
    Message(PgWireBackendMessage),
    /// The extended-protocol request failed (nothing follows but `Finished`).
    Failed(chronos_sql::Error),
    Finished(TxState),
}

#[derive(Debug)]
enum Work {
    Simple(String),
    Extended(Request),
}

#[derive(Debug)]
struct Job {
    work: Work,
    events: mpsc::Sender<Event>,
}

/// The handle the protocol task keeps for its session thread.
#[derive(Debug)]
pub(crate) struct Worker {
    jobs: std_mpsc::Sender<Job>,
    cancel: Arc<dyn Canceller>,
    /// Released (one fewer open connection, the cancel key forgotten) when the connection's
    /// state is dropped.
    _slot: Arc<dyn Send + Sync + std::fmt::Debug>,
}

impl Worker {
    /// Starts the thread that owns `session`. `slot` is dropped with the worker.
    pub(crate) fn spawn(
        session: Box<dyn SessionBackend>,
        slot: Arc<dyn Send + Sync + std::fmt::Debug>,
    ) -> Result<Worker> {
        let cancel = session.canceller();
        let (jobs, rx) = std_mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("pg-session".into())
            .spawn(move || run(session, rx))
            .map_err(|source| Error::Spawn { source })?;
        Ok(Worker {
            jobs,
            cancel,
            _slot: slot,
        })
    }

    /// Runs `sql` (one or more statements); the returned receiver yields its events and ends
    /// with [`Event::Finished`].
    pub(crate) fn submit(&self, sql: String) -> Result<mpsc::Receiver<Event>> {
        self.send(Work::Simple(sql))
    }

    /// Runs one extended-protocol message; the receiver yields its answers, then `Failed` or
    /// nothing, then [`Event::Finished`].
    pub(crate) fn submit_extended(&self, request: Request) -> Result<mpsc::Receiver<Event>> {
        self.send(Work::Extended(request))
    }

    fn send(&self, work: Work) -> Result<mpsc::Receiver<Event>> {
        let (events, rx) = mpsc::channel(EVENT_QUEUE_LEN);
        self.jobs
            .send(Job { work, events })
            .map_err(|_| Error::SessionGone)?;
        Ok(rx)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Nobody will read the running statement's results.
        self.cancel.cancel();
    }
}

/// Serves requests until the connection closes; dropping `session` at the end releases it
/// (for a routed session: closes it on the node that owns it).
fn run(mut session: Box<dyn SessionBackend>, jobs: std_mpsc::Receiver<Job>) {
    let mut protocol = Protocol::default();
    while let Ok(job) = jobs.recv() {
        let events = job.events;
        // A failed send means the protocol task went away: returning false stops the statement.
        match job.work {
            Work::Simple(sql) => session.execute_streaming(&sql, &mut |item| {
                events.blocking_send(Event::Streamed(item)).is_ok()
            }),
            Work::Extended(request) => {
                let r = protocol.handle(session.as_mut(), request, &mut |event| {
                    events.blocking_send(event).is_ok()
                });
                if let Err(e) = r {
                    let _ = events.blocking_send(Event::Failed(e));
                }
            }
        }
        let state = session.transaction_state();
        // If the receiver is gone the connection is closing; the next recv() ends the loop.
        let _ = events.blocking_send(Event::Finished(state));
    }
}

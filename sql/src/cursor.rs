//! Cursors: a query's executor kept alive between fetches, for portals executed with a row
//! limit (the extended protocol's Execute with `max_rows`, fetched in chunks).
//!
//! The executor's row iterators borrow their transaction and plan, so a suspended executor
//! cannot be stored beside them in one struct. Instead each open cursor runs its executor on
//! its own thread, which owns the plan, a read-only copy of the transaction (the snapshot and
//! writes its transaction had when the cursor opened, as a PostgreSQL cursor sees) and the
//! statement limits. The thread produces rows only on demand: a fetch asks for `n` rows, the
//! thread sends at most `n` through a channel of [`ROW_QUEUE_LEN`] and then blocks waiting for
//! the next demand. Memory per cursor is therefore the plan's own buffers plus that queue,
//! whatever the result size; the query is never re-run and never materialised. Dropping the
//! [`Cursor`] closes both channels, and the thread ends (releasing its snapshot) at its next
//! send or receive.
//!
//! Invariant: the thread sends exactly the rows asked for, then one [`Item::Suspended`], or
//! fewer followed by one [`Item::End`], after which it exits.

use std::sync::Arc;
use std::sync::mpsc;

use chronos_kv::mvcc::Transaction;

use crate::cancel::StatementLimits;
use crate::error::{Error, Result};
use crate::exec::Executor;
use crate::plan::Plan;
use crate::value::Row;

/// Rows in flight between a cursor's thread and its fetcher.
pub const ROW_QUEUE_LEN: usize = 64;

/// Cursors a session may hold open at once (each is a thread with a snapshot).
pub const MAX_OPEN_CURSORS: usize = 64;

#[derive(Debug)]
enum Item {
    Row(Row),
    /// The demand is met; more rows may follow.
    Suspended,
    /// No more rows (or the query failed); the thread has ended.
    End(Result<()>),
}

/// How a fetch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// The requested rows were handed over; the cursor may have more.
    Suspended,
    /// The cursor is exhausted.
    Done,
}

/// An open cursor: the handle of its executor thread.
#[derive(Debug)]
pub struct Cursor {
    demand: mpsc::Sender<u64>,
    rows: mpsc::Receiver<Item>,
    finished: bool,
}

impl Cursor {
    /// Starts executing `plan` in `txn` (which the cursor owns) on a new thread; no row is
    /// produced before the first [`Cursor::fetch`].
    pub fn open(plan: Arc<Plan>, txn: Transaction, limits: StatementLimits) -> Result<Cursor> {
        let (demand, demand_rx) = mpsc::channel::<u64>();
        let (rows_tx, rows) = mpsc::sync_channel::<Item>(ROW_QUEUE_LEN);
        std::thread::Builder::new()
            .name("sql-cursor".into())
            .spawn(move || produce(&plan, &txn, &limits, &demand_rx, &rows_tx))
            .map_err(|e| Error::internal(format!("cannot start a cursor thread: {e}")))?;
        Ok(Cursor {
            demand,
            rows,
            finished: false,
        })
    }

    /// Hands up to `max_rows` rows (0: all that remain) to `sink`, which returns false when
    /// its receiver went away.
    pub fn fetch(&mut self, max_rows: u64, sink: &mut dyn FnMut(Row) -> bool) -> Result<Fetched> {
        if self.finished {
            return Ok(Fetched::Done);
        }
        let want = if max_rows == 0 { u64::MAX } else { max_rows };
        self.demand.send(want).map_err(|_| gone())?;
        loop {
            match self.rows.recv().map_err(|_| gone())? {
                Item::Row(row) => {
                    if !sink(row) {
                        return Err(Error::internal("the result receiver went away"));
                    }
                }
                Item::Suspended => return Ok(Fetched::Suspended),
                Item::End(r) => {
                    self.finished = true;
                    r?;
                    return Ok(Fetched::Done);
                }
            }
        }
    }
}

fn gone() -> Error {
    Error::internal("the cursor's executor thread stopped")
}

/// The cursor thread: rows on demand until the plan is exhausted or the cursor dropped.
fn produce(
    plan: &Plan,
    txn: &Transaction,
    limits: &StatementLimits,
    demand: &mpsc::Receiver<u64>,
    out: &mpsc::SyncSender<Item>,
) {
    let exec = Executor::new(txn, limits);
    let mut rows = match exec.rows(plan) {
        Ok(rows) => rows,
        Err(e) => {
            // Reported at the first fetch.
            if demand.recv().is_ok() {
                let _ = out.send(Item::End(Err(e)));
            }
            return;
        }
    };
    while let Ok(mut want) = demand.recv() {
        while want > 0 {
            let item = match rows.next() {
                Some(Ok(row)) => Item::Row(row),
                Some(Err(e)) => Item::End(Err(e)),
                None => Item::End(Ok(())),
            };
            let end = matches!(item, Item::End(_));
            if out.send(item).is_err() || end {
                return;
            }
            want -= 1;
        }
        if out.send(Item::Suspended).is_err() {
            return;
        }
    }
}

//! Stopping a running statement: a session's [`CancelHandle`] (Ctrl-C in a shell, a client that
//! went away) and its statement timeout, both seen by the executor through one cheap
//! [`Interrupt::check`] in every loop that runs once per row (scans, join candidates, values).
//!
//! A cancelled statement fails with SQLSTATE 57014 and is then like any failed statement: in
//! autocommit its transaction is rolled back, inside a transaction block the block is aborted
//! (25P02 until ROLLBACK). A commit that has started is never cancelled: the check runs only
//! while rows are produced.
//!
//! Time comes in through the [`Ticker`] seam (monotonic, never the wall clock), so a test can
//! drive a deadline without sleeping. The clock is read only every [`CLOCK_EVERY_CHECKS`]
//! checks; the cancel flag, one relaxed atomic load, on every check.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, Result, SqlState};

/// How many checks pass between two readings of the clock. A row costs at least a few hundred
/// nanoseconds, so a deadline is noticed within well under a millisecond of work.
pub const CLOCK_EVERY_CHECKS: u32 = 256;

/// Cancels whatever statement its session is running, from any thread. Cloning shares the
/// flag. A cancel that arrives while nothing runs is forgotten when the next request starts
/// ([`Session::execute`](crate::Session::execute)), as PostgreSQL's cancel only reaches a
/// statement in progress.
#[derive(Debug, Clone, Default)]
pub struct CancelHandle(Arc<AtomicBool>);

impl CancelHandle {
    /// Asks the running statement to stop; it fails with "canceling statement due to user
    /// request" (57014) at its next check.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    pub(crate) fn reset(&self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

/// A monotonic clock: time since an arbitrary origin fixed when the ticker was made.
pub trait Ticker: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Duration;
}

/// The process's monotonic clock: the one place the SQL engine reads time for deadlines.
#[derive(Debug)]
pub struct SystemTicker {
    origin: Instant,
}

impl SystemTicker {
    pub fn new() -> Self {
        SystemTicker {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemTicker {
    fn default() -> Self {
        Self::new()
    }
}

impl Ticker for SystemTicker {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// What stops one statement: its session's cancel flag and, when a statement timeout is set,
/// a deadline on the session's ticker.
#[derive(Debug)]
pub struct Interrupt {
    cancel: CancelHandle,
    /// `(ticker, deadline)`: the statement fails once `ticker.now() >= deadline`.
    deadline: Option<(Arc<dyn Ticker>, Duration)>,
    /// Checks since the clock was last read.
    checks: Cell<u32>,
}

impl Interrupt {
    /// An interrupt for a statement starting now; `timeout` zero means none.
    pub fn new(cancel: CancelHandle, ticker: Arc<dyn Ticker>, timeout: Duration) -> Self {
        let deadline = (!timeout.is_zero()).then(|| {
            let at = ticker.now().saturating_add(timeout);
            (ticker, at)
        });
        Interrupt {
            cancel,
            deadline,
            checks: Cell::new(0),
        }
    }

    /// One that never fires (work outside a statement, and tests).
    pub fn never() -> Self {
        Interrupt {
            cancel: CancelHandle::default(),
            deadline: None,
            checks: Cell::new(0),
        }
    }

    /// Fails with 57014 when the statement was cancelled or ran past its deadline.
    pub fn check(&self) -> Result<()> {
        if self.cancel.is_cancelled() {
            return Err(Error::new(
                SqlState::QueryCanceled,
                "canceling statement due to user request",
            ));
        }
        if let Some((ticker, at)) = &self.deadline {
            let n = self.checks.get() + 1;
            if n < CLOCK_EVERY_CHECKS {
                self.checks.set(n);
                return Ok(());
            }
            self.checks.set(0);
            if ticker.now() >= *at {
                return Err(Error::new(
                    SqlState::QueryCanceled,
                    "canceling statement due to statement timeout",
                ));
            }
        }
        Ok(())
    }
}

/// The bounds one statement runs under: memory for buffering operators, and its interrupt.
#[derive(Debug)]
pub struct StatementLimits {
    pub memory_limit_bytes: usize,
    pub interrupt: Interrupt,
}

impl StatementLimits {
    /// Limits with no interrupt (tests, and work that is not a client's statement).
    pub fn unbounded_time(memory_limit_bytes: usize) -> Self {
        StatementLimits {
            memory_limit_bytes,
            interrupt: Interrupt::never(),
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// A clock that moves only when told.
    #[derive(Debug, Default)]
    struct ManualTicker(Mutex<Duration>);

    impl Ticker for ManualTicker {
        fn now(&self) -> Duration {
            *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }
    }

    #[test]
    fn a_cancel_fails_the_next_check() {
        let handle = CancelHandle::default();
        let i = Interrupt::new(
            handle.clone(),
            Arc::new(SystemTicker::new()),
            Duration::ZERO,
        );
        assert!(i.check().is_ok());
        handle.cancel();
        let e = i.check().unwrap_err();
        assert_eq!(e.state, SqlState::QueryCanceled);
        assert_eq!(e.message, "canceling statement due to user request");
        handle.reset();
        assert!(i.check().is_ok());
    }

    #[test]
    fn a_deadline_fails_a_check_once_the_clock_passes_it() {
        let ticker = Arc::new(ManualTicker::default());
        let i = Interrupt::new(
            CancelHandle::default(),
            ticker.clone(),
            Duration::from_millis(500),
        );
        for _ in 0..3 * CLOCK_EVERY_CHECKS {
            assert!(i.check().is_ok());
        }
        *ticker
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Duration::from_millis(500);
        let failed = (0..CLOCK_EVERY_CHECKS).find_map(|_| i.check().err());
        let e = failed.expect("the deadline is noticed within CLOCK_EVERY_CHECKS checks");
        assert_eq!(e.state, SqlState::QueryCanceled);
        assert_eq!(e.message, "canceling statement due to statement timeout");
    }
}

//! Ctrl-C in the SQL shell: it stops the running statement, not the shell.
//!
//! A thread waits for SIGINT for the whole life of the shell. While a statement runs, the
//! target's canceller is registered ([`Interrupts::run`]) and a SIGINT calls it: the embedded
//! engine sets the session's cancel flag, a cluster session drops its request stream (the node
//! then cancels the statement). The statement fails with 57014 and the transaction follows
//! PostgreSQL's rules (see `chronos_sql::cancel`).
//!
//! With nothing running, the interactive shell ignores the signal: at its prompt the line
//! editor has the terminal in raw mode, so Ctrl-C arrives as a key, not a signal (see the REPL
//! for what the key does). A non-interactive run (`-e`, `-f`, a pipe) has no prompt to return
//! to: a SIGINT between statements ends it with status 130, as the default action would.

use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context;

/// Cancels the statement a target is running; called from the signal thread.
pub type Canceller = Arc<dyn Fn() + Send + Sync>;

/// Exit status of a run stopped by SIGINT between statements (128 + SIGINT, as a shell
/// reports a process the signal killed).
const EXIT_INTERRUPTED: i32 = 130;

/// The shell's SIGINT handling; see the module doc.
#[derive(Clone)]
pub struct Interrupts {
    running: Arc<Mutex<Option<Canceller>>>,
}

impl std::fmt::Debug for Interrupts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interrupts").finish_non_exhaustive()
    }
}

impl Interrupts {
    /// Starts listening for SIGINT; from now on it no longer kills the process outright.
    pub fn install(interactive: bool) -> anyhow::Result<Interrupts> {
        let running: Arc<Mutex<Option<Canceller>>> = Arc::default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the signal thread's runtime")?;
        // Registered here, before returning, so that no SIGINT falls between installing and
        // listening.
        let signal = {
            let _in_runtime = rt.enter();
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
                .context("listening for Ctrl-C")?
        };
        let shared = running.clone();
        std::thread::Builder::new()
            .name("sigint".into())
            .spawn(move || {
                let mut signal = signal;
                rt.block_on(async move {
                    while signal.recv().await.is_some() {
                        let canceller = shared
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .clone();
                        match canceller {
                            Some(cancel) => cancel(),
                            None if interactive => {}
                            None => std::process::exit(EXIT_INTERRUPTED),
                        }
                    }
                });
            })
            .context("starting the signal thread")?;
        Ok(Interrupts { running })
    }

    /// Runs `work` (one statement or script line) with `cancel` as what a SIGINT does.
    pub fn run<T>(&self, cancel: Canceller, work: impl FnOnce() -> T) -> T {
        *self.running.lock().unwrap_or_else(PoisonError::into_inner) = Some(cancel);
        let out = work();
        *self.running.lock().unwrap_or_else(PoisonError::into_inner) = None;
        out
    }
}

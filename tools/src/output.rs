//! Writing to standard output and standard error without panicking.
//!
//! `println!` panics when its stream is a pipe whose reader has gone (`chronos status | head`,
//! `chronos check history … | head`). Every line the binary prints goes through the macros
//! here instead. On stdout, a closed pipe ends the process quietly with status 0 — the reader
//! has taken what it wanted, as ripgrep and friends treat it — and any other write error (a
//! full disk behind a redirection) ends it with status 1 after trying to say why on stderr.
//! Errors that reach `main` as `anyhow` errors get the same treatment there
//! ([`is_broken_pipe`]). On stderr a failed write is dropped: diagnostics nobody can read must
//! not change what the command does or the status it ends with.
//!
//! Ending the process skips destructors. That is safe here because durability never depends on
//! them: a commit is durable when it returns, and an open transaction is rolled back on the next
//! open exactly as after a crash.

use std::io::{self, Write};

/// Which stream a macro writes to.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Writes `args` to `stream`, as the module doc says for when that fails.
pub fn write_or_exit(stream: Stream, args: std::fmt::Arguments<'_>) {
    match stream {
        Stream::Stdout => {
            let mut out = io::stdout().lock();
            if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
                exit_after_write_error(&e);
            }
        }
        // Nowhere left to report it.
        Stream::Stderr => drop(io::stderr().lock().write_fmt(args)),
    }
}

/// Ends the process after a failed write to stdout or stderr.
pub fn exit_after_write_error(e: &io::Error) -> ! {
    if e.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    // Stderr may be the broken stream; there is nobody else to tell.
    let _ = writeln!(io::stderr(), "error: writing output: {e}");
    std::process::exit(1);
}

/// Whether an error that ended a command is a closed output pipe (then the exit is quiet).
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// `println!` that survives a closed pipe (see the module doc).
macro_rules! outln {
    () => {
        $crate::output::write_or_exit($crate::output::Stream::Stdout, format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_or_exit(
            $crate::output::Stream::Stdout,
            format_args!("{}\n", format_args!($($arg)*)),
        )
    };
}

/// `print!` that survives a closed pipe.
macro_rules! outprint {
    ($($arg:tt)*) => {
        $crate::output::write_or_exit($crate::output::Stream::Stdout, format_args!($($arg)*))
    };
}

/// `eprintln!` that survives a closed pipe.
macro_rules! errln {
    () => {
        $crate::output::write_or_exit($crate::output::Stream::Stderr, format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_or_exit(
            $crate::output::Stream::Stderr,
            format_args!("{}\n", format_args!($($arg)*)),
        )
    };
}

/// `eprint!` that survives a closed pipe.
macro_rules! errprint {
    ($($arg:tt)*) => {
        $crate::output::write_or_exit($crate::output::Stream::Stderr, format_args!($($arg)*))
    };
}

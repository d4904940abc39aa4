//! `chronos slt FILE...`: runs sqllogictest files against a fresh in-memory engine each and
//! prints `FILE: N passed, M failed, K skipped` per file.
//!
//! Two layouts of expected results, chosen by extension: `.test` files are SQLite's corpus
//! (one value per line, hash threshold 8); every other file (our `.slt`) is row-wise (one row
//! per line, values separated by spaces, no hashing unless `hash-threshold N` says so). Values
//! are rendered by the query's type letters as SQLite's harness does (see [`render`]), and
//! records are selected for the engine name `postgresql`.
//!
//! The runner is a small parser of its own ([`parse`]) rather than the `sqllogictest` crate:
//! SQLite's files need comment stripping, conditional `halt`, value-wise results, type-letter
//! rendering and label checks, which together are less code here than adapters around it.
//!
//! [`run_file`] is the entry point for tests.

#[cfg(test)]
mod corpus_tests;
mod parse;
mod render;
mod runner;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub use runner::{SltSummary, run_file};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Each file runs against a fresh in-memory database. `.test` files are read as SQLite's corpus: \
one value per line, hash threshold 8. Other files (our `.slt`) are row-wise: one row per line, \
values separated by spaces, no hashing unless the file sets `hash-threshold`. Values are \
rendered by the query's type letters (I integer, R with 3 decimals, T text; NULL and (empty)). \
The engine name is postgresql: `skipif postgresql` records are skipped, `onlyif postgresql` ones \
run. Unsupported features fail like other errors. Exit status 1 if any record failed.")]
pub struct SltArgs {
    /// sqllogictest files to run, or directories to search for `*.test` and `*.slt` files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Print the details of at most this many failures per file (to stderr).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub show_failures: usize,
}

/// Lists `path` itself, or the `.test`/`.slt` files under a directory, sorted.
fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if !path.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| anyhow::anyhow!("reading directory {}: {e}", path.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for entry in entries {
        let wanted = entry.extension().is_some_and(|e| e == "test" || e == "slt");
        if entry.is_dir() || wanted {
            collect_files(&entry, out)?;
        }
    }
    Ok(())
}

pub fn run(args: SltArgs) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    for path in &args.files {
        collect_files(path, &mut files)?;
    }
    let mut total = SltSummary::default();
    let mut ok = true;
    for file in &files {
        let name = file.display().to_string();
        match run_file(file) {
            Ok(summary) => {
                outln!("{name}: {summary}");
                for failure in summary.failures.iter().take(args.show_failures) {
                    errprint!("{}", failure.report(&name));
                }
                if summary.failed > args.show_failures {
                    errln!(
                        "{name}: {} more failed records not shown (see --show-failures)",
                        summary.failed - args.show_failures
                    );
                }
                if let Some(line) = summary.halted_at {
                    errln!("{name}: halted at line {line}");
                }
                ok &= summary.failed == 0;
                total.passed += summary.passed;
                total.failed += summary.failed;
                total.skipped += summary.skipped;
            }
            Err(e) => {
                errln!("{name}: error: {e:#}");
                ok = false;
            }
        }
    }
    if files.len() > 1 {
        outln!("total: {total}");
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

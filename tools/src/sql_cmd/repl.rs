//! The interactive shell: rustyline for editing and history, the statement splitter for
//! multi-line input, and psql's meta-commands.
//!
//! The prompt follows psql's `%/%R%x> `: `chronos=> ` at the start of a statement,
//! `chronos-> ` on continuation lines (`'`, `"` or `*` instead of `-` inside a string, a quoted
//! identifier or a block comment), with `*` after it while a transaction block is open.

use std::path::PathBuf;

use anyhow::Context;

use rustyline::error::ReadlineError;
use rustyline::{Config, DefaultEditor};

use super::split::{Lexical, Splitter};
use super::{Printer, SqlTarget, print_error, run_statements};

/// Name of the history file, in the user's home directory.
const HISTORY_FILE: &str = ".chronos_sql_history";
const HISTORY_ENTRIES: usize = 1000;

const HELP: &str = r"General
  \q                 quit (also `quit`, `exit` or Ctrl-D)
  \?                 this help
  \timing [on|off]   toggle (or set) printing how long each statement took
Informational
  \d, \dt            list tables
  \d NAME            describe table NAME (columns, types, keys, indexes)
Input
  Statements end with `;` and may span several lines; Ctrl-C discards the one being typed.";

/// A backslash command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Meta {
    Quit,
    Help,
    /// `\timing` alone toggles (`None`); `on`/`off` set.
    Timing(Option<bool>),
    ListTables,
    Describe(String),
    /// Not understood: the message to print.
    Invalid(String),
}

/// Parses a line starting with `\`.
pub fn parse_meta(line: &str) -> Meta {
    let mut words = line.split_whitespace();
    let command = words.next().unwrap_or_default();
    let args: Vec<&str> = words.collect();
    match (command, args.as_slice()) {
        ("\\q", []) => Meta::Quit,
        ("\\?", []) => Meta::Help,
        ("\\timing", []) => Meta::Timing(None),
        ("\\timing", ["on"]) => Meta::Timing(Some(true)),
        ("\\timing", ["off"]) => Meta::Timing(Some(false)),
        ("\\timing", [other]) => Meta::Invalid(format!(
            "unrecognized value \"{other}\" for \"\\timing\": on or off expected"
        )),
        ("\\d" | "\\dt", []) => Meta::ListTables,
        ("\\d", [name]) => Meta::Describe(unquote(name)),
        _ => Meta::Invalid(format!(
            "invalid command {line}. Try \\? for help.",
            line = line.trim()
        )),
    }
}

/// `"Mixed Case"` names keep their quotes' content; bare names are folded to lower case, as
/// SQL identifiers are.
fn unquote(name: &str) -> String {
    match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => name.to_lowercase(),
    }
}

/// The prompt for the next line.
pub fn prompt(blank: bool, state: Lexical, in_transaction: bool) -> String {
    let position = match state {
        _ if blank => '=',
        Lexical::SingleQuote => '\'',
        Lexical::DoubleQuote => '"',
        Lexical::BlockComment(_) => '*',
        Lexical::Normal | Lexical::LineComment => '-',
    };
    let transaction = if in_transaction { "*" } else { "" };
    format!("chronos{position}{transaction}> ")
}

fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|home| PathBuf::from(home).join(HISTORY_FILE))
}

pub fn run(session: &mut dyn SqlTarget, printer: &mut Printer, place: &str) -> anyhow::Result<()> {
    let config = Config::builder()
        .max_history_size(HISTORY_ENTRIES)
        .context("configuring line editing")?
        .history_ignore_dups(true)
        .context("configuring line editing")?
        .auto_add_history(false)
        .build();
    let mut editor = DefaultEditor::with_config(config).context("starting line editing")?;
    let history = history_path();
    if let Some(path) = &history {
        // A missing history file is the normal first run; anything else is only worth a note.
        if let Err(e) = editor.load_history(path)
            && path.exists()
        {
            eprintln!("warning: could not read history {}: {e}", path.display());
        }
    }

    println!("Chronos SQL shell on {place}. Type \\? for help, \\q to quit.");
    let mut splitter = Splitter::new();
    loop {
        let prompt = prompt(
            splitter.is_blank(),
            splitter.state(),
            session.in_transaction(),
        );
        let line = match editor.readline(&prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                splitter.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e).context("reading input"),
        };
        if !line.trim().is_empty() {
            // Failing to remember a line is not worth stopping for.
            let _ = editor.add_history_entry(line.as_str());
        }
        let trimmed = line.trim();
        if splitter.is_blank() {
            if trimmed.starts_with('\\') {
                if !meta(session, printer, parse_meta(trimmed))? {
                    break;
                }
                continue;
            }
            if trimmed == "quit" || trimmed == "exit" {
                break;
            }
        }
        // With the newline the editor removed: it ends `--` comments and separates lines.
        let statements = splitter.push(&format!("{line}\n"));
        if let Err(e) = run_statements(session, printer, statements) {
            return Err(e).context("writing results");
        }
    }

    if let Some(path) = &history
        && let Err(e) = editor.save_history(path)
    {
        eprintln!("warning: could not save history to {}: {e}", path.display());
    }
    Ok(())
}

/// Runs a meta-command; returns false to quit.
fn meta(session: &mut dyn SqlTarget, printer: &mut Printer, meta: Meta) -> anyhow::Result<bool> {
    match meta {
        Meta::Quit => return Ok(false),
        Meta::Help => println!("{HELP}"),
        Meta::Timing(setting) => {
            printer.timing = setting.unwrap_or(!printer.timing);
            println!("Timing is {}.", if printer.timing { "on" } else { "off" });
        }
        Meta::ListTables => match session.list_tables() {
            Ok(tables) => printer.names("table", &tables)?,
            Err(e) => print_error(&e),
        },
        Meta::Describe(name) => match session.describe_table(&name) {
            Ok(result) => printer.result(&result)?,
            Err(e) => print_error(&e),
        },
        Meta::Invalid(message) => eprintln!("{message}"),
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_commands_parse() {
        assert_eq!(parse_meta("\\q"), Meta::Quit);
        assert_eq!(parse_meta("\\?"), Meta::Help);
        assert_eq!(parse_meta("\\timing"), Meta::Timing(None));
        assert_eq!(parse_meta("\\timing on"), Meta::Timing(Some(true)));
        assert_eq!(parse_meta("\\timing  off "), Meta::Timing(Some(false)));
        assert!(matches!(parse_meta("\\timing maybe"), Meta::Invalid(_)));
        assert_eq!(parse_meta("\\d"), Meta::ListTables);
        assert_eq!(parse_meta("\\dt"), Meta::ListTables);
        assert_eq!(parse_meta("\\d Users"), Meta::Describe("users".into()));
        assert_eq!(
            parse_meta("\\d \"My\"\"T\""),
            Meta::Describe("My\"T".into())
        );
        assert_eq!(
            parse_meta("\\x"),
            Meta::Invalid("invalid command \\x. Try \\? for help.".into())
        );
        assert!(matches!(parse_meta("\\q now"), Meta::Invalid(_)));
    }

    #[test]
    fn prompts_follow_psql() {
        assert_eq!(prompt(true, Lexical::Normal, false), "chronos=> ");
        assert_eq!(prompt(true, Lexical::Normal, true), "chronos=*> ");
        assert_eq!(prompt(false, Lexical::Normal, false), "chronos-> ");
        assert_eq!(prompt(false, Lexical::SingleQuote, true), "chronos'*> ");
        assert_eq!(prompt(false, Lexical::DoubleQuote, false), "chronos\"> ");
        assert_eq!(prompt(false, Lexical::BlockComment(2), false), "chronos*> ");
    }
}

//! The interactive shell: rustyline for editing and history, the statement splitter for
//! multi-line input, and psql's meta-commands.
//!
//! The prompt follows psql's `%/%R%x> `: `chronos=> ` at the start of a statement,
//! `chronos-> ` on continuation lines (`'`, `$`, `"` or `*` instead of `-` inside a string, a
//! dollar-quoted string, a quoted identifier or a block comment), with `*` after it while a
//! transaction block is open.
//!
//! Ctrl-C, decided here after psql and the issue that asked for it: while a statement runs it
//! cancels the statement (see [`super::interrupt`]); at the prompt with something typed it
//! discards the input, as psql does; at an empty prompt it says how to leave, and a second
//! Ctrl-C in a row there exits (psql never exits on Ctrl-C, which surprises people who expect
//! it to; two presses keep one stray press from closing an open transaction).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Config, Editor, Helper};

use super::interrupt::Interrupts;
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
  Statements end with `;` and may span several lines; Ctrl-C discards the one being typed,
  cancels the one running, and twice in a row at an empty prompt quits.";

/// Said after a Ctrl-C at an empty prompt.
const EXIT_HINT: &str = "(To exit, press Ctrl-C again or type \\q.)";

/// Tracks whether the line being edited is empty, so that a Ctrl-C (which the editor reports
/// without the line) can tell an empty prompt from discarded input. The editor asks a helper's
/// hinter after every edit; this one records the answer and shows no hint.
#[derive(Debug, Default)]
struct LineWatcher {
    line_is_empty: Arc<AtomicBool>,
}

impl Hinter for LineWatcher {
    type Hint = String;
    fn hint(&self, line: &str, _pos: usize, _ctx: &rustyline::Context<'_>) -> Option<String> {
        self.line_is_empty.store(line.is_empty(), Ordering::Relaxed);
        None
    }
}

impl Completer for LineWatcher {
    type Candidate = String;
}
impl Highlighter for LineWatcher {}
impl Validator for LineWatcher {}
impl Helper for LineWatcher {}

/// What a Ctrl-C at the prompt does, given what was typed and the key before it.
#[derive(Debug, PartialEq, Eq)]
pub enum OnCtrlC {
    /// Forget the input typed so far.
    Discard,
    /// Nothing typed: say how to exit.
    Hint,
    /// Nothing typed, and the previous key was the same: leave.
    Exit,
}

pub fn on_ctrl_c(nothing_typed: bool, previous_was_ctrl_c_on_empty: bool) -> OnCtrlC {
    match (nothing_typed, previous_was_ctrl_c_on_empty) {
        (false, _) => OnCtrlC::Discard,
        (true, false) => OnCtrlC::Hint,
        (true, true) => OnCtrlC::Exit,
    }
}

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
        Lexical::SingleQuote | Lexical::EscapeString => '\'',
        Lexical::DollarQuote => '$',
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

pub fn run(
    session: &mut dyn SqlTarget,
    printer: &mut Printer,
    interrupts: &Interrupts,
    place: &str,
) -> anyhow::Result<()> {
    let config = Config::builder()
        .max_history_size(HISTORY_ENTRIES)
        .context("configuring line editing")?
        .history_ignore_dups(true)
        .context("configuring line editing")?
        .auto_add_history(false)
        .build();
    let mut editor: Editor<LineWatcher, DefaultHistory> =
        Editor::with_config(config).context("starting line editing")?;
    let watcher = LineWatcher::default();
    let line_is_empty = watcher.line_is_empty.clone();
    editor.set_helper(Some(watcher));
    let history = history_path();
    if let Some(path) = &history {
        // A missing history file is the normal first run; anything else is only worth a note.
        if let Err(e) = editor.load_history(path)
            && path.exists()
        {
            errln!("warning: could not read history {}: {e}", path.display());
        }
    }

    outln!("Chronos SQL shell on {place}. Type \\? for help, \\q to quit.");
    let mut splitter = Splitter::new();
    let mut armed = false;
    loop {
        let prompt = prompt(
            splitter.is_blank(),
            splitter.state(),
            session.in_transaction(),
        );
        line_is_empty.store(true, Ordering::Relaxed);
        let line = match editor.readline(&prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                let nothing_typed = splitter.is_blank() && line_is_empty.load(Ordering::Relaxed);
                match on_ctrl_c(nothing_typed, armed) {
                    OnCtrlC::Discard => splitter.clear(),
                    OnCtrlC::Hint => outln!("{EXIT_HINT}"),
                    OnCtrlC::Exit => break,
                }
                armed = nothing_typed;
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e).context("reading input"),
        };
        armed = false;
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
        if let Err(e) = run_statements(session, printer, interrupts, statements) {
            return Err(e).context("writing results");
        }
    }

    if let Some(path) = &history
        && let Err(e) = editor.save_history(path)
    {
        errln!("warning: could not save history to {}: {e}", path.display());
    }
    Ok(())
}

/// Runs a meta-command; returns false to quit.
fn meta(session: &mut dyn SqlTarget, printer: &mut Printer, meta: Meta) -> anyhow::Result<bool> {
    match meta {
        Meta::Quit => return Ok(false),
        Meta::Help => outln!("{HELP}"),
        Meta::Timing(setting) => {
            printer.timing = setting.unwrap_or(!printer.timing);
            outln!("Timing is {}.", if printer.timing { "on" } else { "off" });
        }
        Meta::ListTables => match session.list_tables() {
            Ok(tables) => printer.names("table", &tables)?,
            Err(e) => print_error(&e),
        },
        Meta::Describe(name) => match session.describe_table(&name) {
            Ok(result) => printer.result(&result)?,
            Err(e) => print_error(&e),
        },
        Meta::Invalid(message) => errln!("{message}"),
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
    fn ctrl_c_discards_input_and_exits_on_the_second_press_at_an_empty_prompt() {
        assert_eq!(on_ctrl_c(false, false), OnCtrlC::Discard);
        assert_eq!(on_ctrl_c(false, true), OnCtrlC::Discard);
        assert_eq!(on_ctrl_c(true, false), OnCtrlC::Hint);
        assert_eq!(on_ctrl_c(true, true), OnCtrlC::Exit);
    }

    #[test]
    fn prompts_follow_psql() {
        assert_eq!(prompt(true, Lexical::Normal, false), "chronos=> ");
        assert_eq!(prompt(true, Lexical::Normal, true), "chronos=*> ");
        assert_eq!(prompt(false, Lexical::Normal, false), "chronos-> ");
        assert_eq!(prompt(false, Lexical::SingleQuote, true), "chronos'*> ");
        assert_eq!(prompt(false, Lexical::DoubleQuote, false), "chronos\"> ");
        assert_eq!(prompt(false, Lexical::BlockComment(2), false), "chronos*> ");
        assert_eq!(prompt(false, Lexical::DollarQuote, false), "chronos$> ");
        assert_eq!(prompt(false, Lexical::EscapeString, false), "chronos'> ");
    }
}

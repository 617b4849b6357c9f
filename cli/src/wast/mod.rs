//! Runs WebAssembly spec test scripts (`.wast`) through the whole kiln
//! pipeline: every module is compiled to a native library by the optimizing
//! compiler, linked, loaded and instantiated exactly as a user's module
//! would be, and every assertion is checked against what the native code
//! does.
//!
//! Each directive ends as passed, failed or unsupported, by these rules:
//!
//! * **Unsupported** only when kiln reports, typed, that it does not
//!   implement a named feature: validation with kiln's feature set stops
//!   at a proposal kiln lacks, the compiler or the runtime returns an
//!   `Unsupported` error naming it, or the directive depends on a module
//!   that was unsupported (see `runner.rs`). The report counts unsupported
//!   directives per feature.
//! * **Failed** for everything else that goes wrong, including a directive
//!   that depends on a module that failed: it fails too, pointing at that
//!   module's line. Nothing is skipped.
//! * `assert_trap` and `assert_exhaustion` compare messages as the
//!   reference interpreter does: the script's text must be a prefix of
//!   kiln's trap message.
//! * `assert_invalid`, `assert_malformed` and `assert_unlinkable` pass only
//!   when the module is rejected in the phase they name (see
//!   `assertions.rs`).
//! * A module whose text the runner cannot assemble is a failure, except
//!   inside `assert_malformed`, where the text parser rejecting it is the
//!   point. A script that does not parse is one failure.
//!
//! The legacy exception-handling scripts write `try` folded, which the
//! `wast` crate no longer reads; they are rewritten to the flat form first
//! (`legacy.rs`).

mod assertions;
mod env;
mod legacy;
mod report;
mod runner;
mod table;
mod threads;
pub mod values;

pub use report::{Failure, Report, Rewording};
pub use table::{format_table, totals_line};

use kiln_llvm::CompileOptions;
use runner::Runner;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::collections::HashMap;
use std::path::Path;
use wast::{Wast, WastDirective};
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};

use report::Outcome;

/// Runs the script at `path`.
pub fn run_file(path: &Path, opts: &CompileOptions) -> Report {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(source) => run_script(&name, &source, opts),
        Err(e) => {
            let mut report = Report::new(&name);
            report.record(0, 0, Outcome::Fail(format!("cannot read the script: {e}")));
            report
        }
    }
}

/// Runs a script given as text; `name` labels the report.
pub fn run_script(name: &str, source: &str, opts: &CompileOptions) -> Report {
    let mut report = Report::new(name);
    let source = legacy::unfold_try(source);
    let parsed = parse_and_run(source.as_ref(), |script, source| run_directives(script, source, opts, &mut report));
    if let Err((line, col, message)) = parsed {
        report.record(line + 1, col + 1, Outcome::Fail(message));
    }
    report
}

/// Parses `source` as a script and hands it to `run`; a script that does
/// not parse is `(line, column, message)`, 0-based.
fn parse_and_run(source: &str, run: impl FnOnce(Wast<'_>, &str)) -> Result<(), (usize, usize, String)> {
    // Spec scripts deliberately use bidi-control and other confusable
    // characters inside names (names.wast); they are valid wasm text.
    let mut lexer = Lexer::new(source);
    lexer.allow_confusing_unicode(true);
    let script = ParseBuffer::new_with_lexer(lexer).and_then(|buf| {
        let script = parser::parse::<Wast>(&buf)?;
        run(script, source);
        Ok(())
    });
    script.map_err(|e| {
        let (line, col) = e.span().linecol_in(source);
        (line, col, format!("cannot parse the script: {}", e.message()))
    })
}

fn run_directives(script: Wast<'_>, source: &str, opts: &CompileOptions, report: &mut Report) {
    let mut runner = match env::Env::new(opts) {
        Ok(env) => Runner::new(env),
        Err(e) => return report.record(0, 0, Outcome::Fail(e)),
    };
    run_in(&mut runner, script.directives, source, 0, opts, &mut |line, col, outcome| report.record(line, col, outcome));
}

/// Runs `directives` (of `source`, whose first line is line `first_line`
/// of the script, 0-based) and records each outcome. `thread` directives
/// start threads that `wait` joins (see `threads`).
fn run_in(
    runner: &mut Runner,
    directives: Vec<WastDirective<'_>>,
    source: &str,
    first_line: usize,
    opts: &CompileOptions,
    record: &mut dyn FnMut(usize, usize, Outcome),
) {
    let mut running: HashMap<String, threads::Thread> = HashMap::new();
    for directive in directives {
        let (line, col) = directive.span().linecol_in(source);
        let line = first_line + line + 1;
        runner.line = line;
        let outcome = match directive {
            WastDirective::Thread(thread) => match threads::spawn(runner, &thread, source, first_line, opts) {
                Ok(handle) => {
                    running.insert(thread.name.name().to_string(), handle);
                    Outcome::Pass
                }
                Err(outcome) => outcome,
            },
            WastDirective::Wait { thread, .. } => match running.remove(thread.name()) {
                Some(handle) => join(handle, record),
                None => Outcome::Fail(format!("no thread ${} is running", thread.name())),
            },
            directive => catch_unwind(AssertUnwindSafe(|| runner.run(directive)))
                .unwrap_or_else(|panic| Outcome::Fail(format!("kiln panicked: {}", panic_message(&panic)))),
        };
        record(line, col + 1, outcome);
    }
    // Threads the script never waited for end with it.
    for (_, handle) in running {
        let outcome = join(handle, record);
        if outcome != Outcome::Pass {
            record(first_line + 1, 1, outcome);
        }
    }
}

/// Waits for a thread and records its directives' outcomes; the outcome
/// of the wait itself.
fn join(thread: threads::Thread, record: &mut dyn FnMut(usize, usize, Outcome)) -> Outcome {
    match thread.join() {
        Ok(outcomes) => {
            outcomes.into_iter().for_each(|(line, col, outcome)| record(line, col, outcome));
            Outcome::Pass
        }
        Err(panic) => Outcome::Fail(format!("the thread panicked: {}", panic_message(&panic))),
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

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
pub mod values;

pub use report::{Failure, Report, Rewording};
pub use table::{format_table, totals_line};

use kiln_llvm::CompileOptions;
use runner::Runner;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use wast::Wast;
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
    let source = source.as_ref();
    // Spec scripts deliberately use bidi-control and other confusable
    // characters inside names (names.wast); they are valid wasm text.
    let mut lexer = Lexer::new(source);
    lexer.allow_confusing_unicode(true);
    let script = ParseBuffer::new_with_lexer(lexer).and_then(|buf| {
        let script = parser::parse::<Wast>(&buf)?;
        run_directives(script, source, opts, &mut report);
        Ok(())
    });
    if let Err(e) = script {
        let (line, col) = e.span().linecol_in(source);
        report.record(line + 1, col + 1, Outcome::Fail(format!("cannot parse the script: {}", e.message())));
    }
    report
}

fn run_directives(script: Wast<'_>, source: &str, opts: &CompileOptions, report: &mut Report) {
    let mut runner = match env::Env::new(opts) {
        Ok(env) => Runner::new(env),
        Err(e) => return report.record(0, 0, Outcome::Fail(e)),
    };
    for directive in script.directives {
        let (line, col) = directive.span().linecol_in(source);
        runner.line = line + 1;
        let outcome = catch_unwind(AssertUnwindSafe(|| runner.run(directive)))
            .unwrap_or_else(|panic| Outcome::Fail(format!("kiln panicked: {}", panic_message(&panic))));
        report.record(line + 1, col + 1, outcome);
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

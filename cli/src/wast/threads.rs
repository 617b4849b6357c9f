//! The threads proposal's script directives: `(thread $T (shared (module
//! $M)) directive...)` runs its directives on a new OS thread, and `(wait
//! $T)` waits for it to end.
//!
//! A thread has an environment of its own (a store, a linker with the
//! `spectest` module), as a wasm thread of an embedder would: stores are
//! not shared between threads. What it shares with the script is the
//! module it names: the shared memories that instance exports, which the
//! thread sees as an instance of the same `$M` — a small module that
//! imports each of them (`SharedMemory` in this thread's store) and
//! exports it under its own name — so the script can `register` it and
//! import its memories as the spec's scripts do. Functions, tables and
//! globals cannot cross stores; a thread that uses them fails at its own
//! directive.
//!
//! The thread's directives are read again from the script's text: each is
//! run exactly as at the top level, and their outcomes are recorded (at
//! their own lines) when the script waits for the thread, or at the end of
//! the script for a thread it never waited for.

use super::env::Env;
use super::report::Outcome;
use super::runner::Runner;
use kiln_llvm::CompileOptions;
use kiln_loader::{Extern, MemoryType, SharedMemory};
use kiln_abi::types::DEFAULT_PAGE_SIZE_LOG2;
use std::thread::JoinHandle;
use wast::WastThread;

/// An outcome at its line and column (1-based).
pub(super) type Recorded = (usize, usize, Outcome);

/// A running thread of the script.
pub(super) type Thread = JoinHandle<Vec<Recorded>>;

/// The shared memories a thread's `$M` stands for: export name and memory.
type Shared = Vec<(String, SharedMemory)>;

/// Starts `thread`, whose text is in `source` (lines of `source` are
/// counted from `first_line`, 0-based).
pub(super) fn spawn(
    runner: &mut Runner,
    thread: &WastThread<'_>,
    source: &str,
    first_line: usize,
    opts: &CompileOptions,
) -> Result<Thread, Outcome> {
    let shared = match thread.shared_module {
        Some(id) => Some((id.name().to_string(), shared_memories(runner, id.name())?)),
        None => None,
    };
    let Some(first) = thread.directives.first() else {
        return Err(Outcome::Fail("a thread without directives".into()));
    };
    // A directive's span is its keyword's; its text starts at the `(`.
    let keyword = first.span().offset();
    let start = source[..keyword].rfind('(').unwrap_or(keyword);
    let thread_open = source[..thread.span.offset()].rfind('(').unwrap_or(0);
    let end = super::legacy::closing_paren(source, thread_open)
        .ok_or_else(|| Outcome::Fail("the thread's `(` is never closed".into()))?;
    let (line, col) = first.span().linecol_in(source);
    // Spaces keep the first directive's column.
    let body = format!("{}{}", " ".repeat(col.saturating_sub(keyword - start)), &source[start..end]);
    let first_line = first_line + line;
    let opts = opts.clone();
    std::thread::Builder::new()
        .name(format!("wast-thread-{}", thread.name.name()))
        .spawn(move || run_thread(&body, first_line, &opts, shared))
        .map_err(|e| Outcome::Fail(format!("cannot start a thread: {e}")))
}

/// The shared memories instance `$id` exports.
fn shared_memories(runner: &mut Runner, id: &str) -> Result<Shared, Outcome> {
    let instance = runner.named_instance(id)?;
    let exports = runner.env.exports(&instance).map_err(Outcome::Fail)?;
    let shared: Shared = exports
        .into_iter()
        .filter_map(|(name, ext)| match ext {
            Extern::Memory(m) => runner.env.shared(m).map(|s| (name, s)),
            _ => None,
        })
        .collect();
    Ok(shared)
}

/// A thread's body: its own environment and runner, `$M` standing for the
/// shared memories, then every directive.
fn run_thread(body: &str, first_line: usize, opts: &CompileOptions, shared: Option<(String, Shared)>) -> Vec<Recorded> {
    let at = |outcome| vec![(first_line + 1, 1, outcome)];
    let mut runner = match Env::new(opts) {
        Ok(env) => Runner::new(env),
        Err(e) => return at(Outcome::Fail(e)),
    };
    if let Some((id, memories)) = shared
        && let Err(e) = stand_in(&mut runner, &id, &memories)
    {
        return at(Outcome::Fail(format!("cannot share ${id} with the thread: {e}")));
    }
    let mut recorded = Vec::new();
    let parsed = super::parse_and_run(body, |script, source| {
        super::run_in(&mut runner, script.directives, source, first_line, opts, &mut |l, c, o| {
            recorded.push((l, c, o))
        })
    });
    if let Err((line, col, message)) = parsed {
        recorded.push((first_line + line, col, Outcome::Fail(message)));
    }
    recorded
}

/// Makes `$id` in the thread's runner an instance exporting `memories`.
fn stand_in(runner: &mut Runner, id: &str, memories: &Shared) -> Result<(), String> {
    let mut text = String::from("(module");
    for (i, (name, memory)) in memories.iter().enumerate() {
        let ty = memory.ty();
        let MemoryType { limits, memory64, .. } = ty;
        let index = if memory64 { "i64 " } else { "" };
        let max = limits.max.map(|m| format!(" {m}")).unwrap_or_default();
        let page_size = if ty.page_size_log2 == DEFAULT_PAGE_SIZE_LOG2 {
            String::new()
        } else {
            format!(" (pagesize {})", ty.page_size())
        };
        let name = name.replace('\\', "\\\\").replace('"', "\\\"");
        text.push_str(&format!(
            " (memory (import \"kiln-shared\" \"{i}\") {index}{}{max} shared{page_size}) (export \"{name}\" (memory {i}))",
            limits.min
        ));
        runner.env.define_shared("kiln-shared", &i.to_string(), memory)?;
    }
    text.push(')');
    let buffer = wast::parser::ParseBuffer::new(&text).map_err(|e| e.to_string())?;
    let mut module = wast::parser::parse::<wast::Wat>(&buffer).map_err(|e| e.to_string())?;
    let wasm = module.encode().map_err(|e| e.to_string())?;
    runner.add_instance(id, &wasm)
}

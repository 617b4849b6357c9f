//! The WASI preview 1 conformance suite (WebAssembly/wasi-testsuite, in
//! `../shared/wasi-testsuite`): 72 `wasm32-wasip1` programs, 14 built from
//! C, 46 from Rust and 12 from AssemblyScript, one test each.
//!
//! Each program runs as its `NAME.json` says (without one: no arguments,
//! exit status 0), the way the suite's own runner runs it under a runtime:
//!
//! * compiled by kiln through the real pipeline (compile, link into a
//!   shared library, load) at `-O1`; `KILN_WASI_OPT=0..3` changes that;
//! * `argv[0]` is the program's path, `args` follow; `env` is the whole
//!   environment;
//! * `root` is copied afresh into a temporary directory (owner-writable, as
//!   in a checkout of the suite, without the `*.cleanup` files runs leave)
//!   and preopened as `/`, so no program touches the shared copy or sees
//!   another's leftovers;
//! * standard input is empty; standard output and error are captured;
//! * the exit status must be `exit_code` (default 0): the `proc_exit` code,
//!   0 when `_start` returns, 134 when the wasm code traps (what `kiln run`
//!   and the reference runtime report);
//! * `stdout` and `stderr`, where given, must be exactly what the program
//!   wrote. Where not given they are not checked, as the suite's runner
//!   does not: several programs print diagnostics no expectation names
//!   (the rights of a preopen, the subscriptions being polled).
//!
//! A key the runner does not know (such as the newer `operations` form,
//! which no `wasm32-wasip1` program uses) fails the test rather than being
//! ignored. After the run a table gives passed/failed per language. The
//! test `runner-detects-wrong-expectations` shows that a wrong exit status,
//! a wrong or unexpected output and a trap are each reported as failures.

use anyhow::{Context, Result, bail};
use kiln::{CompileOptions, Emit, OptLevel};
use kiln_loader::{Engine, Linker, Module, Store};
use kiln_tests::wasi_testsuite_dir;
use kiln_wasi::{InputPipe, OutputPipe, WasiCtxBuilder, add_to_linker, exit_code};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The suite's languages: folder under `tests/`, name, number of programs.
const LANGUAGES: [(&str, &str, usize); 3] =
    [("c", "C", 14), ("rust", "Rust", 46), ("assemblyscript", "AssemblyScript", 12)];

/// The exit status a trap is reported as (128 + SIGABRT).
const TRAP_STATUS: i32 = 134;

/// How a program is run and what it must do: its `NAME.json`.
#[derive(Clone, Debug, Default, PartialEq)]
struct Spec {
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// The host directory preopened as `/` (a fresh copy of it).
    root: Option<PathBuf>,
    exit_code: i32,
    stdout: Option<String>,
    stderr: Option<String>,
}

impl Spec {
    /// Parses the JSON `text` found in the directory `dir`.
    fn parse(text: &str, dir: &Path) -> Result<Spec> {
        let Value::Object(fields) = serde_json::from_str(text)? else { bail!("not a JSON object") };
        let mut spec = Spec::default();
        for (key, value) in fields {
            let field = || format!("`{key}`");
            match key.as_str() {
                "args" => spec.args = strings(&value).with_context(field)?,
                "env" => {
                    let Value::Object(vars) = &value else { bail!("`env` is not an object") };
                    for (name, value) in vars {
                        let Some(value) = value.as_str() else { bail!("`env`: `{name}` is not a string") };
                        spec.env.push((name.clone(), value.to_string()));
                    }
                }
                "root" => match &value {
                    Value::Null => spec.root = None,
                    Value::String(root) => spec.root = Some(dir.join(root)),
                    _ => bail!("`root` is neither a string nor null"),
                },
                "exit_code" => {
                    spec.exit_code = value
                        .as_i64()
                        .and_then(|c| i32::try_from(c).ok())
                        .with_context(|| format!("`exit_code` is not a 32-bit integer: {value}"))?
                }
                "stdout" => spec.stdout = Some(string(&value).with_context(field)?),
                "stderr" => spec.stderr = Some(string(&value).with_context(field)?),
                other => bail!(
                    "unknown key `{other}`: this runner knows the suite's legacy form \
                     (args, env, root, exit_code, stdout, stderr)"
                ),
            }
        }
        Ok(spec)
    }

    /// The specification of the program `wasm`: `NAME.json` beside it, or
    /// the default.
    fn of(wasm: &Path) -> Result<Spec> {
        let json = wasm.with_extension("json");
        match std::fs::read_to_string(&json) {
            Ok(text) => {
                Spec::parse(&text, wasm.parent().unwrap_or(Path::new("."))).with_context(|| json.display().to_string())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Spec::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", json.display())),
        }
    }
}

fn string(value: &Value) -> Result<String> {
    value.as_str().map(String::from).with_context(|| format!("{value} is not a string"))
}

fn strings(value: &Value) -> Result<Vec<String>> {
    let Value::Array(items) = value else { bail!("{value} is not an array") };
    items.iter().map(string).collect()
}

/// What a run did.
struct Outcome {
    status: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// The trap that ended the run, if one did.
    trap: Option<String>,
}

fn options() -> CompileOptions {
    let opt_level = match std::env::var("KILN_WASI_OPT").as_deref() {
        Ok("0") => OptLevel::O0,
        Ok("2") => OptLevel::O2,
        Ok("3") => OptLevel::O3,
        _ => OptLevel::O1,
    };
    CompileOptions { opt_level, ..CompileOptions::default() }
}

/// Compiles `wasm` (its bytes; `name` for messages) into a shared library
/// in `dir`.
fn compile(wasm: &[u8], name: &Path, dir: &Path) -> Result<PathBuf> {
    let library = dir.join("program.so");
    kiln::compile_to_file(wasm, name, &options(), Emit::SharedLibrary, &library)?;
    Ok(library)
}

/// Copies the directory `from` to `to`, symlinks as symlinks, leaving out
/// what earlier runs left (`*.cleanup`, as the suite's runner deletes
/// them) and giving the owner write access, which the read-only shared
/// copy lacks.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("listing {}", from.display()))? {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&source)?, &target)?;
        } else if entry.file_name().to_string_lossy().ends_with(".cleanup") {
            continue;
        } else if kind.is_dir() {
            copy_tree(&source, &target)?;
        } else {
            std::fs::copy(&source, &target).with_context(|| format!("copying {}", source.display()))?;
            let mut permissions = std::fs::metadata(&target)?.permissions();
            permissions.set_mode(permissions.mode() | 0o200);
            std::fs::set_permissions(&target, permissions)?;
        }
    }
    Ok(())
}

/// Runs the compiled program `library` as `spec` says, `argv0` its name.
fn run(library: &Path, argv0: &str, spec: &Spec) -> Result<Outcome> {
    let sandbox = tempfile::tempdir()?;
    let engine = Engine::default();
    let module = Module::from_file(&engine, library)?;
    let mut store = Store::new(&engine);
    let mut linker = Linker::new(&engine);
    let (stdout, stderr) = (OutputPipe::new(), OutputPipe::new());
    let mut wasi = WasiCtxBuilder::new();
    wasi.arg(argv0).args(&spec.args).stdin(InputPipe::new(Vec::new())).stdout(stdout.clone()).stderr(stderr.clone());
    for (name, value) in &spec.env {
        wasi.env(name, value);
    }
    if let Some(root) = &spec.root {
        let copy = sandbox.path().join("root");
        copy_tree(root, &copy)?;
        wasi.preopened_dir(&copy, "/")?;
    }
    add_to_linker(&mut linker, &mut store, wasi.build())?;
    let instance = linker.instantiate(&mut store, &module)?;
    let start = instance.get_typed_func::<(), ()>(&store, "_start")?;
    let (status, trap) = match start.call(&mut store, ()) {
        Ok(()) => (0, None),
        Err(e) => match exit_code(&e) {
            Some(code) => (code, None),
            None if e.as_trap().is_some() => (TRAP_STATUS, Some(e.to_string())),
            None => return Err(e.into()),
        },
    };
    Ok(Outcome { status, stdout: stdout.contents(), stderr: stderr.contents(), trap })
}

/// Why `outcome` falls short of `spec`, if it does.
fn verdict(spec: &Spec, outcome: &Outcome) -> Result<(), String> {
    let mut problems = Vec::new();
    if outcome.status != spec.exit_code {
        let trap = outcome.trap.as_deref().map(|t| format!(" ({t})")).unwrap_or_default();
        problems.push(format!("exit status {}{trap}, expected {}", outcome.status, spec.exit_code));
    }
    for (stream, expected, got) in
        [("stdout", &spec.stdout, &outcome.stdout), ("stderr", &spec.stderr, &outcome.stderr)]
    {
        if let Some(expected) = expected
            && got != expected.as_bytes()
        {
            problems.push(format!("{stream} {:?}, expected {expected:?}", String::from_utf8_lossy(got)));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let mut message = problems.join("\n");
    for (stream, bytes) in [("stdout", &outcome.stdout), ("stderr", &outcome.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        let tail: String = text.chars().rev().take(2000).collect::<Vec<_>>().into_iter().rev().collect();
        if !tail.is_empty() {
            message.push_str(&format!("\n--- {stream} (end) ---\n{tail}"));
        }
    }
    Err(message)
}

/// Compiles and runs the suite's program `wasm` and judges it.
fn conformance(wasm: &Path) -> Result<(), Failed> {
    let failed = |e: anyhow::Error| Failed::from(format!("{e:#}"));
    let spec = Spec::of(wasm).map_err(failed)?;
    let scratch = tempfile::tempdir().map_err(|e| failed(e.into()))?;
    let bytes = std::fs::read(wasm).map_err(|e| failed(e.into()))?;
    let library = compile(&bytes, wasm, scratch.path()).map_err(failed)?;
    let outcome = run(&library, &wasm.to_string_lossy(), &spec).map_err(failed)?;
    verdict(&spec, &outcome).map_err(Failed::from)
}

/// The `.wasm` files in `dir`, sorted.
fn programs(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    let mut programs: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .collect();
    programs.sort();
    programs
}

fn main() {
    let args = Arguments::from_args();
    let root = wasi_testsuite_dir();
    assert!(
        root.join("MANIFEST.md").is_file(),
        "WASI testsuite not found at {}; set KILN_WASI_TESTSUITE",
        root.display()
    );
    // (language index, test name, passed)
    let results = Arc::new(Mutex::new(Vec::<(usize, String, bool)>::new()));
    let mut trials = Vec::new();
    for (index, (folder, language, count)) in LANGUAGES.into_iter().enumerate() {
        let dir = root.join("tests").join(folder).join("testsuite/wasm32-wasip1");
        let programs = programs(&dir);
        assert_eq!(
            programs.len(),
            count,
            "{language}: {} programs in {}, expected {count}",
            programs.len(),
            dir.display()
        );
        for wasm in programs {
            let stem = wasm.file_stem().unwrap_or_default().to_string_lossy().into_owned();
            let name = format!("{folder}/{stem}");
            let results = Arc::clone(&results);
            trials.push(Trial::test(name.clone(), move || {
                let verdict = conformance(&wasm);
                results.lock().unwrap_or_else(|e| e.into_inner()).push((index, name, verdict.is_ok()));
                verdict
            }));
        }
    }
    trials.push(Trial::test("runner-detects-wrong-expectations", runner_detects_wrong_expectations));
    trials.push(Trial::test("spec-files-are-read-strictly", spec_files_are_read_strictly));
    trials.push(Trial::test("roots-are-fresh-writable-copies", roots_are_fresh_writable_copies));
    let conclusion = libtest_mimic::run(&args, trials);

    let results = results.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if !results.is_empty() {
        println!("\nWASI testsuite (kiln, {:?}):\n", options().opt_level);
        println!("{:<16} {:>7} {:>7} {:>7}", "language", "passed", "failed", "total");
        let line = |name: &str, picked: &[&(usize, String, bool)]| {
            let passed = picked.iter().filter(|r| r.2).count();
            println!("{name:<16} {passed:>7} {:>7} {:>7}", picked.len() - passed, picked.len());
        };
        for (index, (_, language, _)) in LANGUAGES.iter().enumerate() {
            line(language, &results.iter().filter(|r| r.0 == index).collect::<Vec<_>>());
        }
        line("all", &results.iter().collect::<Vec<_>>());
        let mut failed: Vec<&str> = results.iter().filter(|r| !r.2).map(|r| r.1.as_str()).collect();
        failed.sort();
        if !failed.is_empty() {
            println!("failed: {}", failed.join(", "));
        }
    }
    conclusion.exit();
}

/// Runs `wasm` (binary or text) as `spec` says and judges it.
fn judge(wasm: &[u8], spec: &Spec) -> Result<Result<(), String>> {
    let scratch = tempfile::tempdir()?;
    let library = compile(wasm, Path::new("test.wasm"), scratch.path())?;
    Ok(verdict(spec, &run(&library, "test.wasm", spec)?))
}

/// A wrong exit status, a wrong output (also a prefix of the right one)
/// and a trap fail; the right expectations pass.
fn runner_detects_wrong_expectations() -> Result<(), Failed> {
    let suite = wasi_testsuite_dir().join("tests/assemblyscript/testsuite/wasm32-wasip1");
    let read = |name: &str| std::fs::read(suite.join(name)).map_err(|e| format!("{name}: {e}"));
    // Writes "hello" to stdout; exits with 33; writes "err" to stderr, then traps.
    let hello = read("fd_write-to-stdout.wasm")?;
    let exit33 = read("proc_exit-failure.wasm")?;
    let trap = wat::parse_str(
        r#"(module
            (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 8) "\10\00\00\00\03\00\00\00")
            (data (i32.const 16) "err")
            (func (export "_start")
                (drop (call $write (i32.const 2) (i32.const 8) (i32.const 1) (i32.const 0)))
                unreachable))"#,
    )
    .map_err(|e| e.to_string())?;
    let spec = |exit_code: i32, stdout: Option<&str>, stderr: Option<&str>| Spec {
        exit_code,
        stdout: stdout.map(String::from),
        stderr: stderr.map(String::from),
        ..Spec::default()
    };
    let cases: [(&[u8], Spec, bool); 11] = [
        (&hello, spec(0, Some("hello"), None), true),
        (&hello, spec(0, None, None), true),
        (&hello, spec(0, Some("hell"), None), false),
        (&hello, spec(0, Some("hello\n"), None), false),
        (&hello, spec(0, Some(""), None), false),
        (&hello, spec(1, Some("hello"), None), false),
        (&hello, spec(0, Some("hello"), Some("noise")), false),
        (&exit33, spec(33, None, None), true),
        (&exit33, spec(0, None, None), false),
        (&trap, spec(0, None, None), false),
        (&trap, spec(TRAP_STATUS, Some(""), Some("err")), true),
    ];
    for (wasm, spec, passes) in cases {
        let verdict = judge(wasm, &spec).map_err(|e| format!("{e:#}"))?;
        if verdict.is_ok() != passes {
            return Err(
                format!("{spec:?}: expected to {}, got {verdict:?}", if passes { "pass" } else { "fail" }).into()
            );
        }
    }
    // A failing trap names the trap.
    let message = judge(&trap, &spec(0, None, None)).map_err(|e| format!("{e:#}"))?.unwrap_err();
    if !message.contains("unreachable") {
        return Err(format!("the trap is not named: {message}").into());
    }
    Ok(())
}

/// The JSON files are read as the suite defines them, and anything else
/// is an error, never silently ignored.
fn spec_files_are_read_strictly() -> Result<(), Failed> {
    let dir = Path::new("/suite/tests");
    let spec = Spec::parse(
        r#"{"args": ["a", "b c"], "env": {"z": "1", "a": "new\nline"}, "root": "fs-tests.dir", "exit_code": 33, "stdout": "x"}"#,
        dir,
    )
    .map_err(|e| format!("{e:#}"))?;
    let expected = Spec {
        args: vec!["a".into(), "b c".into()],
        env: vec![("z".into(), "1".into()), ("a".into(), "new\nline".into())],
        root: Some(dir.join("fs-tests.dir")),
        exit_code: 33,
        stdout: Some("x".into()),
        stderr: None,
    };
    if spec != expected {
        return Err(format!("{spec:?}\n!= {expected:?}").into());
    }
    if Spec::parse(r#"{"root": null}"#, dir).map_err(|e| e.to_string())? != Spec::default() {
        return Err("`root: null` is no root".into());
    }
    for (text, error) in [
        (r#"{"operations": []}"#, "unknown key `operations`"),
        (r#"{"args": "a b"}"#, "`args`"),
        (r#"{"args": [1]}"#, "`args`"),
        (r#"{"env": {"a": 1}}"#, "`env`: `a`"),
        (r#"{"exit_code": "1"}"#, "`exit_code`"),
        (r#"{"exit_code": 4294967296}"#, "`exit_code`"),
        (r#"{"stdout": null}"#, "`stdout`"),
        (r#"[]"#, "not a JSON object"),
        (r#"{"args": []"#, "EOF"),
    ] {
        match Spec::parse(text, dir) {
            Ok(spec) => return Err(format!("{text} was accepted as {spec:?}").into()),
            Err(e) if format!("{e:#}").contains(error) => {}
            Err(e) => return Err(format!("{text}: the error `{e:#}` does not mention {error}").into()),
        }
    }
    Ok(())
}

/// A root is copied with its symlinks, without `*.cleanup`, and writable.
fn roots_are_fresh_writable_copies() -> Result<(), Failed> {
    use std::os::unix::fs::PermissionsExt;
    let io = |e: std::io::Error| Failed::from(e.to_string());
    let tmp = tempfile::tempdir().map_err(io)?;
    let (from, to) = (tmp.path().join("from"), tmp.path().join("to"));
    std::fs::create_dir_all(from.join("sub/old.cleanup")).map_err(io)?;
    std::fs::write(from.join("sub/file"), "data").map_err(io)?;
    std::fs::write(from.join("left.cleanup"), "").map_err(io)?;
    std::os::unix::fs::symlink("sub/file", from.join("link")).map_err(io)?;
    std::fs::set_permissions(from.join("sub/file"), std::fs::Permissions::from_mode(0o444)).map_err(io)?;
    copy_tree(&from, &to).map_err(|e| format!("{e:#}"))?;
    let mode = std::fs::metadata(to.join("sub/file")).map_err(io)?.permissions().mode();
    let checks = [
        (std::fs::read_to_string(to.join("sub/file")).ok().as_deref() == Some("data"), "the file is copied"),
        (mode & 0o200 != 0, "the copy is writable"),
        (std::fs::read_link(to.join("link")).ok() == Some(PathBuf::from("sub/file")), "the symlink is copied"),
        (!to.join("left.cleanup").exists() && !to.join("sub/old.cleanup").exists(), "no *.cleanup is copied"),
    ];
    match checks.iter().find(|(ok, _)| !ok) {
        Some((_, what)) => Err(format!("{what}: not so").into()),
        None => Ok(()),
    }
}

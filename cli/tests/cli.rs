//! The `kiln` command, end to end: the happy path, and bad input of every
//! kind. Bad input must give exactly one line on stderr that names what is
//! wrong and where, a non-zero exit code (never a signal or a Rust panic),
//! and no output file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn kiln(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
    // Keep `kiln run`'s compiled-artifact cache out of the user's home.
    cmd.env("KILN_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-test-cache"));
    for a in args {
        cmd.arg(a);
    }
    cmd.output().expect("kiln runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts a clean failure and returns its one-line message.
fn fails(o: &Output) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "expected exit code 1, got {:?}; stderr: {err}", o.status);
    assert!(!err.contains("panicked") && !err.contains("internal error"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line expected: {err}");
    err
}

fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p
}

const GOOD: &str = r#"(module
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "pair") (param f64) (result f64 i64) (f64.sqrt (local.get 0)) (i64.const -5)))"#;

fn compiled(dir: &Path, extra: &[&str]) -> PathBuf {
    let wat = write(dir, "good.wat", GOOD);
    let lib = dir.join("good.so");
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"compile", &wat, &"-o", &lib];
    for e in extra {
        args.push(e);
    }
    let o = kiln(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    lib
}

#[test]
fn compile_run_and_inspect_a_module() {
    let dir = tempfile::tempdir().unwrap();
    let lib = compiled(dir.path(), &[]);
    let o = kiln(&[&"run", &lib, &"--invoke", &"add", &"40", &"2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "42\n");
    let o = kiln(&[&"run", &lib, &"--invoke", &"pair", &"2.25"]);
    assert_eq!(stdout(&o), "1.5\n-5\n");
    // A .wat is compiled on the fly.
    let o = kiln(&[&"run", &dir.path().join("good.wat"), &"--invoke", &"add", &"-1", &"0x10"]);
    assert_eq!(stdout(&o), "15\n", "{}", stderr(&o));

    let o = kiln(&[&"inspect", &lib]);
    let text = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    for expected in ["x86_64-unknown-linux-gnu", "add: (func (param i32 i32) (result i32))", "3 defined, 0 imported", "format:"] {
        assert!(text.contains(expected), "`{expected}` missing from:\n{text}");
    }
}

/// Same input, same bytes, for every target, whatever the output is
/// called (the name never reaches the file: not in a soname, an install
/// name, a code signature or a DLL's export directory).
#[test]
fn same_input_compiles_to_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let wat = write(dir.path(), "m.wat", GOOD);
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    for (triple, _) in kiln_abi::target::SUPPORTED {
        let (a, b) = (dir.path().join(format!("a-{triple}")), dir.path().join(format!("sub/b-{triple}.lib")));
        for out in [&a, &b] {
            let o = kiln(&[&"compile", &wat, &"-o", out, &"-O3", &"--target", triple]);
            assert!(o.status.success(), "{triple}: {}", stderr(&o));
        }
        assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap(), "{triple}");
    }
}

#[test]
fn a_trap_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let lib = compiled(dir.path(), &[]);
    let o = kiln(&[&"run", &lib, &"--invoke", &"div", &"1", &"0"]);
    // A trap exits like a native program that aborts, distinct from kiln's own failures (1).
    assert_eq!(o.status.code(), Some(134), "{o:?}");
    let err = stderr(&o);
    assert_eq!(err.trim_end().lines().count(), 1, "one line expected: {err}");
    assert!(err.contains("integer divide by zero") && err.contains("`div`") && err.contains("good.so"), "{err}");
}

/// Recursion 100 000 deep needs more than the default 1 MiB of wasm
/// stack (each frame keeps its argument across the call) and fits in
/// `--max-wasm-stack 64M`; a size kiln cannot read is a usage error.
#[test]
fn the_wasm_stack_limit_can_be_raised() {
    let dir = tempfile::tempdir().unwrap();
    let wat = write(
        dir.path(),
        "deep.wat",
        r#"(module (func $sum (export "sum") (param i64) (result i64)
             (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 0))
               (else (i64.add (local.get 0) (call $sum (i64.sub (local.get 0) (i64.const 1))))))))"#,
    );
    let o = kiln(&[&"run", &wat, &"--invoke", &"sum", &"100000"]);
    assert_eq!(o.status.code(), Some(134), "{o:?}");
    assert!(stderr(&o).contains("call stack exhausted"), "{}", stderr(&o));
    let o = kiln(&[&"run", &wat, &"--max-wasm-stack", &"64M", &"--invoke", &"sum", &"100000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "5000050000");
    for (size, wanted) in [("lots", "`lots` is not a size such as 512K or 8M"), ("8X", "the unit must be K, M or G")] {
        let o = kiln(&[&"run", &wat, &"--max-wasm-stack", &size, &"--invoke", &"sum", &"1"]);
        assert_eq!(o.status.code(), Some(2), "a usage error: {o:?}");
        assert!(stderr(&o).contains(wanted), "{}", stderr(&o));
    }
}

#[test]
fn missing_input_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.so");
    let err = fails(&kiln(&[&"compile", &dir.path().join("nope.wasm"), &"-o", &out]));
    assert!(err.contains("cannot read") && err.contains("nope.wasm"), "{err}");
    assert!(!out.exists());
}

#[test]
fn malformed_wasm_names_the_offset() {
    let dir = tempfile::tempdir().unwrap();
    // A valid header, then a type section whose size runs past the end.
    let bad = write(dir.path(), "bad.wasm", b"\0asm\x01\0\0\0\x01\x7f\x01\x60");
    let out = dir.path().join("out.so");
    let err = fails(&kiln(&[&"compile", &bad, &"-o", &out]));
    assert!(err.contains("bad.wasm") && err.contains("offset"), "{err}");
    assert!(!out.exists());
}

#[test]
fn invalid_wasm_names_function_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let wat = write(
        dir.path(),
        "invalid.wat",
        r#"(module (func) (func)
             (func (result i32) (i64.const 1)))"#,
    );
    let out = dir.path().join("out.so");
    std::fs::write(&out, b"keep me").unwrap();
    let err = fails(&kiln(&[&"compile", &wat, &"-o", &out]));
    assert!(err.contains("invalid.wat") && err.contains("function 2") && err.contains("offset 0x"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me", "a failed compile must not touch the output");
}

#[test]
fn wat_syntax_error_names_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let wat = write(dir.path(), "typo.wat", "(module\n  (func (i32.ad)))");
    let err = fails(&kiln(&[&"compile", &wat, &"-o", &dir.path().join("o.so")]));
    assert!(err.contains("typo.wat:2:"), "{err}");
}

#[test]
fn truncated_library() {
    let dir = tempfile::tempdir().unwrap();
    let lib = compiled(dir.path(), &[]);
    let bytes = std::fs::read(&lib).unwrap();
    let cut = write(dir.path(), "cut.so", &bytes[..bytes.len() / 2]);
    let err = fails(&kiln(&[&"run", &cut, &"--invoke", &"add", &"1", &"2"]));
    assert!(err.contains("cut.so"), "{err}");
    let err = fails(&kiln(&[&"inspect", &cut]));
    assert!(err.contains("cut.so"), "{err}");
}

#[test]
fn flipped_byte_in_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let lib = compiled(dir.path(), &[]);
    let mut bytes = std::fs::read(&lib).unwrap();
    let at = bytes.windows(8).position(|w| w == b"KILNMETA").expect("metadata present");
    bytes[at + kiln_abi::artifact::HEADER_SIZE + 5] ^= 0x01;
    let bad = write(dir.path(), "flipped.so", &bytes);
    // `run` checks the whole library (its seal), `inspect` the metadata
    // (its checksum).
    let err = fails(&kiln(&[&"run", &bad, &"--invoke", &"add", &"1", &"2"]));
    assert!(err.contains("flipped.so") && err.contains("it is damaged"), "{err}");
    let err = fails(&kiln(&[&"inspect", &bad]));
    assert!(err.contains("checksum"), "{err}");
}

/// Every other target's library is refused by the loader, naming both
/// targets, and inspected from the file alone (ELF, Mach-O, PE alike).
#[test]
fn library_for_another_target() {
    let dir = tempfile::tempdir().unwrap();
    let host = kiln_abi::target::Target::host().name();
    for (triple, cpu) in kiln_abi::target::SUPPORTED.iter().filter(|(t, _)| *t != host) {
        let lib = compiled(dir.path(), &["--target", triple]);
        let err = fails(&kiln(&[&"run", &lib, &"--invoke", &"add", &"1", &"2"]));
        assert!(err.contains(&format!("built for {triple}, this host is {host}")), "{err}");
        let o = kiln(&[&"inspect", &lib]);
        let text = stdout(&o);
        assert!(o.status.success(), "{triple}: {}", stderr(&o));
        let target_line = format!("target:      {triple} (cpu {cpu};");
        let add = "add: (func (param i32 i32) (result i32))";
        for expected in [target_line.as_str(), add, "exports:     3", "imports:     0"] {
            assert!(text.contains(expected), "{triple}: `{expected}` missing from:\n{text}");
        }
    }
}

#[test]
fn targets_lists_all_six_with_their_cpu() {
    let o = kiln(&[&"targets"]);
    assert!(o.status.success());
    let text = stdout(&o);
    let host = kiln_abi::target::Target::host().name();
    for (triple, cpu) in [
        ("x86_64-unknown-linux-gnu", "x86-64-v2"),
        ("aarch64-unknown-linux-gnu", "generic"),
        ("riscv64gc-unknown-linux-gnu", "generic-rv64"),
        ("x86_64-apple-darwin", "x86-64-v2"),
        ("aarch64-apple-darwin", "generic"),
        ("x86_64-pc-windows-msvc", "x86-64-v2"),
    ] {
        let line = text.lines().find(|l| l.split_whitespace().next() == Some(triple));
        let line = line.unwrap_or_else(|| panic!("{triple} missing:\n{text}"));
        assert_eq!(line.split_whitespace().nth(1), Some(cpu), "{line}");
        assert_eq!(line.contains("(host)"), triple == host, "{line}");
    }
    assert_eq!(text.matches("(host)").count(), 1, "{text}");
}

#[test]
fn not_a_kiln_library() {
    let dir = tempfile::tempdir().unwrap();
    let text = write(dir.path(), "notes.so", "just text");
    let err = fails(&kiln(&[&"inspect", &text]));
    assert!(err.contains("notes.so"), "{err}");
    let err = fails(&kiln(&[&"run", &text, &"--invoke", &"f"]));
    assert!(err.contains("notes.so"), "{err}");
}

#[test]
fn usage_errors_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let lib = compiled(dir.path(), &[]);
    let err = fails(&kiln(&[&"run", &lib, &"--invoke", &"nosuch"]));
    assert!(err.contains("nosuch") && err.contains("`add`"), "{err}");
    let err = fails(&kiln(&[&"run", &lib, &"--invoke", &"add", &"1"]));
    assert!(err.contains("takes 2 argument"), "{err}");
    let err = fails(&kiln(&[&"run", &lib, &"--invoke", &"add", &"1", &"x"]));
    assert!(err.contains("`x` is not an integer"), "{err}");
    let err = fails(&kiln(&[&"compile", &dir.path().join("good.wat"), &"-o", &dir.path().join("o.so"), &"--target", &"mips-unknown-linux-gnu"]));
    assert!(err.contains("not supported"), "{err}");
}

#[test]
fn wast_reports_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(
        dir.path(),
        "t.wast",
        r#"(module (func (export "f") (result i32) (i32.const 7)))
           (assert_return (invoke "f") (i32.const 7))
           (assert_return (invoke "f") (i32.const 8))
           (assert_invalid (module (func (result i32))) "type mismatch")"#,
    );
    let o = kiln(&[&"wast", &script]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.trim_end().ends_with("3 passed, 1 failed, 0 unsupported"), "{out}");
    assert!(stderr(&o).contains("t.wast:3:"), "{}", stderr(&o));
}

/// `--cpu native` records every feature LLVM sees on this host; the loader
/// on the same host must be able to check all of them and run the code.
#[test]
fn native_cpu_library_runs_here() {
    let dir = tempfile::tempdir().unwrap();
    let lib = compiled(dir.path(), &["--cpu", "native"]);
    let o = kiln(&[&"run", &lib, &"--invoke", &"add", &"40", &"2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "42\n");
    let o = kiln(&[&"run", &dir.path().join("good.wat"), &"--cpu", &"native", &"--invoke", &"add", &"1", &"2"]);
    assert_eq!(stdout(&o), "3\n", "{}", stderr(&o));
}

/// `-o -` is standard output, as for clang: text outputs are printed, a
/// binary output is refused, and no file named `-` is ever written.
#[test]
fn dash_output_is_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    let wat = write(dir.path(), "good.wat", GOOD);
    let run_in_dir = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
        cmd.current_dir(dir.path()).arg("compile").arg(&wat).args(args);
        cmd.output().expect("kiln runs")
    };
    let o = run_in_dir(&["--emit", "llvm-ir", "-o", "-"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("define"), "IR on stdout expected:\n{}", stdout(&o));
    let o = run_in_dir(&["--emit", "asm", "-o", "-"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!o.stdout.is_empty());
    let o = run_in_dir(&["-o", "-"]);
    let err = fails(&o);
    assert!(err.contains("-o -") && err.contains("shared library"), "{err}");
    assert!(!dir.path().join("-").exists(), "a file named `-` was written");
}

/// A reader that stops early (`kiln inspect x.so | head -1`) ends kiln
/// quietly, as it ends any Unix tool: no panic, nothing on stderr.
#[test]
fn closed_stdout_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    // More exports than a pipe buffers (64 KiB of report), so that kiln is
    // still writing when the reader goes.
    let functions: String = (0..4000).map(|i| format!("(func (export \"function_number_{i}\"))\n")).collect();
    let wat = write(dir.path(), "many.wat", format!("(module {functions})"));
    let lib = dir.path().join("many.so");
    let o = kiln(&[&"compile", &wat, &"-O0", &"-o", &lib]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("inspect")
        .arg(&lib)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kiln runs");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut first).expect("one line");
    // The pipe is closed here, with the rest of the report unread.
    let output = child.wait_with_output().expect("kiln ends");
    assert!(first.starts_with("file:"), "{first}");
    let err = stderr(&output);
    assert!(!err.contains("panicked") && !err.contains("internal error"), "{err}");
}

/// `kiln inspect` on a module lists the proposals it uses, by the names
/// `--features` takes; turning one off refuses the module, naming the
/// proposal and where it is used, and writes nothing.
#[test]
fn proposals_are_listed_and_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let module = write(
        dir.path(),
        "m.wat",
        "(module (memory 1) (memory 1) (func $f (param v128)) (func $g (return_call $g)))",
    );
    let out = kiln(&[&"inspect", &module]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: Vec<String> =
        stdout(&out).lines().filter(|l| l.starts_with("  ")).map(|l| l.split_whitespace().next().unwrap().into()).collect();
    assert_eq!(listed, ["simd", "multi-memory", "tail-call"], "{}", stdout(&out));

    let lib = dir.path().join("m.so");
    let err = fails(&kiln(&[&"compile", &module, &"--features", &"-tail-call", &"-o", &lib]));
    assert!(err.contains("uses tail calls, which `--features -tail-call` turned off (function 1, at offset"), "{err}");
    assert!(!lib.exists());
    let err = fails(&kiln(&[&"compile", &module, &"--features=+avx2,-simd", &"-o", &lib]));
    assert!(err.contains("uses SIMD, which `--features -simd` turned off"), "{err}");
    assert!(!lib.exists());
    let err = fails(&kiln(&[&"compile", &module, &"--features", &"+gc", &"-o", &lib]));
    assert!(err.contains("does not implement GC yet"), "{err}");
    let throws = write(dir.path(), "t.wat", "(module (tag $e) (func (block (try_table (catch_all 0) (throw $e)))))");
    let out = kiln(&[&"inspect", &throws]);
    assert!(stdout(&out).contains("  exceptions"), "{}", stdout(&out));
    let err = fails(&kiln(&[&"compile", &throws, &"--features", &"-exceptions", &"-o", &lib]));
    assert!(err.contains("uses exception handling, which `--features -exceptions` turned off"), "{err}");
    assert!(!lib.exists());
    // What it does not use may be turned off.
    let out = kiln(&[&"compile", &module, &"--features=-relaxed-simd,-wide-arithmetic", &"-o", &lib]);
    assert!(out.status.success() && lib.exists(), "{}", stderr(&out));

    let plain = write(dir.path(), "plain.wat", "(module (func (result i32) (i32.const 1)))");
    let out = kiln(&[&"inspect", &plain]);
    assert!(stdout(&out).contains("proposals:   none (WebAssembly 1.0)"), "{}", stdout(&out));
}

//! wasi-threads under `kiln run`: a Rust program
//! (`wasi-programs/threads.rs`) built at test time for
//! wasm32-wasip1-threads and natively must print the same and exit the
//! same: exact totals of a counter under a mutex and of an atomic counter
//! from four threads, results through `join`, a channel and a condition
//! variable; and `exit` from a spawned thread ends the process with its
//! status.
//!
//! rustup's `wasm32-wasip1-threads` target comes from `scripts/setup.sh`;
//! without it the tests fail and say so.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Builds `threads.rs` natively and for wasm32-wasip1-threads.
fn build() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wasi-programs/threads.rs");
    let native = dir.path().join("threads");
    let wasm = dir.path().join("threads.wasm");
    let rustc = |target: Option<&str>, out: &Path| {
        let mut cmd = Command::new("rustc");
        cmd.args(["--edition=2021", "-O"]).arg(&source).arg("-o").arg(out);
        if let Some(target) = target {
            cmd.arg(format!("--target={target}"));
        }
        let o = cmd.output().unwrap_or_else(|e| panic!("cannot run rustc: {e}"));
        assert!(
            o.status.success(),
            "rustc {target:?} threads.rs failed (wasm32-wasip1-threads needs `rustup target add \
             wasm32-wasip1-threads`, which scripts/setup.sh runs):\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    rustc(None, &native);
    rustc(Some("wasm32-wasip1-threads"), &wasm);
    (dir, native, wasm)
}

fn kiln_run(wasm: &Path, args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("run")
        .arg(wasm)
        .arg("--")
        .args(args)
        .env("KILN_CACHE_DIR", cache)
        .output()
        .unwrap()
}

fn same(native: &Output, kiln: &Output, what: &str) {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert_eq!(text(&kiln.stdout), text(&native.stdout), "{what}: stdout (kiln stderr: {})", text(&kiln.stderr));
    assert_eq!(kiln.status.code(), native.status.code(), "{what}: exit status (kiln stderr: {})", text(&kiln.stderr));
}

#[test]
fn threaded_program_matches_its_native_build() {
    let (dir, native, wasm) = build();
    let cache = dir.path().join("cache");
    let expected = Command::new(&native).output().unwrap();
    let text = String::from_utf8_lossy(&expected.stdout).into_owned();
    assert!(text.contains("mutex total: 80000\natomic total: 80000\n"), "the native build: {text}");
    same(&expected, &kiln_run(&wasm, &[], &cache), "threads");
    // Again, from the cache: the same.
    same(&expected, &kiln_run(&wasm, &[], &cache), "threads (cached)");

    let expected = Command::new(&native).arg("exit").output().unwrap();
    assert_eq!(expected.status.code(), Some(7));
    same(&expected, &kiln_run(&wasm, &["exit"], &cache), "exit from a thread");
}

/// Spawns two threads that each record their start argument under their
/// id and count themselves; `_start` waits for both and exits with
/// `id1 + 10 * id2` if each found its own argument (99 otherwise).
const SPAWNING: &str = r#"(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func (export "wasi_thread_start") (param $id i32) (param $arg i32)
    (i32.atomic.store offset=64 (i32.shl (local.get $id) (i32.const 2)) (local.get $arg))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  (func (export "_start")
    (local $a i32) (local $b i32) (local $seen i32)
    (local.set $a (call $spawn (i32.const 111)))
    (local.set $b (call $spawn (i32.const 222)))
    (block $both
      (loop $again
        (local.set $seen (i32.atomic.load (i32.const 0)))
        (br_if $both (i32.eq (local.get $seen) (i32.const 2)))
        (drop (memory.atomic.wait32 (i32.const 0) (local.get $seen) (i64.const -1)))
        (br $again)))
    (if (i32.and
          (i32.eq (i32.atomic.load offset=64 (i32.shl (local.get $a) (i32.const 2))) (i32.const 111))
          (i32.eq (i32.atomic.load offset=64 (i32.shl (local.get $b) (i32.const 2))) (i32.const 222)))
      (then (call $exit (i32.add (local.get $a) (i32.mul (local.get $b) (i32.const 10))))))
    (call $exit (i32.const 99))))"#;

/// A spawned thread that traps while `_start` waits forever.
const TRAPPING: &str = r#"(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func (export "wasi_thread_start") (param i32 i32) unreachable)
  (func (export "_start")
    (drop (call $spawn (i32.const 0)))
    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))))"#;

fn run_wat(text: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("module.wat");
    std::fs::write(&path, text).unwrap();
    kiln_run(&path, &[], &dir.path().join("cache"))
}

#[test]
fn thread_spawn_gives_ids_from_one_and_runs_wasi_thread_start() {
    let out = run_wat(SPAWNING);
    assert_eq!(out.status.code(), Some(1 + 10 * 2), "stderr: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_trap_in_a_spawned_thread_ends_the_process() {
    let out = run_wat(TRAPPING);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(134), "stderr: {stderr}");
    assert!(stderr.contains("thread 1: wasm trap: unreachable"), "{stderr}");
}

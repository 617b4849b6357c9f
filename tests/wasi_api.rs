//! kiln-wasi end to end: C programs built with clang-19 and wasi-libc
//! (`wasi/*.c`), compiled by kiln and run with a `WasiCtx`, plus small WAT
//! modules for what C cannot express (bad guest pointers, a module without
//! memory). Covers the embedding API (arguments, environment, captured
//! stdio, exit status), escapes from a preopen, `fd_readdir` cookies, file
//! system operations, rights, clocks, random and `poll_oneoff`.

mod pipeline;

use kiln::CompileOptions;
use kiln_loader::{Engine, Error, Linker, Module, Store};
use kiln_wasi::{InputPipe, OutputPipe, WasiCtxBuilder, add_to_linker, exit_code};
use pipeline::{Library, library, load, require_tool, wat_library};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// Builds `wasi/NAME.c` for wasm32-wasi and compiles it with kiln, once
/// per test process.
fn program(name: &'static str) -> &'static Path {
    static BUILT: OnceLock<Mutex<BTreeMap<&'static str, &'static Library>>> = OnceLock::new();
    let mut built = BUILT.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    let lib = built.entry(name).or_insert_with(|| {
        require_tool("clang-19");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("wasi").join(format!("{name}.c"));
        let dir = tempfile::tempdir().expect("a temporary directory");
        let wasm = dir.path().join(format!("{name}.wasm"));
        let out = Command::new("clang-19")
            .args(["--target=wasm32-wasi", "--sysroot=/usr", "-O2"])
            .arg(&src)
            .arg("-o")
            .arg(&wasm)
            .output()
            .expect("running clang-19");
        assert!(
            out.status.success(),
            "clang-19 cannot build {name}.c for wasm32-wasi (scripts/setup.sh installs wasi-libc and \
             libclang-rt-19-dev-wasm32):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = std::fs::read(&wasm).expect("the wasm build");
        Box::leak(Box::new(library(&bytes, &CompileOptions::default())))
    });
    &lib.path
}

/// What a run left behind.
struct Run {
    /// `Ok(status)`: `_start` returned (0) or the guest called `proc_exit`.
    status: Result<i32, Error>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The `name=value` lines of stdout.
    fn values(&self) -> BTreeMap<String, String> {
        self.stdout.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// Checks each `(name, value)` against the `name=value` lines.
    fn assert_values(&self, expected: &[(&str, &str)]) {
        let values = self.values();
        let mismatches: Vec<String> = expected
            .iter()
            .filter(|(k, v)| values.get(*k).map(String::as_str) != Some(*v))
            .map(|(k, v)| format!("{k}: expected {v}, got {:?}", values.get(*k)))
            .collect();
        assert!(mismatches.is_empty(), "{}\nstdout:\n{}", mismatches.join("\n"), self.stdout);
    }

    fn exited(&self) -> i32 {
        match &self.status {
            Ok(code) => *code,
            Err(e) => panic!("the program trapped: {e}\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr),
        }
    }
}

/// Runs `_start` of the library at `path` with the context `configure`
/// sets up (stdout and stderr are captured).
fn run_library(path: &Path, configure: impl FnOnce(&mut WasiCtxBuilder)) -> Run {
    let engine = Engine::default();
    let module = Module::from_file(&engine, path).expect("loading the program");
    let mut store = Store::new(&engine);
    let mut linker = Linker::new(&engine);
    let (stdout, stderr) = (OutputPipe::new(), OutputPipe::new());
    let mut builder = WasiCtxBuilder::new();
    builder.stdout(stdout.clone()).stderr(stderr.clone());
    configure(&mut builder);
    add_to_linker(&mut linker, &mut store, builder.build()).expect("defining WASI");
    let instance = linker.instantiate(&mut store, &module).expect("instantiation");
    let start = instance.get_typed_func::<(), ()>(&store, "_start").expect("a _start export");
    let status = match start.call(&mut store, ()) {
        Ok(()) => Ok(0),
        Err(e) => exit_code(&e).ok_or(e),
    };
    let text = |p: &OutputPipe| String::from_utf8(p.contents()).expect("UTF-8 output");
    Run { status, stdout: text(&stdout), stderr: text(&stderr) }
}

fn run(name: &'static str, configure: impl FnOnce(&mut WasiCtxBuilder)) -> Run {
    run_library(program(name), configure)
}

#[test]
fn args_env_stdio_and_exit_status() {
    let run = run("hello", |b| {
        b.args(["hello.wasm", "7", "two words"]).env("GREETING", "hi there").stdin(InputPipe::new("some input\n"));
    });
    assert_eq!(run.exited(), 7);
    assert_eq!(
        run.stdout,
        "argc=3\nargv[0]=hello.wasm\nargv[1]=7\nargv[2]=two words\nGREETING=hi there\nUNSET=(unset)\n\
         SOME INPUT\n\nstdin bytes=11\n"
    );
    assert_eq!(run.stderr, "to stderr\n");
}

#[test]
fn defaults_are_empty_and_null() {
    // No arguments, no environment, stdin at end of file; output to the
    // null default is accepted and dropped.
    let run = run_library(program("hello"), |_| {});
    assert_eq!(run.exited(), 0);
    assert_eq!(run.stdout, "argc=0\nGREETING=(unset)\nUNSET=(unset)\n\nstdin bytes=0\n");
    let engine = Engine::default();
    let module = Module::from_file(&engine, program("hello")).expect("loading");
    let mut store = Store::new(&engine);
    let mut linker = Linker::new(&engine);
    add_to_linker(&mut linker, &mut store, WasiCtxBuilder::new().build()).expect("defining WASI");
    let instance = linker.instantiate(&mut store, &module).expect("instantiation");
    let start = instance.get_typed_func::<(), ()>(&store, "_start").expect("_start");
    start.call(&mut store, ()).expect("runs to the end with null stdio");
}

#[test]
fn preopen_error_names_the_path() {
    let err = WasiCtxBuilder::new().preopened_dir("/no/such/dir/for/kiln", "/x").map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("/no/such/dir/for/kiln"), "{err}");
}

/// Everything under `dir`, with file contents, to compare before and after.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("listing") {
        let entry = entry.expect("an entry");
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).expect("metadata");
        let name = entry.file_name().to_string_lossy().into_owned();
        if meta.is_dir() {
            for (inner, bytes) in snapshot(&path) {
                out.insert(format!("{name}/{inner}"), bytes);
            }
        } else {
            out.insert(name, std::fs::read(&path).unwrap_or_default());
        }
    }
    out
}

#[test]
fn escapes_from_a_preopen_are_refused() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let (sandbox, secret) = (tmp.path().join("sandbox"), tmp.path().join("secret"));
    std::fs::create_dir_all(sandbox.join("sub")).unwrap();
    std::fs::create_dir(&secret).unwrap();
    std::fs::write(secret.join("secret.txt"), "TOPSECRET").unwrap();
    std::fs::write(sandbox.join("file.txt"), "inside").unwrap();
    std::os::unix::fs::symlink("../secret", sandbox.join("link_out")).unwrap();
    std::os::unix::fs::symlink("../secret/secret.txt", sandbox.join("link_secret")).unwrap();
    std::os::unix::fs::symlink(secret.join("secret.txt"), sandbox.join("link_abs")).unwrap();
    let before = snapshot(&secret);
    let outside_before = snapshot(tmp.path()).into_keys().filter(|k| !k.starts_with("sandbox/")).collect::<Vec<_>>();

    let run = run("escape", |b| {
        b.preopened_dir(&sandbox, "/sandbox").expect("preopen");
    });
    assert_eq!(run.exited(), 0);
    assert!(!run.stdout.contains("TOPSECRET"), "the secret leaked:\n{}", run.stdout);
    // Only the two attempts that stay inside read anything.
    let reads: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("read(")).collect();
    assert_eq!(reads, ["read(inside): inside", "read(inside_via_dotdot): inside"]);

    const NOTCAPABLE: &str = "76";
    let expected: &[(&str, &str)] = &[
        ("dotdot", NOTCAPABLE),
        ("dotdot_deep", NOTCAPABLE),
        // wasi-libc finds no preopen for /etc and fails by itself.
        ("libc_absolute", NOTCAPABLE),
        ("symlink_dir_out", NOTCAPABLE),
        ("symlink_file_follow", NOTCAPABLE),
        // O_NOFOLLOW on a symlink: ELOOP.
        ("symlink_file_nofollow", "32"),
        ("symlink_absolute", NOTCAPABLE),
        // A path through a regular file: ENOTDIR.
        ("through_file", "54"),
        ("inside", "0"),
        ("inside_via_dotdot", "0"),
        ("raw_absolute", NOTCAPABLE),
        ("raw_dotdot", NOTCAPABLE),
        ("raw_symlink_follow", NOTCAPABLE),
        ("raw_symlink_nofollow", "32"),
        ("raw_through_file", "54"),
        ("stat_out", NOTCAPABLE),
        ("lstat_link", "0"),
        ("stat_follow_link", NOTCAPABLE),
        ("opendir_out", NOTCAPABLE),
        ("opendir_dotdot", NOTCAPABLE),
        ("readlink", "0"),
        ("readlink_target", "../secret/secret.txt"),
        ("create_dotdot", NOTCAPABLE),
        ("create_through_link", NOTCAPABLE),
        ("truncate_through_link", NOTCAPABLE),
        ("write_follow_link", NOTCAPABLE),
        ("mkdir_out", NOTCAPABLE),
        ("mkdir_dotdot", NOTCAPABLE),
        ("unlink_out", NOTCAPABLE),
        ("rmdir_out", NOTCAPABLE),
        ("rename_out", NOTCAPABLE),
        ("rename_in", NOTCAPABLE),
        ("link_out", NOTCAPABLE),
        ("symlink_absolute_create", NOTCAPABLE),
        ("symlink_dotdot_create", "0"),
        ("symlink_dotdot_follow", NOTCAPABLE),
    ];
    run.assert_values(expected);

    // Nothing outside the preopen was written, created or removed.
    assert_eq!(snapshot(&secret), before);
    let outside_after = snapshot(tmp.path()).into_keys().filter(|k| !k.starts_with("sandbox/")).collect::<Vec<_>>();
    assert_eq!(outside_after, outside_before);
    assert!(!tmp.path().join("newdir").exists());
    assert_eq!(std::fs::read(sandbox.join("file.txt")).unwrap(), b"inside");
}

#[test]
fn readdir_cookies_with_many_entries_and_small_buffers() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    std::fs::create_dir(tmp.path().join("many")).unwrap();
    let run = run("readdir", |b| {
        b.preopened_dir(tmp.path(), "/dir").expect("preopen");
    });
    assert_eq!(run.exited(), 0, "{}", run.stdout);
    let lines: Vec<&str> = run.stdout.lines().collect();
    for size in [72, 100, 4096] {
        // Every size needs several calls and meets cut entries (150 entries
        // take 9 KiB).
        let line = format!("buf={size} entries=152 dots=2 missing=0 cut=1 more_calls=1");
        assert!(lines.contains(&line.as_str()), "no `{line}` in:\n{}", run.stdout);
    }
    assert_eq!(lines.iter().filter(|l| l.starts_with("resume_next=11 expected=11")).count(), 3, "{}", run.stdout);
    assert!(lines.contains(&"past_end_used=0"), "{}", run.stdout);
    assert!(lines.contains(&"libc_readdir=152"), "{}", run.stdout);
    assert_eq!(std::fs::read_dir(tmp.path().join("many")).unwrap().count(), 150);
}

#[test]
fn files_directories_rights_clocks_and_poll() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let run = run("fs", |b| {
        b.preopened_dir(tmp.path(), "/dir").expect("preopen").stdin(InputPipe::new("x"));
    });
    assert_eq!(run.exited(), 0, "{}", run.stdout);
    let expected: &[(&str, &str)] = &[
        ("preopen_fd", "3"),
        ("prestat_stdout", "8"),
        ("prestat_name_short", "37"),
        ("open_create", "0"),
        ("write", "0"),
        ("lseek_set", "0"),
        ("read_after_seek", "0"),
        ("tell_end", "0"),
        ("lseek_end", "0"),
        ("pwrite", "0"),
        ("pread", "0"),
        ("tell_unmoved", "0"),
        ("lseek_negative_errno", "28"),
        ("fstat", "0"),
        ("ftruncate", "0"),
        ("posix_fallocate", "0"),
        ("posix_fadvise", "0"),
        ("fsync", "0"),
        ("fdatasync", "0"),
        ("futimens", "0"),
        ("read_closed_errno", "8"),
        ("open_append", "0"),
        ("append_flag", "0"),
        ("append_write", "0"),
        ("clear_append", "0"),
        ("excl_exists", "20"),
        ("mkdir", "0"),
        ("mkdir_again", "20"),
        ("stat_dir", "0"),
        ("open_dir_for_write", "31"),
        ("rename", "0"),
        ("stat_renamed", "0"),
        ("rmdir_not_empty", "55"),
        ("link", "0"),
        ("symlink", "0"),
        ("readlink", "0"),
        ("readlink_short", "0"),
        ("lstat_symlink", "0"),
        ("stat_through_symlink", "0"),
        ("unlink_dir", "31"),
        ("unlink", "0"),
        ("rmdir", "0"),
        ("stat_gone", "44"),
        ("utimensat", "0"),
        ("file_rights_has_write", "1"),
        ("drop_write", "0"),
        ("write_without_right", "76"),
        ("regain_write", "76"),
        ("dir_filetype", "3"),
        ("dir_seek", "76"),
        ("stdout_seek", "76"),
        ("path_open_on_file_fd", "54"),
        ("bad_fd", "8"),
        ("bad_whence", "76"),
        ("bad_oflags", "28"),
        ("not_utf8", "25"),
        ("renumber", "0"),
        ("renumber_from_closed", "8"),
        ("clock_res", "1"),
        ("clock_bad", "28"),
        ("realtime_after_2020", "1"),
        ("cputime_ok", "1"),
        ("random", "1"),
        ("nanosleep", "0"),
        ("slept_enough", "1"),
        ("poll_abs", "0"),
        ("poll_abs_events", "1 userdata=11 type=0 reached=1"),
        ("poll_fd", "0"),
        ("poll_fd_events", "1 userdata=1 type=1 nbytes=4 error=0"),
        ("poll_stdin", "1 revents_in=1"),
        ("poll_badf", "1 error=8"),
        ("poll_none", "28"),
        ("fd_tell", "0 pos=2"),
        ("set_flags_sync", "58"),
        ("set_flags_unknown", "28"),
        ("sched_yield", "0"),
        ("sock_accept", "57"),
        ("sock_shutdown_closed", "8"),
        ("sock_recv", "57"),
        ("sock_send", "57"),
        ("stdin_fdstat_rights", "1"),
    ];
    run.assert_values(expected);
    // What the program left in the preopen, seen from the host.
    assert_eq!(snapshot(tmp.path()).into_keys().collect::<Vec<_>>(), ["t.txt"]);
}

#[test]
fn new_descriptors_take_the_highest_freed_number() {
    // Wasmtime's numbering: a program that closes its standard output and
    // then opens a file keeps the file out of its later prints.
    let tmp = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(tmp.path().join("input.txt"), "input\n").unwrap();
    let run = run("numbering", |b| {
        b.preopened_dir(tmp.path(), "/dir").expect("preopen");
    });
    assert_eq!(run.exited(), 0, "{}{}", run.stdout, run.stderr);
    // Everything printed after stdout was closed is lost, not redirected.
    assert_eq!(run.stdout, "first=4,5,6\nreuse=6,5,4,7\ninput=8\nbefore_close=visible\n");
    assert_eq!(
        run.stderr,
        "close_stdout=0\nnetlist_fd=8\nwrite_closed_stdout=8\nfdstat_closed_stdout=8\nwrite_netlist=0\n\
         after_netlist=8,1\nwrite_one=0\n"
    );
    assert_eq!(std::fs::read_to_string(tmp.path().join("netlist.txt")).unwrap(), "netlist\n");
    assert_eq!(std::fs::read_to_string(tmp.path().join("one")).unwrap(), "one\n");
}

#[test]
fn open_flags_against_rights() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    std::fs::create_dir(tmp.path().join("sub")).unwrap();
    std::fs::write(tmp.path().join("full.txt"), "hello").unwrap();
    std::fs::write(tmp.path().join("other.txt"), "other").unwrap();
    std::fs::write(tmp.path().join("log.txt"), "old content").unwrap();
    let run = run("open_flags", |b| {
        b.preopened_dir(tmp.path(), "/dir").expect("preopen");
    });
    assert_eq!(run.exited(), 0, "{}", run.stdout);
    const NOTCAPABLE: &str = "76";
    const ISDIR: &str = "31";
    let expected: &[(&str, &str)] = &[
        ("creat_no_rights", "0"),
        ("creat_read_only", "0"),
        ("creat_read_only_write", NOTCAPABLE),
        ("creat_read_only_has_write", "0"),
        ("creat_excl_exists", "20"),
        ("trunc_read_only", "0"),
        ("trunc_size", "0"),
        ("dir_again", "0"),
        ("drop_size_right", "0"),
        ("trunc_without_right", NOTCAPABLE),
        ("trunc_append", "0"),
        ("append_write", "0"),
        ("append_seek", "0"),
        ("append_write_at_end", "0"),
        ("append_flag", "1"),
        ("read_only_append", "0"),
        ("dir_read", "0"),
        ("dir_write", ISDIR),
        ("dot_write", ISDIR),
        ("dir_write_no_oflag", ISDIR),
        // ENOTDIR: not a directory comes first.
        ("file_as_dir_write", "54"),
        ("link_follow_file", "28"),
        ("symlink", "0"),
        ("link_follow_dangling", "28"),
        ("link_nofollow", "0"),
    ];
    run.assert_values(expected);
    let read = |name: &str| std::fs::read_to_string(tmp.path().join(name)).unwrap();
    assert_eq!(read("created_bare"), "");
    assert_eq!(read("created_ro"), "", "nothing was written without fd_write");
    assert_eq!(read("full.txt"), "", "truncated without fd_write");
    assert_eq!(read("other.txt"), "other", "not truncated without path_filestat_set_size");
    assert_eq!(read("log.txt"), "abcd", "truncated, then appended to");
    assert!(!tmp.path().join("hard").exists(), "no link made with symlink_follow");
    assert_eq!(read("hard_plain"), "other");
}

#[test]
fn directory_entries_in_host_order() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let list = tmp.path().join("list");
    std::fs::create_dir(&list).unwrap();
    // Created out of name order, so that neither a file system listing in
    // creation order (or its reverse) nor one listing by hash is sorted.
    for i in 0..40 {
        std::fs::write(list.join(format!("entry{:02}", i * 7 % 40)), "").unwrap();
    }
    let host: Vec<String> =
        std::fs::read_dir(&list).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    let mut sorted = host.clone();
    sorted.sort();
    // Otherwise this test could not tell host order from sorted order.
    assert_ne!(host, sorted, "the host lists these 40 names sorted; pick others");
    let run = run("listing", |b| {
        b.preopened_dir(tmp.path(), "/dir").expect("preopen");
    });
    assert_eq!(run.exited(), 0, "{}", run.stdout);
    let listed = |prefix: &str| -> Vec<String> {
        run.stdout.lines().filter_map(|l| l.strip_prefix(prefix)).map(String::from).collect()
    };
    assert_eq!(listed("raw="), host, "fd_readdir");
    assert_eq!(listed("libc="), host, "readdir(3)");
}

/// A module with one memory page whose `run` export calls the WASI
/// function `name` of type `params -> i32` with `args`, returning the errno.
fn errno_module(name: &str, params: &str, args: &str) -> String {
    format!(
        r#"(module
            (import "wasi_snapshot_preview1" "{name}" (func $f (param {params}) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 16) "\00\00\01\00\04\00\00\00")  ;; iovec at 16: buf 65536 (end of memory), len 4
            (data (i32.const 32) "\f0\ff\00\00\04\00\00\00")  ;; iovec at 32: buf 65520, len 4 (fine)
            (func (export "run") (result i32) {args} (call $f)))"#
    )
}

/// Calls `run` of `wat` with a fresh context; the errno or the error.
fn call_run(wat: &str) -> Result<i32, Error> {
    let lib = wat_library(wat, &CompileOptions::default());
    let engine = Engine::default();
    let module = load(&engine, &lib);
    let mut store = Store::new(&engine);
    let mut linker = Linker::new(&engine);
    add_to_linker(&mut linker, &mut store, WasiCtxBuilder::new().build()).expect("defining WASI");
    let instance = linker.instantiate(&mut store, &module).expect("instantiation");
    let run = instance.get_typed_func::<(), i32>(&store, "run").expect("run");
    run.call(&mut store, ())
}

#[test]
fn guest_pointers_out_of_bounds_are_efault() {
    const FAULT: i32 = 21;
    let four = "i32 i32 i32 i32";
    let cases = [
        // iovec array itself past the end of memory
        ("fd_write", four, "(i32.const 1) (i32.const 65532) (i32.const 1) (i32.const 0)", FAULT),
        // iovec array length overflowing 32 bits
        ("fd_write", four, "(i32.const 1) (i32.const 16) (i32.const 0x20000000) (i32.const 0)", FAULT),
        // a buffer reaching past the end
        ("fd_write", four, "(i32.const 1) (i32.const 16) (i32.const 1) (i32.const 0)", FAULT),
        // the result pointer past the end
        ("fd_write", four, "(i32.const 1) (i32.const 32) (i32.const 1) (i32.const 65533)", FAULT),
        // the result pointer at the very top of the address space
        ("fd_write", four, "(i32.const 1) (i32.const 32) (i32.const 1) (i32.const -1)", FAULT),
        // all in bounds: writes 4 bytes to the null stdout
        ("fd_write", four, "(i32.const 1) (i32.const 32) (i32.const 1) (i32.const 0)", 0),
        ("fd_read", four, "(i32.const 0) (i32.const 16) (i32.const 1) (i32.const 0)", FAULT),
        ("args_sizes_get", "i32 i32", "(i32.const 0) (i32.const 65536)", FAULT),
        ("random_get", "i32 i32", "(i32.const 65535) (i32.const 2)", FAULT),
        ("random_get", "i32 i32", "(i32.const 65535) (i32.const 1)", 0),
        ("clock_time_get", "i32 i64 i32", "(i32.const 0) (i64.const 0) (i32.const 65530)", FAULT),
        ("fd_prestat_get", "i32 i32", "(i32.const 3) (i32.const 0)", 8),
        ("poll_oneoff", four, "(i32.const 65500) (i32.const 0) (i32.const 1) (i32.const 0)", FAULT),
        ("poll_oneoff", four, "(i32.const 0) (i32.const 0) (i32.const 0x10000000) (i32.const 0)", FAULT),
        ("fd_fdstat_get", "i32 i32", "(i32.const 1) (i32.const 65520)", FAULT),
        ("fd_filestat_get", "i32 i32", "(i32.const 1) (i32.const 65500)", FAULT),
    ];
    for (name, params, args, expected) in cases {
        let got = call_run(&errno_module(name, params, args)).unwrap_or_else(|e| panic!("{name}({args}): {e}"));
        assert_eq!(got, expected, "{name}({args})");
    }
}

#[test]
fn proc_exit_unwinds_with_its_status() {
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (func (export "run") (result i32) (call $exit (i32.const 42)) (i32.const 0)))"#;
    let err = call_run(wat).expect_err("proc_exit does not return");
    assert_eq!(exit_code(&err), Some(42));
    assert_eq!(err.as_trap().map(|t| t.code()), Some(kiln_loader::TrapCode::HostError));
}

#[test]
fn a_module_without_memory() {
    // Functions without pointers work; the others trap, naming the problem.
    let yield_only = r#"(module
        (import "wasi_snapshot_preview1" "sched_yield" (func $y (result i32)))
        (func (export "run") (result i32) (call $y)))"#;
    assert_eq!(call_run(yield_only).expect("sched_yield needs no memory"), 0);
    let write = r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
        (func (export "run") (result i32) (call $w (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0))))"#;
    let err = call_run(write).expect_err("no memory to read");
    assert!(err.to_string().contains("exports no `memory`"), "{err}");
    assert_eq!(exit_code(&err), None);
}

#[test]
fn every_function_has_wasi_libc_signature() {
    use kiln_loader::{Extern, ValType};
    let (i, l) = (ValType::I32, ValType::I64);
    let expected: &[(&str, &[ValType])] = &[
        ("args_get", &[i, i]),
        ("args_sizes_get", &[i, i]),
        ("environ_get", &[i, i]),
        ("environ_sizes_get", &[i, i]),
        ("clock_res_get", &[i, i]),
        ("clock_time_get", &[i, l, i]),
        ("fd_advise", &[i, l, l, i]),
        ("fd_allocate", &[i, l, l]),
        ("fd_close", &[i]),
        ("fd_datasync", &[i]),
        ("fd_fdstat_get", &[i, i]),
        ("fd_fdstat_set_flags", &[i, i]),
        ("fd_fdstat_set_rights", &[i, l, l]),
        ("fd_filestat_get", &[i, i]),
        ("fd_filestat_set_size", &[i, l]),
        ("fd_filestat_set_times", &[i, l, l, i]),
        ("fd_pread", &[i, i, i, l, i]),
        ("fd_prestat_get", &[i, i]),
        ("fd_prestat_dir_name", &[i, i, i]),
        ("fd_pwrite", &[i, i, i, l, i]),
        ("fd_read", &[i, i, i, i]),
        ("fd_readdir", &[i, i, i, l, i]),
        ("fd_renumber", &[i, i]),
        ("fd_seek", &[i, l, i, i]),
        ("fd_sync", &[i]),
        ("fd_tell", &[i, i]),
        ("fd_write", &[i, i, i, i]),
        ("path_create_directory", &[i, i, i]),
        ("path_filestat_get", &[i, i, i, i, i]),
        ("path_filestat_set_times", &[i, i, i, i, l, l, i]),
        ("path_link", &[i, i, i, i, i, i, i]),
        ("path_open", &[i, i, i, i, i, l, l, i, i]),
        ("path_readlink", &[i, i, i, i, i, i]),
        ("path_remove_directory", &[i, i, i]),
        ("path_rename", &[i, i, i, i, i, i]),
        ("path_symlink", &[i, i, i, i, i]),
        ("path_unlink_file", &[i, i, i]),
        ("poll_oneoff", &[i, i, i, i]),
        ("proc_raise", &[i]),
        ("sched_yield", &[]),
        ("random_get", &[i, i]),
        ("sock_accept", &[i, i, i]),
        ("sock_recv", &[i, i, i, i, i, i]),
        ("sock_send", &[i, i, i, i, i]),
        ("sock_shutdown", &[i, i]),
    ];
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let mut linker = Linker::new(&engine);
    add_to_linker(&mut linker, &mut store, WasiCtxBuilder::new().build()).expect("defining WASI");
    for (name, params) in expected {
        let Some(Extern::Func(func)) = linker.get(kiln_wasi::MODULE, name) else { panic!("{name} is not defined") };
        let ty = func.ty(&store).expect("a type");
        assert_eq!((&ty.params[..], &ty.results[..]), (*params, &[i][..]), "{name}");
    }
    let Some(Extern::Func(exit)) = linker.get(kiln_wasi::MODULE, "proc_exit") else { panic!("no proc_exit") };
    let ty = exit.ty(&store).expect("a type");
    assert_eq!((&ty.params[..], ty.results.is_empty()), (&[i][..], true));
    assert_eq!(expected.len() + 1, 46);
}

#[test]
fn errnos_by_design() {
    // proc_raise: no signals in WASI. Sockets: none can exist.
    let cases = [
        ("proc_raise", "i32", "(i32.const 2)", 52),
        ("sock_shutdown", "i32 i32", "(i32.const 1) (i32.const 3)", 57),
        ("sock_accept", "i32 i32 i32", "(i32.const 77) (i32.const 0) (i32.const 0)", 8),
        // stdin is not a preopen
        ("fd_prestat_dir_name", "i32 i32 i32", "(i32.const 0) (i32.const 0) (i32.const 0)", 8),
        ("fd_close", "i32", "(i32.const 5)", 8),
        ("fd_renumber", "i32 i32", "(i32.const 1) (i32.const 1)", 0),
    ];
    for (name, params, args, expected) in cases {
        let got = call_run(&errno_module(name, params, args)).unwrap_or_else(|e| panic!("{name}({args}): {e}"));
        assert_eq!(got, expected, "{name}({args})");
    }
}

//! Real programs under `kiln run`: C programs written for these tests
//! (`wasi-programs/*.c`) are built twice at test time with clang-19 — for
//! wasm32-wasi against Debian's wasi-libc, and natively — and each pair
//! must agree exactly: stdout, stderr, exit code, and every file left in
//! the directory the program worked in. The wasm build runs through the
//! `kiln` command with that directory preopened as `.`.
//!
//! clang-19, wasi-libc and libclang-rt-19-dev-wasm32 come from
//! `scripts/setup.sh`; without them the tests fail and say so.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wasi-programs")
}

/// Builds `name.c` natively and for wasm32-wasi into a fresh directory.
fn build(name: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let source = sources().join(format!("{name}.c"));
    let native = dir.path().join(name);
    let wasm = dir.path().join(format!("{name}.wasm"));
    let clang = |args: &[&str], out: &Path| {
        let o = Command::new("clang-19")
            .args(args)
            .args(["-O2", "-Wall", "-Werror"])
            .arg(&source)
            .arg("-o")
            .arg(out)
            .output()
            .unwrap_or_else(|e| panic!("cannot run clang-19 ({e}); scripts/setup.sh installs it"));
        assert!(
            o.status.success(),
            "clang-19 {args:?} {name}.c failed (wasm32-wasi needs Debian's wasi-libc and \
             libclang-rt-19-dev-wasm32, which scripts/setup.sh installs):\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    clang(&[], &native);
    clang(&["--target=wasm32-wasi"], &wasm);
    (dir, native, wasm)
}

/// One run of a program: what it is given.
#[derive(Default)]
struct Case<'a> {
    args: &'a [&'a str],
    env: &'a [(&'a str, &'a str)],
    stdin: Vec<u8>,
    /// Files present in the working directory before the run.
    files: Vec<(&'a str, Vec<u8>)>,
}

/// A directory's contents: relative path → what is there.
type Tree = BTreeMap<String, String>;

fn tree(root: &Path) -> Tree {
    fn walk(root: &Path, dir: &Path, out: &mut Tree) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap()).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let what = if meta.file_type().is_symlink() {
                format!("symlink to {}", std::fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                walk(root, &path, out);
                "directory".to_string()
            } else {
                let bytes = std::fs::read(&path).unwrap();
                format!("file of {} bytes, xxh3 {:016x}", bytes.len(), xxhash_rust::xxh3::xxh3_64(&bytes))
            };
            out.insert(rel, what);
        }
    }
    let mut out = Tree::new();
    walk(root, root, &mut out);
    out
}

fn run_with_stdin(mut cmd: Command, stdin: &[u8]) -> Output {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        // The program may exit without reading everything.
        let _ = input.write_all(&stdin);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

/// What a run did.
#[derive(Debug, PartialEq)]
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    files: Tree,
}

fn outcome(o: Output, dir: &Path) -> Outcome {
    Outcome {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        files: tree(dir),
    }
}

/// Runs `name` natively and under `kiln run`, asserts they agree, and
/// returns what happened.
fn check(name: &str, case: Case) -> Outcome {
    let (_build, native, wasm) = build(name);
    let native_dir = tempfile::tempdir().unwrap();
    let wasm_dir = tempfile::tempdir().unwrap();
    for (path, contents) in &case.files {
        std::fs::write(native_dir.path().join(path), contents).unwrap();
        std::fs::write(wasm_dir.path().join(path), contents).unwrap();
    }

    let mut cmd = Command::new(&native);
    cmd.args(case.args).env_clear().envs(case.env.iter().copied()).current_dir(native_dir.path());
    let expected = outcome(run_with_stdin(cmd, &case.stdin), native_dir.path());

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
    cmd.env("KILN_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("wasi-programs-cache"));
    cmd.arg("run").arg(&wasm).args(["--dir", "."]).current_dir(wasm_dir.path());
    for (k, v) in case.env {
        cmd.arg("--env").arg(format!("{k}={v}"));
    }
    cmd.arg("--").args(case.args);
    let actual = outcome(run_with_stdin(cmd, &case.stdin), wasm_dir.path());

    assert_eq!(actual.code, expected.code, "exit codes differ; kiln's stderr: {}", actual.stderr);
    assert_eq!(actual.stdout, expected.stdout, "stdout differs");
    assert_eq!(actual.stderr, expected.stderr, "stderr differs");
    assert_eq!(actual.files, expected.files, "files left behind differ");
    actual
}

#[test]
fn hello_world() {
    let o = check("hello", Case::default());
    assert!(o.stdout.starts_with("Hello, world!\n") && o.stdout.ends_with("without newline"), "{}", o.stdout);
    assert_eq!(o.stderr, "a note on stderr\n");
    assert_eq!(o.code, Some(0));
}

#[test]
fn echo_of_arguments_and_environment() {
    let env = [("GREETING", "hello there"), ("EMPTY", ""), ("WITH_EQUALS", "a=b=c"), ("LANG", "C")];
    let case = Case { args: &["one", "two words", "", "ünïcödé", "--flag", "-x"], env: &env, ..Case::default() };
    let o = check("echo", case);
    assert!(o.stdout.contains("argc=7\n") && o.stdout.contains("argv[4]=[ünïcödé] (11 bytes)"), "{}", o.stdout);
    assert!(o.stdout.contains("environ has 4 entries") && o.stdout.contains("getenv(WITH_EQUALS) = [a=b=c]"));
    assert!(o.stdout.contains("getenv(UNSET) = NULL"));
}

/// Deterministic pseudo-random bytes.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

#[test]
fn file_copy_inside_the_preopen() {
    let input = noise(300_001, 0x9e37_79b9_7f4a_7c15);
    let case = Case { files: vec![("input.bin", input.clone())], ..Case::default() };
    let o = check("copy", case);
    assert!(o.stdout.starts_with("copied 300001 bytes"), "{}", o.stdout);
    assert!(o.stdout.lines().any(|l| l.starts_with("open missing file") && l.ends_with(" ENOENT")), "{}", o.stdout);
    assert!(o.files["copy.bin"].starts_with("file of 300001 bytes"), "{:?}", o.files);
    assert_eq!(o.files["copy.bin"], o.files["input.bin"]);
}

#[test]
fn directories_created_listed_renamed_removed() {
    let o = check("dirs", Case::default());
    // 150 files, `.`, `..`, `a` and `one.txt`: readdir went through many buffers.
    assert!(o.stdout.contains("tree has 154 entries"), "{}", o.stdout);
    assert!(o.stdout.lines().any(|l| l.starts_with("rmdir non-empty") && l.ends_with(" ENOTEMPTY")), "{}", o.stdout);
    assert!(o.files.contains_key("tree/b/two.txt") && o.files.contains_key("kept/result.txt"), "{:?}", o.files);
    assert!(!o.files.contains_key("tree/b/uno.txt"));
}

#[test]
fn file_metadata_seek_and_links() {
    let o = check("meta", Case::default());
    assert!(o.stdout.contains("atime 1000000000.123456789 mtime 1200000000.987654321"), "{}", o.stdout);
    assert!(o.stdout.contains("readlink: 8 [data.bin]"), "{}", o.stdout);
    assert_eq!(o.files["soft.lnk"], "symlink to data.bin");
    assert!(o.files["data.bin"].starts_with("file of 1238 bytes"), "{:?}", o.files);
}

#[test]
fn clocks_sleep_and_random() {
    let o = check("clocks", Case::default());
    assert!(!o.stdout.contains(": no"), "a property failed:\n{}", o.stdout);
    assert_eq!(o.stdout.lines().count(), 11, "{}", o.stdout);
}

#[test]
fn reading_stdin_to_the_end() {
    let mut text = Vec::new();
    for i in 0..5000 {
        writeln!(text, "line {i}: the quick brown fox jumps over the lazy dog {}", i * 7919 % 1000).unwrap();
    }
    let o = check("stdin", Case { stdin: text.clone(), ..Case::default() });
    assert!(o.stdout.contains(&format!("5000 lines, 60000 words, {} bytes", text.len())), "{}", &o.stdout[o.stdout.len() - 200..]);
    assert_eq!(o.stderr, "stdin done\n");
    // Empty input is fine too.
    let o = check("stdin", Case::default());
    assert!(o.stdout.ends_with("0 lines, 0 words, 0 bytes; last read returned 0\n"), "{}", o.stdout);
}

#[test]
fn exit_codes() {
    for (args, code) in [(&["0"][..], 0), (&["7"], 7), (&["255"], 255), (&["42", "abrupt"], 42)] {
        let o = check("exitcode", Case { args, ..Case::default() });
        assert_eq!(o.code, Some(code));
        assert!(o.stderr.starts_with("error: something went wrong"), "{}", o.stderr);
        assert!(!o.stdout.contains("buffered and lost"), "{}", o.stdout);
    }
}

fn kiln_run(cwd: &Path, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
    cmd.env("KILN_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("wasi-programs-cache"));
    cmd.arg("run").current_dir(cwd);
    for a in args {
        cmd.arg(a);
    }
    cmd.output().unwrap()
}

/// `--dir HOST::GUEST` maps a host directory to a guest path; the program
/// reaches nothing beside it.
#[test]
fn guest_paths_and_what_lies_outside() {
    let (_build, _native, wasm) = build("copy");
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("input.bin"), noise(5000, 7)).unwrap();
    std::fs::write(root.path().join("secret.txt"), "outside").unwrap();
    let before = tree(root.path());
    let dir = format!("{}::/sandbox", data.display());

    let o = kiln_run(root.path(), &[&wasm, &"--dir", &dir, &"--", &"/sandbox/input.bin", &"/sandbox/out.bin"]);
    let out = String::from_utf8_lossy(&o.stdout);
    // The copy works; its log, a relative path, has no preopen to go to.
    assert!(out.starts_with("copied 5000 bytes") && out.contains("open copy.log: other"), "{out}");
    assert_eq!(o.status.code(), Some(4), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(data.join("out.bin")).unwrap(), std::fs::read(data.join("input.bin")).unwrap());

    for (from, to) in [
        ("/sandbox/../secret.txt", "/sandbox/x"),
        ("secret.txt", "/sandbox/x"),
        ("/sandbox/input.bin", "/sandbox/../stolen.bin"),
        ("/sandbox/input.bin", "/elsewhere/stolen.bin"),
    ] {
        let o = kiln_run(root.path(), &[&wasm, &"--dir", &dir, &"--", &from, &to]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(2), "{from} -> {to}: {out}");
        assert!(!out.contains("outside"), "{out}");
    }
    let mut after = tree(root.path());
    after.remove("data/out.bin");
    assert_eq!(after, before, "something outside /sandbox changed");
}

#[test]
fn bad_wasi_options_are_one_line_errors() {
    let (_build, _native, wasm) = build("hello");
    let root = tempfile::tempdir().unwrap();
    let missing = root.path().join("no-such-dir");
    for (args, expected) in [
        (vec![wasm.as_os_str(), "--dir".as_ref(), missing.as_os_str()], "cannot open the directory"),
        (vec![wasm.as_os_str(), "--dir".as_ref(), wasm.as_os_str()], "cannot open the directory"),
        (vec![wasm.as_os_str(), "--env".as_ref(), "NOVALUE".as_ref()], "is not NAME=VALUE"),
        (vec![wasm.as_os_str(), "--env".as_ref(), "=x".as_ref()], "the variable name is empty"),
    ] {
        let args: Vec<&dyn AsRef<std::ffi::OsStr>> = args.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>).collect();
        let o = kiln_run(root.path(), &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(matches!(o.status.code(), Some(1 | 2)), "{err}");
        assert!(err.contains(expected) && !err.contains("panicked"), "{err}");
        assert!(o.stdout.is_empty(), "the program must not have run");
    }
}

//! `kiln run`'s compiled-artifact cache, through the `kiln` command: a
//! second run compiles nothing, a damaged entry is rebuilt, concurrent
//! first runs agree and leave one intact entry, and `kiln cache` manages it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PRIMES: &str = r#"(module
  (func (export "count") (param $n i32) (result i32)
    (local $i i32) (local $j i32) (local $c i32) (local $p i32)
    (local.set $i (i32.const 2))
    (block $done (loop $outer
      (br_if $done (i32.gt_u (local.get $i) (local.get $n)))
      (local.set $p (i32.const 1))
      (local.set $j (i32.const 2))
      (block $inner_done (loop $inner
        (br_if $inner_done (i32.gt_u (i32.mul (local.get $j) (local.get $j)) (local.get $i)))
        (if (i32.eqz (i32.rem_u (local.get $i) (local.get $j))) (then (local.set $p (i32.const 0))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $inner)))
      (local.set $c (i32.add (local.get $c) (local.get $p)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $outer)))
    (local.get $c)))"#;

fn kiln(cache: &Path, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
    cmd.env("KILN_CACHE_DIR", cache);
    for a in args {
        cmd.arg(a);
    }
    cmd
}

fn ok(o: Output) -> (String, String) {
    let (out, err) = (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned());
    assert!(o.status.success(), "kiln failed: {err}");
    (out, err)
}

fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let wat = dir.path().join("primes.wat");
    std::fs::write(&wat, PRIMES).unwrap();
    let cache = dir.path().join("cache");
    (dir, wat, cache)
}

/// The cache's entries: (directory name, files in it).
fn entries(cache: &Path) -> Vec<(String, Vec<String>)> {
    let mut list: Vec<(String, Vec<String>)> = std::fs::read_dir(cache.join("v1"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let mut files: Vec<String> =
                std::fs::read_dir(e.path()).unwrap().map(|f| f.unwrap().file_name().into_string().unwrap()).collect();
            files.sort();
            (e.file_name().into_string().unwrap(), files)
        })
        .collect();
    list.sort();
    list
}

fn run_count(cache: &Path, wat: &Path, extra: &[&str]) -> (String, String) {
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"run", &wat, &"--verbose", &"--invoke", &"count", &"1000"];
    for e in extra {
        args.push(e);
    }
    ok(kiln(cache, &args).output().unwrap())
}

#[test]
fn second_run_loads_from_the_cache() {
    let (_dir, wat, cache) = setup();
    let (out, err) = run_count(&cache, &wat, &[]);
    assert_eq!(out, "168\n");
    assert!(err.contains("kiln: compiled in"), "{err}");
    let (out, err) = run_count(&cache, &wat, &[]);
    assert_eq!(out, "168\n");
    assert!(err.contains("cache hit") && err.contains("no compilation"), "{err}");
    assert!(!err.contains("compiling"), "{err}");
    let list = entries(&cache);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0].1, ["checksum", "module.so"]);
}

#[test]
fn options_that_change_code_get_their_own_entry() {
    let (_dir, wat, cache) = setup();
    run_count(&cache, &wat, &[]);
    let (_, err) = run_count(&cache, &wat, &["-O0"]);
    assert!(err.contains("kiln: compiled in"), "-O0 must not reuse the -O2 library: {err}");
    let (_, err) = run_count(&cache, &wat, &["--bounds-checks", "explicit"]);
    assert!(err.contains("kiln: compiled in"), "{err}");
    let (_, err) = run_count(&cache, &wat, &["-O0"]);
    assert!(err.contains("cache hit"), "{err}");
    assert_eq!(entries(&cache).len(), 3);
    // A changed module is a different entry too.
    std::fs::write(&wat, PRIMES.replace("(i32.const 2))\n    (block", "(i32.const 3))\n    (block")).unwrap();
    let (out, err) = run_count(&cache, &wat, &[]);
    assert_eq!(out, "167\n");
    assert!(err.contains("kiln: compiled in"), "{err}");
}

#[test]
fn a_truncated_or_corrupted_entry_is_rebuilt() {
    let (_dir, wat, cache) = setup();
    run_count(&cache, &wat, &[]);
    let (key, _) = entries(&cache).remove(0);
    let library = cache.join("v1").join(&key).join("module.so");
    let len = std::fs::metadata(&library).unwrap().len();

    let file = std::fs::OpenOptions::new().write(true).open(&library).unwrap();
    file.set_len(len / 2).unwrap();
    drop(file);
    let (out, err) = run_count(&cache, &wat, &[]);
    assert_eq!(out, "168\n");
    assert!(err.contains("damaged") && err.contains("recompiled"), "{err}");
    assert_eq!(std::fs::metadata(&library).unwrap().len(), len);

    // One flipped byte in the code, same length.
    let mut bytes = std::fs::read(&library).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x40;
    std::fs::write(&library, &bytes).unwrap();
    let (out, err) = run_count(&cache, &wat, &[]);
    assert_eq!(out, "168\n");
    assert!(err.contains("damaged"), "{err}");

    // A missing checksum (an entry someone tampered with) is damage too.
    std::fs::remove_file(cache.join("v1").join(&key).join("checksum")).unwrap();
    let (_, err) = run_count(&cache, &wat, &[]);
    assert!(err.contains("damaged"), "{err}");
    let (_, err) = run_count(&cache, &wat, &[]);
    assert!(err.contains("cache hit"), "{err}");
}

#[test]
fn concurrent_first_runs_agree_and_leave_one_intact_entry() {
    let (_dir, wat, cache) = setup();
    let children: Vec<_> = (0..6)
        .map(|_| {
            kiln(&cache, &[&"run", &wat, &"--verbose", &"--invoke", &"count", &"1000"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let (out, _) = ok(child.wait_with_output().unwrap());
        assert_eq!(out, "168\n");
    }
    // Exactly one entry, complete, and no staging directories left over.
    let list = entries(&cache);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0].1, ["checksum", "module.so"]);
    let (_, err) = run_count(&cache, &wat, &[]);
    assert!(err.contains("cache hit"), "{err}");
}

#[test]
fn cache_dir_and_clean() {
    let (_dir, wat, cache) = setup();
    let (out, _) = ok(kiln(&cache, &[&"cache", &"dir"]).output().unwrap());
    assert_eq!(out.trim_end(), cache.display().to_string());
    run_count(&cache, &wat, &[]);
    run_count(&cache, &wat, &["-O1"]);
    let (out, _) = ok(kiln(&cache, &[&"cache", &"clean"]).output().unwrap());
    assert!(out.starts_with("removed 2 cache entries"), "{out}");
    assert!(entries(&cache).is_empty());
    let (_, err) = run_count(&cache, &wat, &[]);
    assert!(err.contains("kiln: compiled in"), "{err}");
    // Cleaning an empty or absent cache is fine.
    let (out, _) = ok(kiln(&dir_that_does_not_exist(&cache), &[&"cache", &"clean"]).output().unwrap());
    assert!(out.starts_with("removed 0 cache entries"), "{out}");
}

fn dir_that_does_not_exist(cache: &Path) -> PathBuf {
    cache.join("nothing-here")
}

#[test]
fn no_cache_compiles_every_time_and_stores_nothing() {
    let (_dir, wat, cache) = setup();
    let (out, err) = run_count(&cache, &wat, &["--no-cache"]);
    assert_eq!(out, "168\n");
    assert!(err.contains("cache not used"), "{err}");
    assert!(!cache.exists());
}

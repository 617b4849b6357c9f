//! What the end-to-end tests share: a module taken through the whole
//! pipeline — compiled by kiln into a shared library, loaded and
//! instantiated by the loader — and the checks for tools they need.
#![allow(dead_code)]

use kiln::{CompileOptions, Emit, OptLevel};
use kiln_abi::TrapCode;
use kiln_abi::metadata::BoundsChecks;
use kiln_loader::{Engine, Error, Instance, Linker, Module, Store, Val};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A compiled library; its directory lives as long as this value.
pub struct Library {
    _dir: tempfile::TempDir,
    /// The shared library.
    pub path: PathBuf,
}

/// Compiles `wasm` (binary or text) with `opts` into a shared library.
pub fn library(wasm: &[u8], opts: &CompileOptions) -> Library {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("module.so");
    kiln::compile_to_file(wasm, Path::new("test.wasm"), opts, Emit::SharedLibrary, &path)
        .unwrap_or_else(|e| panic!("compiling at {}: {e}", describe(opts)));
    Library { _dir: dir, path }
}

/// Compiles the text module `wat` with `opts` into a shared library.
pub fn wat_library(wat: &str, opts: &CompileOptions) -> Library {
    library(&wat::parse_str(wat).expect("the test module parses"), opts)
}

/// Loads `library` with `engine`.
pub fn load(engine: &Engine, library: &Library) -> Module {
    Module::from_file(engine, &library.path).unwrap_or_else(|e| panic!("loading {}: {e}", library.path.display()))
}

/// Compiles, loads and instantiates a module without imports.
pub fn instantiate(wat: &str, opts: &CompileOptions) -> (Store, Instance, Library) {
    let engine = Engine::default();
    let library = wat_library(wat, opts);
    let module = load(&engine, &library);
    let mut store = Store::new(&engine);
    let instance = Linker::new(&engine).instantiate(&mut store, &module).expect("instantiation");
    (store, instance, library)
}

/// The LLVM IR kiln generates for the text module `wat` (`emit`: before
/// or after optimization).
pub fn llvm_ir(wat: &str, opts: &CompileOptions, emit: Emit) -> String {
    let wasm = wat::parse_str(wat).expect("the test module parses");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("module.ll");
    kiln::compile_to_file(&wasm, Path::new("test.wat"), opts, emit, &path)
        .unwrap_or_else(|e| panic!("compiling at {}: {e}", describe(opts)));
    std::fs::read_to_string(&path).expect("the IR file")
}

/// Asserts that a call ended in a trap with `code`; `what` names the call.
pub fn assert_trap(result: Result<Vec<Val>, Error>, code: TrapCode, what: &str) {
    let error = match result {
        Ok(results) => panic!("{what} returned {results:?} instead of trapping"),
        Err(e) => e,
    };
    let trap = error.as_trap().unwrap_or_else(|| panic!("{what}: not a trap: {error}"));
    assert_eq!(trap.code(), code, "{what}");
}

/// Calls export `name` with `args`, returning its results.
pub fn call(store: &mut Store, instance: &Instance, name: &str, args: &[Val]) -> Result<Vec<Val>, Error> {
    let func = instance.get_func(&*store, name).unwrap_or_else(|| panic!("no export `{name}`"));
    let ty = func.ty(&*store)?;
    let mut results: Vec<Val> = ty.results.iter().map(|&t| Val::default_for(t)).collect();
    func.call(&mut *store, args, &mut results)?;
    Ok(results)
}

/// Every combination of `levels` and both bounds-check modes.
pub fn configurations(levels: &[OptLevel]) -> Vec<CompileOptions> {
    levels
        .iter()
        .flat_map(|&opt_level| {
            [BoundsChecks::Guard, BoundsChecks::Explicit].map(|bounds_checks| CompileOptions {
                opt_level,
                bounds_checks,
                ..CompileOptions::default()
            })
        })
        .collect()
}

/// `-O2, guard regions` and the like, for messages.
pub fn describe(opts: &CompileOptions) -> String {
    format!("{:?}, {:?} bounds checks", opts.opt_level, opts.bounds_checks)
}

/// Fails the test unless `tool` runs; `scripts/setup.sh` installs every
/// tool the tests use.
pub fn require_tool(tool: &str) {
    let runs = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(runs, "`{tool}` is missing or does not run; scripts/setup.sh installs it");
}

/// `count` values of a fixed xorshift sequence from `seed` (not 0): test
/// data that is the same on every run.
pub fn xorshift(count: usize, seed: u64) -> Vec<u64> {
    let mut x = seed;
    (0..count)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        })
        .collect()
}

//! Snapshot tests of emitted code, in the style of wasmtime's
//! `tests/disas`: each `tests/disas/NAME.wat` is compiled and its optimized
//! LLVM IR (or assembly) compared with `NAME.expected`. Run with
//! `KILN_BLESS=1` to (re)write the expectations after an intended change,
//! and review the diff.
//!
//! Header lines `;;! key = value` set options: `target`, `emit` (`llvm-ir`,
//! `asm`), `bounds-checks` (`guard`, `explicit`), `opt` (`0`–`3`, `s`).

use kiln_abi::metadata::BoundsChecks;
use kiln_abi::target::Target;
use kiln_llvm::{CompileOptions, OptLevel, TextKind, compile_to_text};
use std::path::Path;

fn options(source: &str) -> (CompileOptions, TextKind) {
    let mut opts = CompileOptions { target: Target::parse("x86_64-unknown-linux-gnu").unwrap(), ..Default::default() };
    let mut kind = TextKind::LlvmIr;
    for line in source.lines().filter_map(|l| l.strip_prefix(";;!")) {
        let (key, value) = line.split_once('=').expect("`;;! key = value`");
        match (key.trim(), value.trim()) {
            ("target", t) => opts.target = Target::parse(t).unwrap(),
            ("emit", "asm") => kind = TextKind::Assembly,
            ("emit", "llvm-ir") => kind = TextKind::LlvmIr,
            ("bounds-checks", "explicit") => opts.bounds_checks = BoundsChecks::Explicit,
            ("bounds-checks", "guard") => opts.bounds_checks = BoundsChecks::Guard,
            ("opt", level) => {
                opts.opt_level = match level {
                    "0" => OptLevel::O0,
                    "1" => OptLevel::O1,
                    "2" => OptLevel::O2,
                    "3" => OptLevel::O3,
                    "s" => OptLevel::Os,
                    other => panic!("unknown opt level {other}"),
                }
            }
            (key, value) => panic!("unknown option {key} = {value}"),
        }
    }
    (opts, kind)
}

#[test]
fn disas_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/disas");
    let bless = std::env::var_os("KILN_BLESS").is_some();
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty());
    let mut mismatches = Vec::new();
    for input in inputs {
        let source = std::fs::read_to_string(&input).unwrap();
        let (opts, kind) = options(&source);
        let actual = compile_to_text(&wat::parse_str(&source).unwrap(), &opts, kind).unwrap();
        let expected_path = input.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            let line = expected.lines().zip(actual.lines()).position(|(e, a)| e != a).unwrap_or(0) + 1;
            mismatches.push(format!("{}: differs from line {line}", input.display()));
        }
    }
    assert!(mismatches.is_empty(), "snapshots differ (KILN_BLESS=1 to update):\n{}", mismatches.join("\n"));
}

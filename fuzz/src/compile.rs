//! Target (b): the compiler on hostile input never panics or crashes, and
//! says the right thing.
//!
//! An input is one of: arbitrary bytes (behind a wasm header half the
//! time, so parsing gets past the magic number); a wasm-smith module from
//! a swarm configuration that may use any proposal, imports, several
//! memories and raw bytes as function bodies; such a module with a few
//! bytes overwritten; or a module within kiln's features (the
//! differential target's configuration). It is compiled at an optimization level and
//! bounds-check mode the input picks, through linking for generated
//! modules. What the compile must return is decided independently by
//! wasmparser: a module valid under `KILN_FEATURES` compiles; one valid
//! only with more proposals is `Unsupported`; one invalid under every
//! proposal is `Invalid` or `Malformed` (which of the two, decoding or
//! validation, is the spec runner's to check). A panic is caught and
//! reported (under libFuzzer it aborts, which libFuzzer records).

use crate::target::{Pass, Verdict};
use arbitrary::Unstructured;
use kiln::{CompileError, CompileOptions, Emit, OptLevel};
use kiln_abi::metadata::BoundsChecks;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use wasmparser::{Validator, WasmFeatures};

/// The compile target (stateless).
pub struct CompileTarget;

/// What wasmparser says kiln must answer.
#[derive(Debug, PartialEq, Eq)]
enum Expected {
    Compiles,
    Unsupported,
    Invalid,
}

fn expected(wasm: &[u8]) -> Expected {
    if Validator::new_with_features(kiln_llvm::KILN_FEATURES).validate_all(wasm).is_ok() {
        Expected::Compiles
    } else if Validator::new_with_features(WasmFeatures::all()).validate_all(wasm).is_ok() {
        Expected::Unsupported
    } else {
        Expected::Invalid
    }
}

/// A swarm configuration (every proposal wasm-smith knows may be on),
/// with sizes kept to what compiles in well under a second.
fn wide_config(u: &mut Unstructured<'_>) -> arbitrary::Result<wasm_smith::Config> {
    let mut config: wasm_smith::Config = u.arbitrary()?;
    config.max_funcs = config.max_funcs.min(10);
    config.max_instructions = config.max_instructions.min(300);
    config.max_types = config.max_types.min(20);
    config.max_imports = config.max_imports.min(8);
    config.max_exports = config.max_exports.min(20);
    config.max_globals = config.max_globals.min(10);
    config.max_data_segments = config.max_data_segments.min(8);
    config.max_element_segments = config.max_element_segments.min(8);
    config.max_elements = config.max_elements.min(32);
    config.max_memories = config.max_memories.min(2);
    config.max_tables = config.max_tables.min(3);
    config.max_tags = config.max_tags.min(4);
    config.max_type_size = config.max_type_size.min(100);
    config.allow_invalid_funcs = u.ratio(1u8, 4u8)?;
    Ok(config)
}

/// The module an input describes, and whether to link it.
fn module(u: &mut Unstructured<'_>) -> arbitrary::Result<(Vec<u8>, bool)> {
    match u.int_in_range(0..=3u8)? {
        0 => {
            let mut bytes = Vec::new();
            if u.arbitrary()? {
                bytes.extend_from_slice(b"\0asm\x01\0\0\0");
            }
            let rest = u.len();
            bytes.extend_from_slice(u.bytes(rest)?);
            Ok((bytes, false))
        }
        1 => {
            let mut wasm = wasm_smith::Module::new(wide_config(u)?, u)?.to_bytes();
            let edits = u.int_in_range(1..=4u8)?;
            for _ in 0..edits {
                if wasm.len() <= 8 {
                    break;
                }
                let at = u.int_in_range(8..=wasm.len() - 1)?;
                wasm[at] = u.arbitrary()?;
            }
            Ok((wasm, false))
        }
        2 => Ok((wasm_smith::Module::new(wide_config(u)?, u)?.to_bytes(), true)),
        // Within kiln's features, so that code generation and linking see
        // as many modules as validation does.
        _ => Ok((wasm_smith::Module::new(crate::smith::kiln_config(u)?, u)?.to_bytes(), true)),
    }
}

impl CompileTarget {
    /// Runs one input.
    pub fn run(&self, data: &[u8]) -> Verdict {
        let mut u = Unstructured::new(data);
        let opts = match options(&mut u) {
            Ok(opts) => opts,
            Err(e) => return Verdict::Skip(format!("input too short: {e}")),
        };
        let (wasm, link) = match module(&mut u) {
            Ok(m) => m,
            Err(e) => return Verdict::Skip(format!("no module from this input: {e}")),
        };
        let expect = expected(&wasm);
        let result = catch_unwind(AssertUnwindSafe(|| compile(&wasm, &opts, link)));
        let result = match result {
            Ok(result) => result,
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)");
                return Verdict::Fail(format!("panic: compiling at {:?}: {message}", opts.opt_level));
            }
        };
        let at = format!("{:?}, {:?} bounds checks", opts.opt_level, opts.bounds_checks);
        match (expect, result) {
            (Expected::Compiles, Ok(())) => Verdict::Pass(Pass { calls: 1, traps: 0 }),
            (Expected::Unsupported, Err(Some(CompileError::Unsupported { .. })))
            | (Expected::Invalid, Err(Some(CompileError::Invalid { .. } | CompileError::Malformed { .. }))) => {
                Verdict::Pass(Pass { calls: 1, traps: 1 })
            }
            (expect, Ok(())) => {
                Verdict::Fail(format!("wrong-answer: at {at}: compiled a module wasmparser finds {expect:?}"))
            }
            (expect, Err(Some(e))) => Verdict::Fail(format!("wrong-answer: at {at}: expected {expect:?}, got: {e}")),
            (_, Err(None)) => Verdict::Fail(format!("link: at {at}: a compiled module did not link")),
        }
    }
}

fn options(u: &mut Unstructured<'_>) -> arbitrary::Result<CompileOptions> {
    let opt_level = *u.choose(&[OptLevel::O0, OptLevel::O1, OptLevel::O2, OptLevel::O3, OptLevel::Os])?;
    let bounds_checks = if u.arbitrary()? { BoundsChecks::Guard } else { BoundsChecks::Explicit };
    Ok(CompileOptions { opt_level, bounds_checks, ..CompileOptions::default() })
}

/// Compiles (and links, if `link`). `Err(Some(e))` is a compile error,
/// `Err(None)` any failure after compilation.
fn compile(wasm: &[u8], opts: &CompileOptions, link: bool) -> Result<(), Option<CompileError>> {
    if !link {
        return kiln_llvm::compile(wasm, opts).map(drop).map_err(Some);
    }
    let dir = tempfile::Builder::new().prefix("kiln-fuzz-").tempdir().map_err(|_| None)?;
    let path = dir.path().join("module.so");
    match kiln::compile_to_file(wasm, Path::new("fuzz.wasm"), opts, Emit::SharedLibrary, &path) {
        Ok(_) => Ok(()),
        Err(kiln::Error::Compile { error, .. }) => Err(Some(error)),
        Err(_) => Err(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_come_from_the_validator() {
        assert_eq!(expected(&wat::parse_str("(module (func (result i32) i32.const 1))").unwrap()), Expected::Compiles);
        let gc = wat::parse_str("(module (func (drop (ref.i31 (i32.const 0)))))").unwrap();
        assert_eq!(expected(&gc), Expected::Unsupported);
        assert_eq!(expected(b"\0asm\x01\0\0\0\x01"), Expected::Invalid);
    }
}

//! Branch hints: the `metadata.code.branch_hint` custom section of the
//! branch-hinting proposal, which marks `if` and `br_if` instructions as
//! likely or unlikely taken. kiln turns each hint into LLVM branch
//! weights, so the unlikely side is laid out out of line, as for a
//! `__builtin_expect` in C.
//!
//! A custom section cannot make a module invalid, so a hint section that
//! does not decode, names a function the module does not define, lists a
//! function or an offset out of order, or points at anything but an `if`
//! or `br_if` is ignored whole, as the name section is; [`check`] says
//! what is wrong with it, for `kiln wast` and tools.

use std::collections::HashMap;
use wasmparser::{BranchHintSectionReader, FunctionBody, Operator};

/// The hints of a module, by function index: each function's hinted
/// instructions, by offset from the start of its body (its locals), and
/// whether the branch is likely taken.
#[derive(Debug, Default)]
pub(crate) struct BranchHints {
    functions: HashMap<u32, HashMap<u32, bool>>,
}

impl BranchHints {
    /// Reads a hint section, checking what can be checked without the
    /// code: the functions are defined ones (`imported` to `imported +
    /// defined`), in increasing order, and each function's offsets
    /// increase. `Err` says why the section is to be ignored.
    pub(crate) fn read(reader: BranchHintSectionReader<'_>, imported: u32, defined: u32) -> Result<BranchHints, String> {
        let mut functions = HashMap::new();
        let mut last_function = None;
        for function in reader {
            let function = function.map_err(|e| e.message().to_string())?;
            if !(imported..imported.saturating_add(defined)).contains(&function.func) {
                return Err(format!("function {} is not one the module defines", function.func));
            }
            if last_function.is_some_and(|last| function.func <= last) {
                return Err(format!("function {} is listed out of order", function.func));
            }
            last_function = Some(function.func);
            let mut hints = HashMap::new();
            let mut last_offset = None;
            for hint in function.hints {
                let hint = hint.map_err(|e| e.message().to_string())?;
                if last_offset.is_some_and(|last| hint.func_offset <= last) {
                    return Err(format!(
                        "the hint at offset {} of function {} is out of order",
                        hint.func_offset, function.func
                    ));
                }
                last_offset = Some(hint.func_offset);
                hints.insert(hint.func_offset, hint.taken);
            }
            functions.insert(function.func, hints);
        }
        Ok(BranchHints { functions })
    }

    /// Checks that every hint of function `index`, whose body is `body`,
    /// is at an `if` or a `br_if`.
    pub(crate) fn check_targets(&self, index: u32, body: &FunctionBody<'_>) -> Result<(), String> {
        let Some(hints) = self.functions.get(&index) else { return Ok(()) };
        let start = body.range().start;
        let mut reader = body.get_operators_reader().map_err(|e| e.message().to_string())?;
        let mut found = 0;
        while !reader.eof() {
            let offset = (reader.original_position() - start) as u32;
            let op = reader.read().map_err(|e| e.message().to_string())?;
            if hints.contains_key(&offset) {
                if !matches!(op, Operator::If { .. } | Operator::BrIf { .. }) {
                    return Err(format!(
                        "invalid target: the hint at offset {offset} of function {index} is not on an `if` or `br_if`"
                    ));
                }
                found += 1;
            }
        }
        if found != hints.len() {
            return Err(format!("invalid target: a hint of function {index} is not at the start of an instruction"));
        }
        Ok(())
    }

    /// Whether the branch of the instruction at `offset` (from the start
    /// of the body) of function `index` is likely taken, if it is hinted.
    pub(crate) fn hint(&self, index: u32, offset: u32) -> Option<bool> {
        self.functions.get(&index)?.get(&offset).copied()
    }
}

/// What is wrong with `wasm`'s branch-hint section, if it has one that
/// kiln ignores. `wasm` must be a module kiln compiles.
pub fn check(wasm: &[u8]) -> Option<String> {
    crate::environ::ModuleEnv::parse(wasm).ok()?.branch_hints_ignored
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CompileOptions, TextKind};

    /// Two functions: `f`'s `if` hinted likely, `g`'s second instruction
    /// hinted unlikely; that instruction is `second`.
    fn module(second: &str) -> Vec<u8> {
        wat::parse_str(format!(
            r#"(module
              (import "m" "h" (func $h))
              (func $f (param i32) (result i32)
                (local.get 0)
                (@metadata.code.branch_hint "\01") (if (result i32) (then (i32.const 1)) (else (i32.const 2))))
              (func $g (param i32)
                (block
                  (local.get 0)
                  (@metadata.code.branch_hint "\00") {second}
                  (call $h))))"#
        ))
        .expect("the module assembles")
    }

    /// How many branch-weight nodes favour the true side and the false side.
    fn weights(ir: &str) -> (usize, usize) {
        let likely = ir.matches(r#"!"branch_weights", i32 2000, i32 1}"#).count();
        let unlikely = ir.matches(r#"!"branch_weights", i32 1, i32 2000}"#).count();
        (likely, unlikely)
    }

    fn ir(wasm: &[u8]) -> String {
        crate::compile_to_text(wasm, &CompileOptions::default(), TextKind::LlvmIrUnoptimized).expect("it compiles")
    }

    #[test]
    fn hints_become_branch_weights() {
        let wasm = module("(br_if 0)");
        assert_eq!(check(&wasm), None);
        let ir = ir(&wasm);
        assert_eq!(weights(&ir), (1, 1), "{ir}");
        let weighted = ir.lines().filter(|l| l.contains("br i1") && l.contains("!prof")).count();
        assert_eq!(weighted, 2, "{ir}");
    }

    #[test]
    fn a_hint_that_is_not_on_a_branch_voids_the_section() {
        let wasm = module("(drop)");
        let reason = check(&wasm).expect("a hint on a `drop` is found");
        assert!(reason.starts_with("invalid target"), "{reason}");
        let ir = ir(&wasm);
        assert_eq!(weights(&ir), (0, 0), "the whole section is ignored, `f`'s hint too:\n{ir}");
    }

    #[test]
    fn functions_out_of_range_or_order_void_the_section() {
        let hint_section = |functions: &[u32]| {
            let mut body = vec![functions.len() as u8];
            for &f in functions {
                body.extend([f as u8, 1, 0, 1, 1]);
            }
            body
        };
        let read = |functions: &[u32]| {
            let bytes = hint_section(functions);
            let reader = BranchHintSectionReader::new(wasmparser::BinaryReader::new(&bytes, 0)).unwrap();
            BranchHints::read(reader, 1, 2)
        };
        assert!(read(&[1, 2]).is_ok());
        assert!(read(&[0]).unwrap_err().contains("not one the module defines"), "an import");
        assert!(read(&[3]).unwrap_err().contains("not one the module defines"), "past the last function");
        assert!(read(&[2, 1]).unwrap_err().contains("out of order"));
        assert_eq!(read(&[1]).unwrap().hint(1, 0), Some(true));
    }
}

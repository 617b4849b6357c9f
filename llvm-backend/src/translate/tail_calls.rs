//! `return_call`, `return_call_indirect` and `return_call_ref`: the callee
//! replaces the caller's frame, so a chain of tail calls of any length
//! runs in constant native stack.
//!
//! The callee is found exactly as for the plain calls (`super::calls`:
//! the same traps for an undefined or null element, a type mismatch or a
//! null reference, in the same order), then called with LLVM's `musttail`
//! marker and its result returned at once. `musttail` is a guarantee, not
//! a hint: code generation either reuses the caller's frame or fails to
//! compile, never silently grows the stack. The callee's results are the
//! caller's (validation checked it), so several results go straight into
//! the return area the caller was given.
//!
//! LLVM can guarantee such a call in the C calling convention kiln's wasm
//! functions use when caller and callee have the same native prototype —
//! the same wasm signature, or two that lower to the same LLVM types —
//! and, on riscv64, every argument travels in a register (LLVM 19's RISC-V
//! backend cannot place the stack arguments of a guaranteed call). That
//! covers the mutual recursion, state machines and loops written as tail
//! calls that the feature exists for. A tail call between different
//! prototypes is made as a call followed by a return: correct results,
//! but the caller's frame stays until the callee returns.
//!
//! LLVM's `tailcc` convention would lift the prototype rule, and kiln
//! used it for a while: on x86_64 it pads every call's argument area to
//! keep the stack aligned (a `sub rsp` after each call, `ret 8` in every
//! callee), which made call-heavy programs 2–7 % slower (dijkstra,
//! interp, bintrees of `benches/`, measured side by side). Every call of a
//! program paid for the few tail calls between signatures, so wasm
//! functions stay in the C convention; see DESIGN.md for the way out.

use super::FuncTranslator;
use crate::codegen::Callee;
use crate::error::{CompileError, Result};
use inkwell::types::{BasicMetadataTypeEnum, FunctionType};
use inkwell::values::{BasicValueEnum, LLVMTailCallKind};

/// Argument registers of the riscv64 `lp64d` convention: `a0`–`a7` for
/// integers and pointers, `fa0`–`fa7` for floats (which take integer
/// registers once those run out).
const RISCV_INT_ARGUMENT_REGISTERS: u32 = 8;
const RISCV_FLOAT_ARGUMENT_REGISTERS: u32 = 8;

impl<'ctx> FuncTranslator<'_, 'ctx> {
    /// Calls `callee`, of module type `type_index`, as the last thing this
    /// function does, and returns its results.
    pub(super) fn emit_tail_call(
        &mut self,
        type_index: u32,
        callee: Callee<'ctx>,
        args: &[BasicValueEnum<'ctx>],
    ) -> Result<()> {
        let cx = self.cx;
        // The caller's handlers do not cover its tail calls: its frame is
        // gone when the callee runs (see `super::exceptions`).
        let unwind = self.b.set_unwind(None);
        let own = cx.functions[self.func_index as usize]
            .ok_or_else(|| CompileError::internal(format_args!("function {} is not declared", self.func_index)))?
            .get_type();
        if self.can_guarantee_tail_call(own, cx.signatures[type_index as usize]) {
            let call = cx.call_wasm(&self.b, type_index, callee, args, self.results_area)?;
            call.set_tail_call_kind(LLVMTailCallKind::LLVMTailCallKindMustTail);
            self.b.ret(self.b.call_result(call))?;
        } else {
            self.emit_call(type_index, callee, args)?;
            let results = cx.env.meta.types[type_index as usize].ty.results.len();
            let values = self.pop_n(results)?;
            self.return_values(&values)?;
        }
        self.b.set_unwind(unwind);
        self.reachable = false;
        Ok(())
    }

    /// Whether LLVM can make a call from a function of type `caller` to
    /// one of type `callee` reuse the caller's frame (see the module docs).
    fn can_guarantee_tail_call(&self, caller: FunctionType<'ctx>, callee: FunctionType<'ctx>) -> bool {
        caller == callee && (self.cx.tail_call_stack_arguments || in_riscv_registers(callee))
    }
}

/// Whether every parameter of `ty` is passed in a register under the
/// riscv64 `lp64d` convention (a 128-bit vector takes two integer
/// registers when the V extension is off, and is counted so either way).
fn in_riscv_registers(ty: FunctionType<'_>) -> bool {
    let (mut ints, mut floats) = (0, 0);
    for param in ty.get_param_types() {
        match param {
            BasicMetadataTypeEnum::FloatType(_) if floats < RISCV_FLOAT_ARGUMENT_REGISTERS => floats += 1,
            BasicMetadataTypeEnum::VectorType(_) => ints += 2,
            _ => ints += 1,
        }
    }
    ints <= RISCV_INT_ARGUMENT_REGISTERS
}

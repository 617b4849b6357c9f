//! Zero-extended loop counters, after optimization.
//!
//! Wasm addresses are 32-bit, so a loop that walks memory keeps an `i32`
//! counter `%i` and addresses `base + zext(%i)`. x86-64 and AArch64 zero
//! the upper half of a register whenever they write its 32-bit half, so
//! the `zext` is free right after the arithmetic that computes `%i`; but
//! when `%i` is a `phi` (the counter at the top of the loop) instruction
//! selection sees only a register that arrived from another block and
//! emits a `mov r32, r32` for the extension, in every iteration, for
//! every such counter (bigint's schoolbook multiply: 2 of its 14
//! instructions per limb).
//!
//! LLVM's own remedy, induction-variable widening, runs before the loop
//! vectorizer and costs it trip counts (see `pipeline`), so it is off. This
//! pass does the part that matters for code generation instead, on the
//! optimized IR: each `zext i32 %phi to i64` is replaced by an `i64` phi
//! of the zero-extended incoming values, `zext(phi(a, b)) = phi(zext a,
//! zext b)`. Each incoming value is extended at the end of its edge's
//! predecessor, where it is usually computed by 32-bit arithmetic and the
//! extension costs nothing. The `i32` phi's other users (the loop's exit
//! test) read the low half of the wide one (`trunc`, free), so
//! only one value is live around the loop. Loop strength reduction, which
//! code generation runs again, runs first (`pipeline::optimize`): the
//! counters it creates are then widened too.

use crate::codegen::builder::{FnBuilder, Tags, Types};
use crate::error::{CompileError, Result};
use crate::ir::{leading_phis, users};
use inkwell::basic_block::BasicBlock;
use inkwell::module::Module;
use inkwell::types::AnyTypeEnum;
use inkwell::values::{BasicValueEnum, InstructionOpcode, InstructionValue, IntValue, PhiValue};
use std::collections::HashMap;

/// Rewrites every `zext i32 %phi to i64` in `module`.
pub(crate) fn widen_zext_phis<'ctx>(module: &Module<'ctx>, types: Types<'ctx>) -> Result<()> {
    let builder = FnBuilder::new(types, Tags::new(&types), module);
    let mut function = module.get_first_function();
    while let Some(f) = function {
        // Widening a phi extends its incoming values, and one of those may
        // be another `i32` phi (a preheader's): repeat until none is left.
        // Each round removes `i32` phis and adds none, so this ends.
        loop {
            let mut widened = false;
            for block in f.get_basic_blocks() {
                for phi in i32_phis(block, types) {
                    let extensions = zext_users(phi, types);
                    if !extensions.is_empty() {
                        widen(&builder, phi, &extensions, types)?;
                        widened = true;
                    }
                }
            }
            if !widened {
                break;
            }
        }
        function = f.get_next_function();
    }
    Ok(())
}

/// The `i32` phis at the top of `block`.
fn i32_phis<'ctx>(block: BasicBlock<'ctx>, types: Types<'ctx>) -> Vec<InstructionValue<'ctx>> {
    let mut phis = leading_phis(block);
    phis.retain(|phi| phi.get_type() == AnyTypeEnum::IntType(types.i32));
    phis
}

/// The instructions that zero-extend `phi` to `i64`.
fn zext_users<'ctx>(phi: InstructionValue<'ctx>, types: Types<'ctx>) -> Vec<InstructionValue<'ctx>> {
    let mut extensions = users(phi);
    extensions.retain(|u| u.get_opcode() == InstructionOpcode::ZExt && u.get_type() == AnyTypeEnum::IntType(types.i64));
    extensions
}

/// Adds the `i64` phi beside `phi` and points `extensions` at it.
fn widen<'ctx>(
    b: &FnBuilder<'_, 'ctx>,
    phi: InstructionValue<'ctx>,
    extensions: &[InstructionValue<'ctx>],
    types: Types<'ctx>,
) -> Result<()> {
    let narrow = PhiValue::try_from(phi).map_err(|_| CompileError::internal("a phi instruction is not a phi"))?;
    b.position_before(&phi);
    let wide = b.phi(types.i64.into())?;
    // A predecessor may reach the block by several edges (a `br_table`);
    // the phi must then name one value for all of them.
    let mut extended: HashMap<BasicBlock<'ctx>, IntValue<'ctx>> = HashMap::new();
    for (value, predecessor) in narrow.get_incomings() {
        let BasicValueEnum::IntValue(value) = value else {
            return Err(CompileError::internal("an i32 phi has a non-integer incoming value"));
        };
        let wide_value = match extended.get(&predecessor) {
            Some(v) => *v,
            None => {
                let terminator = predecessor
                    .get_terminator()
                    .ok_or_else(|| CompileError::internal("a phi's predecessor has no terminator"))?;
                // A constant folds; no instruction is added for it.
                b.position_before(&terminator);
                let v = b.zext(value, types.i64)?;
                extended.insert(predecessor, v);
                v
            }
        };
        wide.add_incoming(&[(&wide_value, predecessor)]);
    }
    let wide_instruction = wide.as_instruction();
    for extension in extensions {
        extension.replace_all_uses_with(&wide_instruction);
        extension.erase_from_basic_block();
    }
    // Every other user reads the low half of the wide phi, so only one
    // value is live around the loop.
    let block = phi.get_parent().ok_or_else(|| CompileError::internal("a phi outside a block"))?;
    let mut first = block.get_first_instruction();
    while let Some(i) = first.filter(|i| i.get_opcode() == InstructionOpcode::Phi) {
        first = i.get_next_instruction();
    }
    match first {
        Some(i) => b.position_before(&i),
        None => b.position_at_end(block),
    }
    let low = b.trunc(wide.as_basic_value().into_int_value(), types.i32)?;
    let low = low.as_instruction().ok_or_else(|| CompileError::internal("a truncation folded to a constant"))?;
    phi.replace_all_uses_with(&low);
    phi.erase_from_basic_block();
    Ok(())
}

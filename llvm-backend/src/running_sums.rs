//! Float running sums, freed of their NaN markers before optimization.
//!
//! Every float arithmetic result carries an `llvm.canonicalize` marker
//! until after optimization ([`crate::canonicalize`]). In a running sum
//! (`s = s + x` around a loop) the marker sits between the addition and
//! the loop's `phi`, and LLVM's loop vectorizer recognizes a reduction only
//! when the `phi` feeds the addition and the addition feeds the `phi`
//! directly. So no float sum was vectorized, not even in the strict,
//! in-order form that needs no reassociation (`-force-ordered-reductions`,
//! see `pipeline`): the one that lets a loop run its divisions and square
//! roots two at a time while adding the terms up one by one, exactly as
//! the scalar loop does.
//!
//! The marker exists because LLVM may fold an addition to one of its
//! operands (`x + -0.0` to `x`, or `-0.0 + x` to `x`), and a signalling
//! NaN in that operand then comes out unquieted. In a running sum that
//! starts from a constant that is neither `-0.0` nor a NaN, neither can
//! ever hurt, so the marker can go before the optimizer runs:
//!
//! * the sum is never `-0.0`: `a + b` is `-0.0` only when both are, and
//!   `a - b` only when `a` is, so a sum that does not start at `-0.0`
//!   never gets there, and no fold whose identity is the sum's side
//!   (`-0.0 + x`, `-0.0 - x`) can apply;
//! * the sum is never a signalling NaN: it starts as a constant that is
//!   not a NaN, and each step is either done by the hardware (which
//!   quiets) or folded to the previous sum (`s + -0.0`, `s - 0.0`), which
//!   by the same argument is not one.
//!
//! Which values are such sums is decided as a greatest fixed point over
//! the function's float `phi`s, `select`s and markers: a `phi` or `select`
//! is one if every value it chooses from is one or a safe constant; a
//! marker is one if it wraps an `fadd` with a sum on either side or an
//! `fsub` with a sum on the left, and the other operand is not a NaN
//! constant. Every marker that qualifies is removed. The pass runs once
//! wasm locals are SSA values (`pipeline::EARLY_SIMPLIFICATION`) and
//! before the rest of the pipeline.
//!
//! spectralnorm's row-times-vector loop and nbody's force loop are
//! vectorized so (figures under "LLVM options" in `pipeline`).

use crate::canonicalize::{canonicalize_operand, float_constant};
use crate::error::Result;
use crate::ir::{operand, users};
use inkwell::module::Module;
use inkwell::values::{BasicValue, BasicValueEnum, FunctionValue, InstructionOpcode, InstructionValue};
use std::collections::HashSet;

/// Removes the NaN markers of every float running sum in `module` whose
/// markers are not needed (see the module docs).
pub(crate) fn unmark_running_sums(module: &Module<'_>) -> Result<()> {
    let mut function = module.get_first_function();
    while let Some(f) = function {
        unmark_in(f);
        function = f.get_next_function();
    }
    Ok(())
}

fn unmark_in(function: FunctionValue<'_>) {
    let mut sums: HashSet<InstructionValue> = HashSet::new();
    for block in function.get_basic_blocks() {
        sums.extend(block.get_instructions().filter(|&i| is_candidate(i)));
    }
    if sums.is_empty() {
        return;
    }
    // Remove what fails its rule until nothing does. A value's rule reads
    // its operands and, for a marker, its arithmetic's operands; so when a
    // value leaves, its users and their users are checked again.
    let mut work: Vec<InstructionValue> = sums.iter().copied().collect();
    while let Some(value) = work.pop() {
        if !sums.contains(&value) || holds(value, &sums) {
            continue;
        }
        sums.remove(&value);
        for user in float_users(value) {
            work.extend(float_users(user));
            work.push(user);
        }
    }
    let markers: Vec<_> = sums.iter().filter(|i| i.get_opcode() == InstructionOpcode::Call).copied().collect();
    for marker in markers {
        if let Some(arithmetic) = arithmetic(marker) {
            marker.replace_all_uses_with(&arithmetic);
            marker.erase_from_basic_block();
        }
    }
}

/// Whether `instruction` is a scalar float `phi`, `select` or marker of an
/// `fadd`/`fsub`: what the fixed point starts from.
fn is_candidate(instruction: InstructionValue<'_>) -> bool {
    if !instruction.get_type().is_float_type() {
        return false;
    }
    match instruction.get_opcode() {
        InstructionOpcode::Phi | InstructionOpcode::Select => true,
        InstructionOpcode::Call => arithmetic(instruction).is_some(),
        _ => false,
    }
}

/// The `fadd` or `fsub` a marker wraps.
fn arithmetic(marker: InstructionValue<'_>) -> Option<InstructionValue<'_>> {
    let operand = canonicalize_operand(marker)?.as_instruction_value()?;
    matches!(operand.get_opcode(), InstructionOpcode::FAdd | InstructionOpcode::FSub).then_some(operand)
}

/// Whether `value`'s rule holds while `sums` are taken to be sums.
fn holds<'ctx>(value: InstructionValue<'ctx>, sums: &HashSet<InstructionValue<'ctx>>) -> bool {
    let is_sum = |v: Option<BasicValueEnum<'ctx>>| v.is_some_and(|v| is_sum(v, sums));
    match value.get_opcode() {
        InstructionOpcode::Phi => (0..value.get_num_operands()).all(|n| is_sum(operand(value, n))),
        InstructionOpcode::Select => is_sum(operand(value, 1)) && is_sum(operand(value, 2)),
        _ => {
            let Some(op) = arithmetic(value) else { return false };
            let (lhs, rhs) = (operand(op, 0), operand(op, 1));
            let not_nan = |v: Option<BasicValueEnum<'ctx>>| !v.is_some_and(is_nan_constant);
            let left = is_sum(lhs) && not_nan(rhs);
            let right = op.get_opcode() == InstructionOpcode::FAdd && is_sum(rhs) && not_nan(lhs);
            left || right
        }
    }
}

/// Whether `value` is a sum (a member of `sums`) or a constant a sum may
/// start from: neither `-0.0` nor a NaN.
fn is_sum<'ctx>(value: BasicValueEnum<'ctx>, sums: &HashSet<InstructionValue<'ctx>>) -> bool {
    let BasicValueEnum::FloatValue(value) = value else { return false };
    if let Some(instruction) = value.as_instruction() {
        return sums.contains(&instruction);
    }
    float_constant(value).is_some_and(|c| !c.is_nan() && c.to_bits() != (-0.0f64).to_bits())
}

fn is_nan_constant(value: BasicValueEnum<'_>) -> bool {
    match value {
        BasicValueEnum::FloatValue(v) => v.is_undef() || float_constant(v).is_some_and(f64::is_nan),
        _ => false,
    }
}

/// The float instructions that use `value` (every value the fixed point
/// reads is a float).
fn float_users(value: InstructionValue<'_>) -> Vec<InstructionValue<'_>> {
    let mut found = users(value);
    found.retain(|u| u.get_type().is_float_type());
    found
}

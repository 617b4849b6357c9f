//! Reading and editing LLVM IR in kiln's own passes (`canonicalize`,
//! `running_sums`, `reroll`, `zext_phis`, `carried_sums`): the few
//! questions they all ask of an instruction or a block, and the edits the
//! C API has no single call for.

use crate::codegen::builder::check;
use crate::error::Result;
use inkwell::basic_block::BasicBlock;
use inkwell::builder::Builder;
use inkwell::types::BasicTypeEnum;
use inkwell::llvm_sys::LLVMTypeKind;
use inkwell::llvm_sys::core::{
    LLVMGetNumSuccessors, LLVMGetPoison, LLVMGetSuccessor, LLVMGetTypeKind, LLVMReplaceAllUsesWith, LLVMSetSuccessor,
    LLVMTypeOf,
};
use inkwell::values::{AnyValue, AnyValueEnum, FunctionValue, AsValueRef, BasicValue, BasicValueEnum, CallSiteValue, InstructionOpcode, InstructionValue, PhiValue};

/// Operand `n` of `instruction` if it is a value (not a basic block).
pub(crate) fn operand<'ctx>(instruction: InstructionValue<'ctx>, n: u32) -> Option<BasicValueEnum<'ctx>> {
    instruction.get_operand(n).and_then(|o| o.value())
}

/// The value `instruction` produces, if it produces one.
pub(crate) fn as_basic_value(instruction: InstructionValue<'_>) -> Option<BasicValueEnum<'_>> {
    BasicValueEnum::try_from(instruction.as_any_value_enum()).ok()
}

/// The `phi`s at the top of `block`.
pub(crate) fn leading_phis(block: BasicBlock<'_>) -> Vec<InstructionValue<'_>> {
    let mut phis = Vec::new();
    let mut next = block.get_first_instruction();
    while let Some(i) = next.filter(|i| i.get_opcode() == InstructionOpcode::Phi) {
        phis.push(i);
        next = i.get_next_instruction();
    }
    phis
}

/// Whether `block`'s terminator may branch back to `block`.
pub(crate) fn loops_to_itself(block: BasicBlock<'_>) -> bool {
    let Some(terminator) = block.get_terminator() else { return false };
    (0..terminator.get_num_operands()).any(|n| terminator.get_operand(n).and_then(|o| o.block()) == Some(block))
}

/// The value `phi` receives from `block`, its own loop's back edge.
pub(crate) fn back_edge_value<'ctx>(phi: InstructionValue<'ctx>, block: BasicBlock<'ctx>) -> Option<BasicValueEnum<'ctx>> {
    let phi = PhiValue::try_from(phi).ok()?;
    phi.get_incomings().find(|&(_, from)| from == block).map(|(value, _)| value)
}

/// The name of the function `instruction` calls, if it is a direct call.
pub(crate) fn called_name(instruction: InstructionValue<'_>) -> Option<String> {
    if instruction.get_opcode() != InstructionOpcode::Call {
        return None;
    }
    let callee = CallSiteValue::try_from(instruction).ok()?.get_called_fn_value()?;
    Some(callee.get_name().to_string_lossy().into_owned())
}

/// The instructions using `value`, each once.
pub(crate) fn users(value: InstructionValue<'_>) -> Vec<InstructionValue<'_>> {
    let mut users = Vec::new();
    let mut next = value.get_first_use();
    while let Some(u) = next {
        next = u.get_next_use();
        let user = match u.get_user() {
            AnyValueEnum::InstructionValue(i) => Some(i),
            other => BasicValueEnum::try_from(other).ok().and_then(|v| v.as_instruction_value()),
        };
        if let Some(user) = user.filter(|i| !users.contains(i)) {
            users.push(user);
        }
    }
    users
}

/// The blocks `block`'s terminator may branch to, in operand order (a
/// block reached by several edges is listed once per edge).
pub(crate) fn successors(block: BasicBlock<'_>) -> Vec<BasicBlock<'_>> {
    let Some(terminator) = block.get_terminator() else { return Vec::new() };
    let t = terminator.as_value_ref();
    // SAFETY: `t` is the terminator of a live block, and every index is
    // below its successor count; each successor is a live block of the same
    // function, with the lifetime of `block`'s context.
    unsafe {
        (0..LLVMGetNumSuccessors(t))
            .filter_map(|n| BasicBlock::new(LLVMGetSuccessor(t, n)))
            .collect()
    }
}

/// Deletes each of `instructions` that nothing uses and that has no effect
/// (pure arithmetic, comparisons, casts, address computations,
/// non-volatile loads), then the operands that leaves unused, the same way.
pub(crate) fn delete_if_dead<'ctx>(instructions: impl IntoIterator<Item = InstructionValue<'ctx>>) {
    // An instruction is erased only once nothing uses it, and only its
    // users put it on the list, so nothing erased is ever looked at again.
    let mut work: Vec<InstructionValue<'ctx>> = Vec::new();
    for i in instructions {
        if !work.contains(&i) {
            work.push(i);
        }
    }
    while let Some(i) = work.pop() {
        let pure = match i.get_opcode() {
            InstructionOpcode::Load => !i.get_volatile().unwrap_or(true),
            InstructionOpcode::Add
            | InstructionOpcode::Sub
            | InstructionOpcode::Mul
            | InstructionOpcode::Shl
            | InstructionOpcode::And
            | InstructionOpcode::Or
            | InstructionOpcode::Xor
            | InstructionOpcode::ICmp
            | InstructionOpcode::Select
            | InstructionOpcode::ZExt
            | InstructionOpcode::SExt
            | InstructionOpcode::Trunc
            | InstructionOpcode::GetElementPtr => true,
            _ => false,
        };
        if !pure || i.get_first_use().is_some() || i.get_parent().is_none() {
            continue;
        }
        let operands: Vec<InstructionValue<'_>> =
            (0..i.get_num_operands()).filter_map(|n| operand(i, n).and_then(|o| o.as_instruction_value())).collect();
        i.erase_from_basic_block();
        for o in operands {
            if !work.contains(&o) {
                work.push(o);
            }
        }
    }
}

/// Deletes the blocks of `function` nothing branches to (the trap blocks
/// whose checks were all removed), as long as deleting them leaves no
/// `phi` naming a deleted block.
pub(crate) fn delete_unreachable_blocks(function: FunctionValue<'_>) {
    let entry = function.get_first_basic_block();
    loop {
        let dead: Vec<BasicBlock<'_>> = function
            .get_basic_blocks()
            .into_iter()
            .filter(|&b| Some(b) != entry && b.get_first_use().is_none())
            .filter(|&b| successors(b).iter().all(|&s| leading_phis(s).is_empty()))
            .collect();
        if dead.is_empty() {
            return;
        }
        let mut operands = Vec::new();
        for &block in &dead {
            // Values of an unreachable block can only be used in other
            // unreachable blocks; those get poison instead.
            let mut next = block.get_first_instruction();
            while let Some(i) = next {
                next = i.get_next_instruction();
                operands.extend(
                    (0..i.get_num_operands())
                        .filter_map(|n| operand(i, n)?.as_instruction_value())
                        .filter(|o| o.get_parent().is_some_and(|b| !dead.contains(&b))),
                );
                let value = i.as_value_ref();
                // SAFETY: `value` is a live instruction; its type is its
                // own, so the poison value has the right type for every use.
                unsafe {
                    if LLVMGetTypeKind(LLVMTypeOf(value)) != LLVMTypeKind::LLVMVoidTypeKind {
                        LLVMReplaceAllUsesWith(value, LLVMGetPoison(LLVMTypeOf(value)));
                    }
                }
            }
            // SAFETY: nothing branches to `block` (it has no uses), no
            // successor's `phi` names it, and nothing uses its values any
            // more, so no instruction refers to it or into it.
            unsafe {
                let _ = block.delete();
            }
        }
        // What only the deleted blocks used (the trap builtin's address,
        // loaded in the entry block) goes too.
        delete_if_dead(operands);
    }
}

/// Points every edge of `terminator` that goes to `from` at `to`.
pub(crate) fn redirect<'ctx>(terminator: InstructionValue<'ctx>, from: BasicBlock<'ctx>, to: BasicBlock<'ctx>) {
    let t = terminator.as_value_ref();
    // SAFETY: `terminator` is a terminator instruction of a live function
    // (callers pass `BasicBlock::get_terminator`), every index is below its
    // successor count, and `to` is a live block of the same function.
    unsafe {
        for n in 0..LLVMGetNumSuccessors(t) {
            if LLVMGetSuccessor(t, n) == from.as_mut_ptr() {
                LLVMSetSuccessor(t, n, to.as_mut_ptr());
            }
        }
    }
}

/// Replaces `phi` by one whose every edge from `from` comes from `to`
/// instead (as many edges as before: a `switch` may reach a block by
/// several).
pub(crate) fn move_incoming<'ctx>(
    builder: &Builder<'ctx>,
    phi: PhiValue<'ctx>,
    from: BasicBlock<'ctx>,
    to: BasicBlock<'ctx>,
) -> Result<PhiValue<'ctx>> {
    rebuild_phi(builder, phi, from, to, false)
}

/// Bytes a load or store accesses, for the integer, float and vector
/// types wasm values have.
pub(crate) fn access_size(access: InstructionValue<'_>) -> Option<u64> {
    let ty = if access.get_opcode() == InstructionOpcode::Store {
        operand(access, 0)?.get_type()
    } else {
        as_basic_value(access)?.get_type()
    };
    let bits = |t: BasicTypeEnum<'_>| match t {
        BasicTypeEnum::IntType(t) => Some(t.get_bit_width()),
        BasicTypeEnum::FloatType(t) => {
            let cx = t.get_context();
            if t == cx.f32_type() {
                Some(32)
            } else if t == cx.f64_type() {
                Some(64)
            } else {
                None
            }
        }
        _ => None,
    };
    let total = match ty {
        BasicTypeEnum::VectorType(v) => v.get_size() * bits(v.get_element_type())?,
        other => bits(other)?,
    };
    (total % 8 == 0).then_some(u64::from(total / 8))
}

/// Replaces `phi` by one whose edges from `from` come from `to` (one
/// edge, however many `from` had); the C API cannot rename an incoming
/// block in place.
pub(crate) fn rename_incoming<'ctx>(
    builder: &Builder<'ctx>,
    phi: PhiValue<'ctx>,
    from: BasicBlock<'ctx>,
    to: BasicBlock<'ctx>,
) -> Result<PhiValue<'ctx>> {
    rebuild_phi(builder, phi, from, to, true)
}

/// Drops the edges from `from` out of the `phi`s at the top of `block`,
/// once `from` no longer branches there (a trap block the optimizer merged
/// may carry `phi`s for state it stores before raising).
pub(crate) fn remove_incoming<'ctx>(builder: &Builder<'ctx>, block: BasicBlock<'ctx>, from: BasicBlock<'ctx>) -> Result<()> {
    for phi in leading_phis(block) {
        if let Ok(phi) = PhiValue::try_from(phi) {
            rebuild_phi(builder, phi, from, None, false)?;
        }
    }
    Ok(())
}

/// `phi` rebuilt with its edges from `from` coming from `to`, all of them
/// or (`once`) one; without `to`, they are dropped.
fn rebuild_phi<'ctx>(
    builder: &Builder<'ctx>,
    phi: PhiValue<'ctx>,
    from: BasicBlock<'ctx>,
    to: impl Into<Option<BasicBlock<'ctx>>>,
    once: bool,
) -> Result<PhiValue<'ctx>> {
    let to = to.into();
    let old = phi.as_instruction();
    builder.position_before(&old);
    let rebuilt = check(builder.build_phi(phi.as_basic_value().get_type(), ""))?;
    let mut moved = false;
    for (value, block) in phi.get_incomings() {
        if block != from {
            rebuilt.add_incoming(&[(&value, block)]);
        } else if let Some(to) = to.filter(|_| !(once && moved)) {
            rebuilt.add_incoming(&[(&value, to)]);
            moved = true;
        }
    }
    old.replace_all_uses_with(&rebuilt.as_instruction());
    old.erase_from_basic_block();
    Ok(rebuilt)
}

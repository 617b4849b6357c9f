//! Reading and editing LLVM IR in kiln's own passes (`canonicalize`,
//! `running_sums`, `reroll`, `zext_phis`, `carried_sums`): the few
//! questions they all ask of an instruction or a block, and the edits the
//! C API has no single call for.

use crate::codegen::builder::check;
use crate::error::Result;
use inkwell::basic_block::BasicBlock;
use inkwell::builder::Builder;
use inkwell::llvm_sys::core::{LLVMGetNumSuccessors, LLVMGetSuccessor, LLVMSetSuccessor};
use inkwell::values::{AnyValueEnum, AsValueRef, BasicValue, BasicValueEnum, CallSiteValue, InstructionOpcode, InstructionValue, PhiValue};

/// Operand `n` of `instruction` if it is a value (not a basic block).
pub(crate) fn operand<'ctx>(instruction: InstructionValue<'ctx>, n: u32) -> Option<BasicValueEnum<'ctx>> {
    instruction.get_operand(n).and_then(|o| o.value())
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

/// Replaces `phi` by one whose edges from `from` come from `to` (one
/// edge, however many `from` had); the C API cannot rename an incoming
/// block in place.
pub(crate) fn rename_incoming<'ctx>(
    builder: &Builder<'ctx>,
    phi: PhiValue<'ctx>,
    from: BasicBlock<'ctx>,
    to: BasicBlock<'ctx>,
) -> Result<PhiValue<'ctx>> {
    let old = phi.as_instruction();
    builder.position_before(&old);
    let renamed = check(builder.build_phi(phi.as_basic_value().get_type(), ""))?;
    let mut from_to = false;
    for (value, block) in phi.get_incomings() {
        if block == from {
            if !from_to {
                renamed.add_incoming(&[(&value, to)]);
                from_to = true;
            }
        } else {
            renamed.add_incoming(&[(&value, block)]);
        }
    }
    old.replace_all_uses_with(&renamed.as_instruction());
    old.erase_from_basic_block();
    Ok(renamed)
}

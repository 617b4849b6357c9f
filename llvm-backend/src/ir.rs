//! Reading LLVM IR in kiln's own passes (`canonicalize`, `running_sums`,
//! `zext_phis`, `carried_sums`): the few questions they all ask of an
//! instruction or a block.

use inkwell::basic_block::BasicBlock;
use inkwell::values::{BasicValueEnum, InstructionOpcode, InstructionValue};

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

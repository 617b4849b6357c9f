//! A second copy of a loop, entered from the same preheader.
//!
//! The loop must be in LLVM's canonical form (`loop-simplify` and `lcssa`):
//! one preheader, and every value defined inside the loop and used after
//! it passes through a `phi` in an exit block. The copy then needs no
//! `phi`s of its own outside the loop: each exit block's `phi`s get one
//! more incoming value per edge from the copy, the copy's own value.

use crate::codegen::builder::check;
use crate::error::{CompileError, Result};
use crate::ir::{redirect, successors};
use inkwell::basic_block::BasicBlock;
use inkwell::builder::Builder;
use inkwell::context::ContextRef;
use inkwell::values::{BasicValue, BasicValueEnum, InstructionOpcode, InstructionValue, PhiValue};
use std::collections::HashMap;

/// The blocks and instructions of a copy, by their originals.
pub(super) struct Copy<'ctx> {
    pub blocks: HashMap<BasicBlock<'ctx>, BasicBlock<'ctx>>,
    pub instructions: HashMap<InstructionValue<'ctx>, InstructionValue<'ctx>>,
}

impl<'ctx> Copy<'ctx> {
    fn value(&self, value: BasicValueEnum<'ctx>) -> BasicValueEnum<'ctx> {
        value
            .as_instruction_value()
            .and_then(|i| self.instructions.get(&i))
            .and_then(|&c| crate::ir::as_basic_value(c))
            .unwrap_or(value)
    }

    fn block(&self, block: BasicBlock<'ctx>) -> BasicBlock<'ctx> {
        self.blocks.get(&block).copied().unwrap_or(block)
    }
}

/// Whether every use of a value defined in `blocks` (a loop) outside them
/// is a `phi` of an exit block on an edge from the loop, as the copy
/// requires.
pub(super) fn closed<'ctx>(blocks: &[BasicBlock<'ctx>], in_loop: impl Fn(BasicBlock<'ctx>) -> bool) -> bool {
    blocks.iter().all(|&block| {
        instructions(block).into_iter().all(|i| {
            crate::ir::users(i).into_iter().all(|user| {
                let Some(at) = user.get_parent() else { return false };
                if in_loop(at) {
                    return true;
                }
                user.get_opcode() == InstructionOpcode::Phi
                    && PhiValue::try_from(user)
                        .is_ok_and(|phi| phi.get_incomings().all(|(v, from)| v.as_instruction_value() != Some(i) || in_loop(from)))
            })
        })
    })
}

/// Copies the loop made of `blocks` (header first), placing the copy after
/// `after`. The copy's header takes the same incoming values from
/// `preheader` as the original; nothing branches to it yet.
pub(super) fn copy_loop<'ctx>(
    context: ContextRef<'ctx>,
    builder: &Builder<'ctx>,
    blocks: &[BasicBlock<'ctx>],
    preheader: BasicBlock<'ctx>,
    after: BasicBlock<'ctx>,
) -> Result<Copy<'ctx>> {
    let mut copy = Copy { blocks: HashMap::new(), instructions: HashMap::new() };
    let mut last = after;
    for &block in blocks {
        let new = context.insert_basic_block_after(last, "fast");
        copy.blocks.insert(block, new);
        last = new;
    }
    // Instructions first, operands later: a `phi` may use a value defined
    // further down the loop.
    let mut phis = Vec::new();
    // In creation order: operands are set in this order, and the order of
    // each value's uses must not depend on hashing (passes walk use lists,
    // and the output must be the same every time).
    let mut order = Vec::new();
    for &block in blocks {
        builder.position_at_end(copy.block(block));
        for i in instructions(block) {
            let new = if i.get_opcode() == InstructionOpcode::Phi {
                let phi = PhiValue::try_from(i).map_err(|_| CompileError::internal("a phi is not a phi"))?;
                let new = check(builder.build_phi(phi.as_basic_value().get_type(), ""))?;
                phis.push((phi, new));
                new.as_instruction()
            } else {
                let new = i.explicit_clone();
                builder.insert_instruction(&new, None);
                new
            };
            copy.instructions.insert(i, new);
            order.push((i, new));
        }
    }
    for &(original, new) in &order {
        if original.get_opcode() == InstructionOpcode::Phi {
            continue;
        }
        for n in 0..new.get_num_operands() {
            if let Some(value) = crate::ir::operand(new, n) {
                let mapped = copy.value(value);
                if mapped != value && !new.set_operand(n, mapped) {
                    return Err(CompileError::internal("cannot set an operand of a copied instruction"));
                }
            }
        }
        if new.is_terminator() {
            for target in successors(original.get_parent().ok_or_else(|| CompileError::internal("detached"))?) {
                if copy.blocks.contains_key(&target) {
                    redirect(new, target, copy.block(target));
                }
            }
        }
    }
    for (phi, new) in phis {
        for (value, from) in phi.get_incomings() {
            let from = if from == preheader { preheader } else { copy.block(from) };
            new.add_incoming(&[(&copy.value(value), from)]);
        }
    }
    // Exit blocks: one more incoming value per edge from the copy.
    let mut exits = Vec::new();
    for &block in blocks {
        for target in successors(block) {
            if !copy.blocks.contains_key(&target) && !exits.contains(&target) {
                exits.push(target);
            }
        }
    }
    for exit in exits {
        for phi in crate::ir::leading_phis(exit) {
            let phi = PhiValue::try_from(phi).map_err(|_| CompileError::internal("a phi is not a phi"))?;
            let incoming: Vec<_> = phi.get_incomings().collect();
            for (value, from) in incoming {
                if let Some(&new_from) = copy.blocks.get(&from) {
                    phi.add_incoming(&[(&copy.value(value), new_from)]);
                }
            }
        }
    }
    Ok(copy)
}

/// The instructions of `block`, in order.
fn instructions(block: BasicBlock<'_>) -> Vec<InstructionValue<'_>> {
    let mut all = Vec::new();
    let mut next = block.get_first_instruction();
    while let Some(i) = next {
        all.push(i);
        next = i.get_next_instruction();
    }
    all
}

//! Loop-carried integer sums add the carried value last, after optimization.
//!
//! A multi-word multiply keeps a carry around its loop:
//! `t = a * b[j] + row[j] + carry; row[j] = t; carry = t >> 32`. Only the
//! carry waits for the previous iteration; the product and the load do
//! not, and an out-of-order core computes them ahead. So the loop runs
//! one iteration per trip around the cycle `carry -> t -> carry`, and that
//! cycle should hold one addition. LLVM's reassociation ranks a `phi` as
//! an early value and adds it first (`(carry + row[j]) + a * b[j]`), which
//! puts two additions on the cycle: bigint's schoolbook multiply ran at
//! three cycles per limb where two suffice.
//!
//! This pass rewrites such sums in loops of one block: where the value a
//! `phi` gets from the loop's back edge is an `add` tree (of single-use
//! `add`s, possibly followed by a shift, mask or extension) whose leaves
//! are the `phi` itself, deeper than at the root, and values that do not
//! depend on any value carried around the loop other than induction
//! variables, the other leaves are summed first and the `phi` is added to
//! that sum. Integer addition wraps, so any order gives the same bits (the
//! new additions carry no `nuw`/`nsw` flags). Trees with a second carried
//! leaf are left as they are: which of two carried values should come last
//! depends on latencies this pass does not know.
//!
//! x86's machine combiner would put the `phi` first again (it counts a
//! `phi` as ready when the block starts), so it is off (`pipeline`).

use crate::codegen::builder::{FnBuilder, Tags, Types};
use crate::error::{CompileError, Result};
use crate::ir::{back_edge_value, leading_phis, loops_to_itself, operand};
use inkwell::basic_block::BasicBlock;
use inkwell::module::Module;
use inkwell::values::{BasicValue, BasicValueEnum, InstructionOpcode, InstructionValue, IntValue};
use std::collections::HashSet;

/// How many shifts, masks and extensions may stand between a sum and the
/// back-edge value of its `phi`.
const STEPS_TO_PHI: usize = 3;

/// Rewrites every carried sum in `module` (see the module docs).
pub(crate) fn add_carried_values_last<'ctx>(module: &Module<'ctx>, types: Types<'ctx>) -> Result<()> {
    let b = FnBuilder::new(types, Tags::new(&types), module);
    let mut function = module.get_first_function();
    while let Some(f) = function {
        for block in f.get_basic_blocks().into_iter().filter(|&block| loops_to_itself(block)) {
            for phi in leading_phis(block) {
                rewrite(&b, block, phi)?;
            }
        }
        function = f.get_next_function();
    }
    Ok(())
}

/// The instruction computing `value` in `block`, if it does.
fn in_block<'ctx>(value: BasicValueEnum<'ctx>, block: BasicBlock<'ctx>) -> Option<InstructionValue<'ctx>> {
    let BasicValueEnum::IntValue(value) = value else { return None };
    value.as_instruction().filter(|i| i.get_parent() == Some(block))
}

fn is_constant(value: Option<BasicValueEnum<'_>>) -> bool {
    matches!(value, Some(BasicValueEnum::IntValue(v)) if v.is_const())
}

/// The `add` that `phi`'s back-edge value is computed from through at most
/// [`STEPS_TO_PHI`] shifts or masks by constants and extensions.
fn sum_root<'ctx>(phi: InstructionValue<'ctx>, block: BasicBlock<'ctx>) -> Option<InstructionValue<'ctx>> {
    let mut current = in_block(back_edge_value(phi, block)?, block)?;
    for _ in 0..=STEPS_TO_PHI {
        match current.get_opcode() {
            InstructionOpcode::Add => return Some(current),
            InstructionOpcode::LShr | InstructionOpcode::AShr | InstructionOpcode::Shl | InstructionOpcode::And
                if is_constant(operand(current, 1)) => {}
            InstructionOpcode::ZExt | InstructionOpcode::SExt | InstructionOpcode::Trunc => {}
            _ => return None,
        }
        current = in_block(operand(current, 0)?, block)?;
    }
    None
}

/// An `add` tree: its leaves with their depth (1 for the root's operands)
/// and its inner `add`s, each before the `add`s it reads from.
#[derive(Default)]
struct Tree<'ctx> {
    leaves: Vec<(IntValue<'ctx>, usize)>,
    inner: Vec<InstructionValue<'ctx>>,
}

impl<'ctx> Tree<'ctx> {
    fn of(root: InstructionValue<'ctx>, block: BasicBlock<'ctx>) -> Tree<'ctx> {
        let mut tree = Tree::default();
        tree.collect(root, 1, block);
        tree
    }

    fn collect(&mut self, node: InstructionValue<'ctx>, depth: usize, block: BasicBlock<'ctx>) {
        for n in 0..2 {
            let Some(BasicValueEnum::IntValue(value)) = operand(node, n) else { continue };
            match in_block(value.into(), block) {
                Some(add) if add.get_opcode() == InstructionOpcode::Add && has_one_use(add) => {
                    self.inner.push(add);
                    self.collect(add, depth + 1, block);
                }
                _ => self.leaves.push((value, depth)),
            }
        }
    }
}

fn has_one_use(instruction: InstructionValue<'_>) -> bool {
    instruction.get_first_use().is_some_and(|u| u.get_next_use().is_none())
}

/// Whether `value` depends, within `block`, on a `phi` of `block` that is
/// not an induction variable.
fn is_carried<'ctx>(
    value: BasicValueEnum<'ctx>,
    block: BasicBlock<'ctx>,
    seen: &mut HashSet<InstructionValue<'ctx>>,
) -> bool {
    let Some(instruction) = value.as_instruction_value().filter(|i| i.get_parent() == Some(block)) else {
        return false;
    };
    if !seen.insert(instruction) {
        return false;
    }
    if instruction.get_opcode() == InstructionOpcode::Phi {
        return !is_induction_variable(instruction, block);
    }
    instruction.get_operands().flatten().filter_map(|o| o.value()).any(|operand| is_carried(operand, block, seen))
}

/// Whether `phi` steps by a constant each time around `block`'s loop
/// (looking through extensions and truncations, as [`crate::zext_phis`]
/// leaves counters).
fn is_induction_variable<'ctx>(phi: InstructionValue<'ctx>, block: BasicBlock<'ctx>) -> bool {
    let strip = |value: Option<BasicValueEnum<'ctx>>| {
        let mut value = value?;
        while let Some(cast) = in_block(value, block).filter(|i| {
            matches!(i.get_opcode(), InstructionOpcode::ZExt | InstructionOpcode::SExt | InstructionOpcode::Trunc)
        }) {
            value = operand(cast, 0)?;
        }
        Some(value)
    };
    let Some(step) = strip(back_edge_value(phi, block)).and_then(|v| in_block(v, block)) else { return false };
    matches!(step.get_opcode(), InstructionOpcode::Add | InstructionOpcode::Sub)
        && is_constant(operand(step, 1))
        && strip(operand(step, 0)).and_then(|v| in_block(v, block)) == Some(phi)
}

fn rewrite<'ctx>(b: &FnBuilder<'_, 'ctx>, block: BasicBlock<'ctx>, phi: InstructionValue<'ctx>) -> Result<()> {
    let Some(root) = sum_root(phi, block) else { return Ok(()) };
    let tree = Tree::of(root, block);
    let is_phi = |v: &IntValue<'ctx>| v.as_instruction() == Some(phi);
    let (carried, others): (Vec<_>, Vec<_>) = tree.leaves.iter().partition(|(v, _)| is_phi(v));
    let [(carried, depth)] = carried.as_slice() else { return Ok(()) };
    if *depth < 2 || others.len() < 2 {
        return Ok(());
    }
    let mut seen = HashSet::new();
    if others.iter().any(|(v, _)| is_carried((*v).into(), block, &mut seen)) {
        return Ok(());
    }
    b.position_before(&root);
    let mut sum = others[0].0;
    for (v, _) in &others[1..] {
        sum = b.int_add(sum, *v)?;
    }
    let total = b.int_add(sum, *carried)?;
    let total = total.as_instruction().ok_or_else(|| CompileError::internal("a carried sum folded to a constant"))?;
    root.replace_all_uses_with(&total);
    root.erase_from_basic_block();
    for add in tree.inner {
        add.erase_from_basic_block();
    }
    Ok(())
}

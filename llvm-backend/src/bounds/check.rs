//! Reading a bounds check back from optimized IR.
//!
//! The optimizer keeps what a check means but not its shape: it swaps the
//! comparison's operands, folds `+ 1` into `>=`, merges the conditions of
//! several branches to the trap into one (`or`, `select`), and reaches the
//! memory length through `phi`s. [`Check::of`] reads all of those back
//! into parts `zext(address) + end > length`, and only from a branch whose
//! taken side raises "out of bounds memory access", so the meaning is
//! certain whatever the shape.

use crate::ir::operand;
use inkwell::IntPredicate;
use inkwell::basic_block::BasicBlock;
use inkwell::values::{BasicValue, BasicValueEnum, InstructionOpcode, InstructionValue, IntValue, PhiValue};

/// A bounds check as the optimizer left it: one branch to the trap, taken
/// when any of its parts is out of bounds (LLVM merges the conditions of
/// branches to the same block into one).
pub(super) struct Check<'ctx> {
    pub branch: InstructionValue<'ctx>,
    /// The successor taken when every part is in bounds.
    pub cont: BasicBlock<'ctx>,
    /// The successor that raises the trap.
    pub trap: BasicBlock<'ctx>,
    pub parts: Vec<Part<'ctx>>,
}

/// One access range a check tests: `zext(address) + end > length` (no
/// address: a constant), or for a 64-bit memory `address + end > length`
/// with an `i64` address, read from its form `address > length - end`,
/// which cannot wrap (`FnBuilder::bounds_check64`).
#[derive(Clone, Copy)]
pub(super) struct Part<'ctx> {
    pub address: Option<IntValue<'ctx>>,
    pub end: i64,
    /// Whether this is the `i64` form of a 64-bit memory.
    pub wide: bool,
    /// Where the length is loaded from: a memory definition and offset.
    pub definition: BasicValueEnum<'ctx>,
    pub length_at: i64,
}

impl<'ctx> Check<'ctx> {
    /// The check `branch` makes, if it is a bounds check: a conditional
    /// branch to the block that raises "out of bounds memory access", on
    /// comparisons of addresses with a memory's length.
    pub fn of(branch: InstructionValue<'ctx>, trap_code: u32) -> Option<Check<'ctx>> {
        if branch.get_opcode() != InstructionOpcode::Br || branch.get_num_operands() != 3 {
            return None;
        }
        // Successors of a conditional branch: operand 2 if true, 1 if false.
        let on_true = branch.get_operand(2)?.block()?;
        let on_false = branch.get_operand(1)?.block()?;
        let (trap_if_true, cont, trap) = if raises(on_true, trap_code) {
            (true, on_false, on_true)
        } else if raises(on_false, trap_code) {
            (false, on_true, on_false)
        } else {
            return None;
        };
        let mut parts = Vec::new();
        let mut conditions = vec![operand(branch, 0)?];
        while let Some(condition) = conditions.pop() {
            let i = condition.as_instruction_value()?;
            // A disjunction of traps, or a conjunction of in-bounds tests.
            let joined = match i.get_opcode() {
                InstructionOpcode::Or if trap_if_true => Some((operand(i, 0)?, operand(i, 1)?)),
                InstructionOpcode::And if !trap_if_true => Some((operand(i, 0)?, operand(i, 1)?)),
                InstructionOpcode::Select => {
                    let (then, otherwise) = (int(operand(i, 1)?)?, int(operand(i, 2)?)?);
                    if trap_if_true && then.get_zero_extended_constant() == Some(1) {
                        Some((operand(i, 0)?, otherwise.into()))
                    } else if !trap_if_true && otherwise.get_zero_extended_constant() == Some(0) {
                        Some((operand(i, 0)?, then.into()))
                    } else {
                        return None;
                    }
                }
                _ => None,
            };
            match joined {
                Some((x, y)) => conditions.extend([x, y]),
                None => parts.push(Part::of(i, trap_if_true)?),
            }
        }
        Some(Check { branch, cont, trap, parts })
    }
}

impl<'ctx> Part<'ctx> {
    /// The comparison `cmp`, which traps when it is `trap_if_true`.
    fn of(cmp: InstructionValue<'ctx>, trap_if_true: bool) -> Option<Part<'ctx>> {
        if cmp.get_opcode() != InstructionOpcode::ICmp {
            return None;
        }
        // `last > length` traps, in whichever form the optimizer left it:
        // the operands swapped, or `last + 1 > length` as `last >= length`.
        let (x, y) = (operand(cmp, 0)?, operand(cmp, 1)?);
        let (last, (length, room), pred) = match (length_less(y), length_less(x)) {
            (Some(length), _) => (int(x)?, length, cmp.get_icmp_predicate()?),
            (None, Some(length)) => (int(y)?, length, swapped(cmp.get_icmp_predicate()?)),
            (None, None) => return None,
        };
        let past_last = match (pred, trap_if_true) {
            (IntPredicate::UGT, true) | (IntPredicate::ULE, false) => 0,
            (IntPredicate::UGE, true) | (IntPredicate::ULT, false) => 1,
            _ => return None,
        };
        let (address, end) = offset_of(last, &[])?;
        let (definition, length_at) = pointer_offset(operand(length, 0)?, &[])?;
        let wide = room != 0;
        if wide && address.is_none_or(|a| a.get_type().get_bit_width() != 64) {
            return None;
        }
        let end = end.checked_add(past_last)?.checked_add(room)?;
        // Every end the translator writes is below 2^63. A larger one is
        // a comparison the optimizer merged: a 64-bit memory's `end >
        // length || address > length - end` with a constant address of
        // 2^63 or more became `length < address + end`, whose constant
        // reads back negative here and would pass any test. Such a check
        // is left as it is.
        if end < 0 {
            return None;
        }
        Some(Part { address, end, definition, length_at, wide })
    }
}

/// `value` as a memory length less a constant, `length - room` with `room`
/// positive (the right side of a 64-bit memory's check), or the length
/// itself (`room` 0); returns one load of the length and `room`.
fn length_less(value: BasicValueEnum<'_>) -> Option<(InstructionValue<'_>, i64)> {
    if let Some(length) = length_source(value) {
        return Some((length, 0));
    }
    let i = value.as_instruction_value()?;
    let constant = int(operand(i, 1)?)?.get_sign_extended_constant()?;
    let room = match i.get_opcode() {
        InstructionOpcode::Sub => constant,
        InstructionOpcode::Add => constant.checked_neg()?,
        _ => return None,
    };
    (room > 0).then_some((length_source(operand(i, 0)?)?, room))
}

/// Whether `block` raises trap `code`: it calls with `code` as its second
/// argument (the trap builtin takes the VM context, then the code) and
/// ends in `unreachable`, maybe after unconditional branches.
fn raises(block: BasicBlock<'_>, code: u32) -> bool {
    let mut block = block;
    for _ in 0..4 {
        let Some(terminator) = block.get_terminator() else { return false };
        match terminator.get_opcode() {
            InstructionOpcode::Br if terminator.get_num_operands() == 1 => {
                match terminator.get_operand(0).and_then(|o| o.block()) {
                    Some(next) => block = next,
                    None => return false,
                }
            }
            InstructionOpcode::Unreachable => {
                let Some(call) = terminator.get_previous_instruction() else { return false };
                return call.get_opcode() == InstructionOpcode::Call
                    && operand(call, 1)
                        .and_then(int)
                        .and_then(|c| c.get_zero_extended_constant())
                        .is_some_and(|c| c == u64::from(code));
            }
            _ => return false,
        }
    }
    false
}

/// The memory length `value` is: a load, or `phi`s (such as those `lcssa`
/// and GVN put at joins) whose incoming values are all loads of one
/// address. Returns one of the loads.
fn length_source(value: BasicValueEnum<'_>) -> Option<InstructionValue<'_>> {
    let mut seen = Vec::new();
    let mut work = vec![value.as_instruction_value()?];
    let mut load = None;
    let mut address = None;
    while let Some(i) = work.pop() {
        if seen.contains(&i) {
            continue;
        }
        seen.push(i);
        if seen.len() > 64 {
            return None;
        }
        match i.get_opcode() {
            InstructionOpcode::Load => {
                let at = pointer_offset(operand(i, 0)?, &[])?;
                if address.replace(at).is_some_and(|previous| previous != at) {
                    return None;
                }
                load.get_or_insert(i);
            }
            InstructionOpcode::Phi => {
                for (v, _) in PhiValue::try_from(i).ok()?.get_incomings() {
                    work.push(v.as_instruction_value()?);
                }
            }
            // A frozen length (loop unswitching freezes the conditions it
            // hoists) is the length: a load is never poison.
            InstructionOpcode::Freeze => work.push(operand(i, 0)?.as_instruction_value()?),
            _ => return None,
        }
    }
    load
}

/// `value`, with a `phi` of a block on `edges` replaced by what it
/// receives along the edge that enters it.
pub(super) fn along<'ctx>(value: BasicValueEnum<'ctx>, edges: &[(BasicBlock<'ctx>, BasicBlock<'ctx>)]) -> BasicValueEnum<'ctx> {
    let mut value = value;
    for _ in 0..=edges.len() {
        let Some(phi) = value.as_instruction_value().filter(|i| i.get_opcode() == InstructionOpcode::Phi) else {
            break;
        };
        let Some(&(from, _)) = edges.iter().find(|(_, to)| Some(*to) == phi.get_parent()) else { break };
        let Some(incoming) =
            PhiValue::try_from(phi).ok().and_then(|p| p.get_incomings().find(|&(_, b)| b == from).map(|(v, _)| v))
        else {
            break;
        };
        value = incoming;
    }
    value
}

/// `pointer` as `root + zext(index) + constant`, through `getelementptr i8`
/// chains (and the `phi`s on `edges`).
pub(super) fn pointer_terms<'ctx>(
    pointer: BasicValueEnum<'ctx>,
    edges: &[(BasicBlock<'ctx>, BasicBlock<'ctx>)],
) -> Option<(BasicValueEnum<'ctx>, Option<IntValue<'ctx>>, i64)> {
    let mut root = along(pointer, edges);
    let mut index = None;
    let mut constant = 0i64;
    while let Some(gep) = root.as_instruction_value().filter(|g| g.get_opcode() == InstructionOpcode::GetElementPtr) {
        let byte_steps = matches!(gep.get_gep_source_element_type().ok()?,
            inkwell::types::BasicTypeEnum::IntType(t) if t.get_bit_width() == 8);
        if gep.get_num_operands() != 2 || !byte_steps {
            return None;
        }
        let (term, c) = offset_of(int(operand(gep, 1)?)?, edges)?;
        if let Some(t) = term
            && index.replace(t).is_some()
        {
            return None;
        }
        constant = constant.checked_add(c)?;
        root = along(operand(gep, 0)?, edges);
    }
    Some((root, index, constant))
}

/// A pointer as `root + constant` (a `getelementptr i8` by a constant, or
/// the pointer itself).
pub(super) fn pointer_offset<'ctx>(
    pointer: BasicValueEnum<'ctx>,
    edges: &[(BasicBlock<'ctx>, BasicBlock<'ctx>)],
) -> Option<(BasicValueEnum<'ctx>, i64)> {
    match pointer_terms(pointer, edges)? {
        (root, None, c) => Some((root, c)),
        _ => None,
    }
}

/// An `i64` as `zext(address) + constant` (or a constant alone): through
/// additions of constants, and `zext` of an `i32` addition of a constant
/// that cannot wrap (`nuw`).
pub(super) fn offset_of<'ctx>(
    value: IntValue<'ctx>,
    edges: &[(BasicBlock<'ctx>, BasicBlock<'ctx>)],
) -> Option<(Option<IntValue<'ctx>>, i64)> {
    let value = int(along(value.into(), edges))?;
    if let Some(c) = value.get_sign_extended_constant() {
        return Some((None, c));
    }
    let i = value.as_instruction()?;
    match i.get_opcode() {
        InstructionOpcode::Add | InstructionOpcode::Or
            if i.get_opcode() == InstructionOpcode::Add || i.get_disjoint_flag().unwrap_or(false) =>
        {
            let (lhs, rhs) = (int(operand(i, 0)?)?, int(operand(i, 1)?)?);
            match rhs.get_sign_extended_constant() {
                Some(c) => {
                    let (term, k) = offset_of(lhs, edges)?;
                    Some((term, k.checked_add(c)?))
                }
                None => Some((Some(value), 0)),
            }
        }
        InstructionOpcode::ZExt => {
            let mut inner = int(along(operand(i, 0)?, edges))?;
            let mut k = 0i64;
            // `zext(x + c)` is `zext(x) + c` when the addition cannot wrap.
            while let Some(add) = inner.as_instruction().filter(|a| {
                a.get_opcode() == InstructionOpcode::Add && a.get_no_unsigned_wrap_flag().unwrap_or(false)
            }) {
                let Some(c) = operand(add, 1).and_then(int).and_then(|c| c.get_zero_extended_constant()) else { break };
                k += c as i64;
                inner = int(along(operand(add, 0)?, edges))?;
            }
            Some((Some(inner), k))
        }
        _ => Some((Some(value), 0)),
    }
}

/// The predicate with its operands exchanged.
fn swapped(pred: IntPredicate) -> IntPredicate {
    match pred {
        IntPredicate::UGT => IntPredicate::ULT,
        IntPredicate::ULT => IntPredicate::UGT,
        IntPredicate::UGE => IntPredicate::ULE,
        IntPredicate::ULE => IntPredicate::UGE,
        other => other,
    }
}

pub(super) fn int(value: BasicValueEnum<'_>) -> Option<IntValue<'_>> {
    match value {
        BasicValueEnum::IntValue(v) => Some(v),
        _ => None,
    }
}


//! With guard regions, the checks that are left after optimization are
//! handed to the hardware.
//!
//! Every access was translated with an explicit check (see the module
//! above), so the optimizer kept every trap in its place. Once it is done,
//! a check that is immediately followed by the very access it checks can
//! go: the access itself faults exactly when the check would have failed,
//! because everything from the memory's current length up to the end of
//! the reservation is inaccessible and the access's bytes are `[zext(a) +
//! offset, zext(a) + end)`, as the check's. The signal handler then
//! raises the same trap at the same point.
//!
//! What makes that exact:
//!
//! * *Immediately followed*: on the check's in-bounds edge (a block that
//!   only the check leads to) nothing with an effect comes before the
//!   access — no store, call, fence or atomic. Pure instructions and
//!   plain loads may (a load has no effect; if it faults first, the trap
//!   and the state are the same).
//! * *The very access*: its address is the memory's base (loaded from the
//!   same memory definition as the checked length) plus the check's
//!   zero-extended `i32` address plus a constant, and that constant plus
//!   the access's size is the check's end.
//! * *In its place*: the access becomes `volatile`. The optimizer is done
//!   by now, so this costs it nothing, but code generation must not move a
//!   faulting access across another memory access or a call, as it may
//!   move an ordinary one (AArch64 and RISC-V schedule with alias
//!   analysis). Accesses whose check an earlier check implied, or that a
//!   versioned loop proved in bounds, cannot fault and stay ordinary.
//! * Stores only where a faulting store writes none of its bytes: on
//!   x86-64. An AArch64 or RISC-V store that straddles the end of memory
//!   may write the bytes before it, so stores keep their checks there.

use crate::error::{CompileError, Result};
use crate::ir::{as_basic_value, operand};
use inkwell::IntPredicate;
use inkwell::basic_block::BasicBlock;
use inkwell::module::Module;
use inkwell::values::{BasicValue, BasicValueEnum, InstructionOpcode, InstructionValue, IntValue, PhiValue};

/// What [`rely_on_guard_region`] needs to know about the target and the
/// VM context.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GuardFacts {
    /// Whether a faulting store is guaranteed to write nothing.
    pub precise_stores: bool,
    /// Offset of `current_length` minus offset of `base` in a memory
    /// definition.
    pub length_after_base: i64,
    /// The code of "out of bounds memory access", which the trap blocks
    /// pass to the trap builtin.
    pub trap_code: u32,
}

/// Removes every check whose access can fault in its place (see the
/// module docs).
pub(crate) fn rely_on_guard_region(module: &Module<'_>, facts: GuardFacts) -> Result<()> {
    let context = module.get_context();
    let tbaa = context.get_kind_id("tbaa");
    let builder = context.create_builder();
    let mut function = module.get_first_function();
    while let Some(f) = function {
        for block in f.get_basic_blocks() {
            if let Some((check, accesses)) = handed_over(block, tbaa, facts) {
                for access in accesses {
                    access.set_volatile(true).map_err(|e| CompileError::internal(format_args!("volatile: {e}")))?;
                }
                let condition = operand(check.branch, 0).and_then(|c| c.as_instruction_value());
                builder.position_before(&check.branch);
                builder
                    .build_unconditional_branch(check.cont)
                    .map_err(|e| CompileError::internal(format_args!("{e}")))?;
                check.branch.erase_from_basic_block();
                crate::ir::delete_if_dead(condition);
            }
        }
        crate::ir::delete_unreachable_blocks(f);
        function = f.get_next_function();
    }
    Ok(())
}

/// Most blocks followed from a check to its access.
const MAX_PATH: usize = 8;

/// A bounds check as the optimizer left it: one branch to the trap, taken
/// when any of its parts is out of bounds (LLVM merges the conditions of
/// branches to the same block into one).
struct Check<'ctx> {
    branch: InstructionValue<'ctx>,
    /// The successor taken when every part is in bounds.
    cont: BasicBlock<'ctx>,
    parts: Vec<Part<'ctx>>,
}

/// One access range a check tests: `zext(address) + end > length` (no
/// address: a constant).
#[derive(Clone, Copy)]
struct Part<'ctx> {
    address: Option<IntValue<'ctx>>,
    end: i64,
    /// Where the length is loaded from: a memory definition and offset.
    definition: BasicValueEnum<'ctx>,
    length_at: i64,
}

impl<'ctx> Check<'ctx> {
    /// The check `branch` makes, if it is a bounds check: a conditional
    /// branch to the block that raises "out of bounds memory access", on
    /// comparisons of addresses with a memory's length.
    fn of(branch: InstructionValue<'ctx>, facts: GuardFacts) -> Option<Check<'ctx>> {
        if branch.get_opcode() != InstructionOpcode::Br || branch.get_num_operands() != 3 {
            return None;
        }
        // Successors of a conditional branch: operand 2 if true, 1 if false.
        let on_true = branch.get_operand(2)?.block()?;
        let on_false = branch.get_operand(1)?.block()?;
        let (trap_if_true, cont) = if raises(on_true, facts.trap_code) {
            (true, on_false)
        } else if raises(on_false, facts.trap_code) {
            (false, on_true)
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
        Some(Check { branch, cont, parts })
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
        let (last, length, pred) = match (length_source(y), length_source(x)) {
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
        Some(Part { address, end: end + past_last, definition, length_at })
    }
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

/// If `block` ends with a check the accesses after it can stand for: the
/// check and the accesses.
fn handed_over<'ctx>(
    block: BasicBlock<'ctx>,
    tbaa: u32,
    facts: GuardFacts,
) -> Option<(Check<'ctx>, Vec<InstructionValue<'ctx>>)> {
    let check = Check::of(block.get_terminator()?, facts)?;
    let mut unmatched = check.parts.clone();
    let mut accesses = Vec::new();
    // Follow the in-bounds edge through unconditional branches and other
    // bounds checks (failing one of those raises the same trap with the
    // same state), knowing which edge each `phi` on the way is entered by.
    let mut edges: Vec<(BasicBlock<'ctx>, BasicBlock<'ctx>)> = vec![(block, check.cont)];
    while edges.len() <= MAX_PATH {
        let &(_, current) = edges.last()?;
        let mut next = current.get_first_instruction();
        while let Some(i) = next {
            next = i.get_next_instruction();
            match i.get_opcode() {
                InstructionOpcode::Load | InstructionOpcode::Store => {
                    let is_store = i.get_opcode() == InstructionOpcode::Store;
                    let pointer = operand(i, if is_store { 1 } else { 0 })?;
                    let plain = i.get_metadata(tbaa).is_some()
                        && i.get_atomic_ordering().ok()? == inkwell::AtomicOrdering::NotAtomic
                        && (!is_store || facts.precise_stores);
                    let matched = access_size(i).filter(|_| plain).and_then(|size| {
                        unmatched.iter().position(|p| accesses_part(pointer, p, p.end - size, facts, &edges))
                    });
                    match matched {
                        Some(n) => {
                            unmatched.swap_remove(n);
                            accesses.push(i);
                            if unmatched.is_empty() {
                                return Some((check, accesses));
                            }
                        }
                        None if is_store => return None,
                        None => {}
                    }
                }
                InstructionOpcode::Br if i.get_num_operands() == 1 => {
                    edges.push((current, i.get_operand(0)?.block()?));
                    break;
                }
                InstructionOpcode::Br => {
                    edges.push((current, Check::of(i, facts)?.cont));
                    break;
                }
                InstructionOpcode::Call
                | InstructionOpcode::Invoke
                | InstructionOpcode::Fence
                | InstructionOpcode::AtomicRMW
                | InstructionOpcode::AtomicCmpXchg
                | InstructionOpcode::VAArg => return None,
                _ if i.is_terminator() => return None,
                _ => {}
            }
        }
    }
    None
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
            _ => return None,
        }
    }
    load
}

/// `value`, with a `phi` of a block on `edges` replaced by what it
/// receives along the edge that enters it.
fn along<'ctx>(value: BasicValueEnum<'ctx>, edges: &[(BasicBlock<'ctx>, BasicBlock<'ctx>)]) -> BasicValueEnum<'ctx> {
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

/// Whether `pointer` is `base + zext(address) + offset`, where `base` is
/// loaded from the memory definition whose length `check` reads and
/// `address` is the check's.
fn accesses_part<'ctx>(
    pointer: BasicValueEnum<'ctx>,
    check: &Part<'ctx>,
    offset: i64,
    facts: GuardFacts,
    edges: &[(BasicBlock<'ctx>, BasicBlock<'ctx>)],
) -> bool {
    let Some((root, index, constant)) = pointer_terms(pointer, edges) else { return false };
    if index != check.address || constant != offset {
        return false;
    }
    let Some(base) = root.as_instruction_value().filter(|b| b.get_opcode() == InstructionOpcode::Load) else {
        return false;
    };
    let Some((base_definition, base_at)) = operand(base, 0).and_then(|p| pointer_offset(p, &[])) else {
        return false;
    };
    base_definition == check.definition && check.length_at - base_at == facts.length_after_base
}

/// `pointer` as `root + zext(index) + constant`, through `getelementptr i8`
/// chains (and the `phi`s on `edges`).
fn pointer_terms<'ctx>(
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
        if let Some(t) = term {
            if index.replace(t).is_some() {
                return None;
            }
        }
        constant = constant.checked_add(c)?;
        root = along(operand(gep, 0)?, edges);
    }
    Some((root, index, constant))
}

/// A pointer as `root + constant` (a `getelementptr i8` by a constant, or
/// the pointer itself).
fn pointer_offset<'ctx>(
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
fn offset_of<'ctx>(
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

/// Bytes a load or store accesses.
fn access_size(access: InstructionValue<'_>) -> Option<i64> {
    let ty = if access.get_opcode() == InstructionOpcode::Store {
        operand(access, 0)?.get_type()
    } else {
        as_basic_value(access)?.get_type()
    };
    let bits = match ty {
        inkwell::types::BasicTypeEnum::IntType(t) => t.get_bit_width(),
        inkwell::types::BasicTypeEnum::FloatType(t) => {
            if t == t.get_context().f32_type() { 32 } else if t == t.get_context().f64_type() { 64 } else { return None }
        }
        inkwell::types::BasicTypeEnum::VectorType(v) => {
            let lanes = v.get_size();
            let lane = match v.get_element_type() {
                inkwell::types::BasicTypeEnum::IntType(t) => t.get_bit_width(),
                inkwell::types::BasicTypeEnum::FloatType(t) => {
                    if t == t.get_context().f32_type() { 32 } else { 64 }
                }
                _ => return None,
            };
            lanes * lane
        }
        inkwell::types::BasicTypeEnum::PointerType(_) => return None,
        _ => return None,
    };
    (bits % 8 == 0).then_some(i64::from(bits / 8))
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

fn int(value: BasicValueEnum<'_>) -> Option<IntValue<'_>> {
    match value {
        BasicValueEnum::IntValue(v) => Some(v),
        _ => None,
    }
}


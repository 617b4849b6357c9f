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
//! * Only 32-bit memories have a guard region. A check that reads the
//!   length of a 64-bit memory (memory64) stays, whatever its shape.

use crate::error::{CompileError, Result};
use super::check::{Check, Part, pointer_offset, pointer_terms};
use super::insert::LengthAt;
use crate::ir::{access_size, operand};
use inkwell::basic_block::BasicBlock;
use inkwell::module::Module;
use inkwell::values::{BasicValue, BasicValueEnum, InstructionOpcode, InstructionValue};

/// What [`rely_on_guard_region`] needs to know about the target and the
/// VM context.
#[derive(Clone, Debug)]
pub(crate) struct GuardFacts {
    /// Whether a faulting store is guaranteed to write nothing.
    pub precise_stores: bool,
    /// Offset of `current_length` minus offset of `base` in a memory
    /// definition.
    pub length_after_base: i64,
    /// The code of "out of bounds memory access", which the trap blocks
    /// pass to the trap builtin.
    pub trap_code: u32,
    /// Where the lengths of the memories without a guard region are: 64-bit
    /// memories and memories of one-byte pages
    /// (`kiln_abi::types::MemoryType::guarded`).
    pub unguarded: Vec<LengthAt>,
}

/// Removes every check whose access can fault in its place (see the
/// module docs).
pub(crate) fn rely_on_guard_region(module: &Module<'_>, facts: &GuardFacts) -> Result<()> {
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
                crate::ir::remove_incoming(&builder, check.trap, block)?;
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

/// If `block` ends with a check the accesses after it can stand for: the
/// check and the accesses.
fn handed_over<'ctx>(
    block: BasicBlock<'ctx>,
    tbaa: u32,
    facts: &GuardFacts,
) -> Option<(Check<'ctx>, Vec<InstructionValue<'ctx>>)> {
    let check = Check::of(block.get_terminator()?, facts.trap_code)?;
    if !raises_at_once(check.trap) || check.parts.iter().any(|p| unguarded(p, facts)) {
        return None;
    }
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
                        let size = i64::try_from(size).ok()?;
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
                    edges.push((current, Check::of(i, facts.trap_code)?.cont));
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

/// Whether the trap path starting at `block` does nothing before raising
/// the trap. The optimizer may sink a store into it (a global it kept in a
/// register through a loop, written back on every exit); a fault would
/// skip that store, so such a check stays.
fn raises_at_once(block: BasicBlock<'_>) -> bool {
    let mut block = block;
    for _ in 0..4 {
        let mut next = block.get_first_instruction();
        while let Some(i) = next {
            next = i.get_next_instruction();
            match i.get_opcode() {
                // The trap builtin's call, right before `unreachable`.
                InstructionOpcode::Call => {
                    return next.is_some_and(|n| n.get_opcode() == InstructionOpcode::Unreachable);
                }
                InstructionOpcode::Br if i.get_num_operands() == 1 => match i.get_operand(0).and_then(|o| o.block()) {
                    Some(successor) => block = successor,
                    None => return false,
                },
                InstructionOpcode::Store
                | InstructionOpcode::Invoke
                | InstructionOpcode::Fence
                | InstructionOpcode::AtomicRMW
                | InstructionOpcode::AtomicCmpXchg
                | InstructionOpcode::VAArg => return false,
                InstructionOpcode::Load if i.get_volatile().unwrap_or(true) => return false,
                _ if i.is_terminator() => return false,
                _ => {}
            }
        }
    }
    false
}

/// Whether `pointer` is `base + zext(address) + offset`, where `base` is
/// loaded from the memory definition whose length `check` reads and
/// `address` is the check's.
fn accesses_part<'ctx>(
    pointer: BasicValueEnum<'ctx>,
    check: &Part<'ctx>,
    offset: i64,
    facts: &GuardFacts,
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


/// Whether `part` reads the length of a memory without a guard region: a
/// defined one's from the VM context (a function parameter, not an
/// instruction), an imported one's from the definition whose address is
/// loaded from its slot.
fn unguarded(part: &Part<'_>, facts: &GuardFacts) -> bool {
    facts.unguarded.iter().any(|place| match *place {
        LengthAt::Defined(at) => part.length_at == i64::from(at) && part.definition.as_instruction_value().is_none(),
        LengthAt::Imported { slot, field } => {
            part.length_at == i64::from(field)
                && part
                    .definition
                    .as_instruction_value()
                    .filter(|load| load.get_opcode() == InstructionOpcode::Load)
                    .and_then(|load| operand(load, 0))
                    .and_then(|pointer| pointer_offset(pointer, &[]))
                    .is_some_and(|(_, at)| at == i64::from(slot))
        }
    })
}

//! Exact traps at the speed of unchecked loops: bounds checks hoisted out
//! of loops by versioning.
//!
//! # Why every access is checked
//!
//! A wasm trap is exact: everything before the faulting access has
//! happened (stores to memory, globals and tables included) and nothing
//! after it. LLVM's optimizer assumes a load or store cannot trap: it
//! deletes a load whose value is unused, sinks one past a branch, drops a
//! store that a later store overwrites across a load, keeps a global in a
//! register through a loop of loads, and vectorizes loops so that a whole
//! group of elements is loaded before any of them is stored. With a fault
//! in the guard region as the only check, each of those moves a trap or
//! loses an effect. So every linear-memory access is translated with an
//! explicit check, in every bounds-check mode: `zext(address) + end >
//! length` branches to a block that raises the trap
//! (`FnBuilder::bounds_check`, marked with `kiln.bounds` metadata). A
//! branch to a call that may read any memory is something LLVM keeps in
//! order with every other effect, and a check stays even when its access
//! is deleted.
//!
//! # Loops
//!
//! Checked per access, a loop does a compare and a branch per access and
//! cannot be vectorized (each check is an exit). This pass gives each
//! innermost loop a second copy without the checks it can account for,
//! and a test before the loop that picks the copy:
//!
//! * The loop's controlling exit and how many times it goes round, `N`,
//!   come from [`trip`]; each checked address as a function `a + s·k` of
//!   the iteration number `k` from [`affine`].
//! * An access in a block that runs before the controlling exit may run in
//!   iterations `0..=N`, one after it in `0..N`. An affine address takes
//!   its extreme values at the ends of that range, so two comparisons per
//!   address decide whether every access of every iteration is in bounds
//!   (accesses that differ only by a constant share them). The extremes
//!   are computed in 64 bits from the zero-extended start and the
//!   sign-extended step, so an address that would wrap around 2^32 fails
//!   the test.
//! * The memory's length is read once, before the loop. Memories only
//!   grow, so a range in bounds then stays in bounds however the loop
//!   grows memory (and the base never moves).
//! * When the test holds, the copy runs: its accounted-for checks branch
//!   straight on, and LLVM vectorizes and unrolls it like native code.
//!   Otherwise the original loop runs, every check in place, and traps
//!   exactly where wasm says. The test is conservative: a loop that leaves
//!   early (a `break`, a trap elsewhere) may run checked although it would
//!   have stayed in bounds, never the reverse.
//!
//! Checks the pass cannot account for (an address loaded from memory, a
//! loop without a computable trip count) stay in both copies.

mod affine;
mod clone;
mod guard;
mod trip;

pub(crate) use guard::{GuardFacts, rely_on_guard_region};

use crate::cfg::{Cfg, Loop};
use crate::codegen::builder::{BOUNDS_CHECK, FnBuilder, Tags, Types};
use crate::error::{CompileError, Result};
use crate::ir::operand;
use affine::{Leaves, Poly};
use inkwell::IntPredicate;
use inkwell::basic_block::BasicBlock;
use inkwell::module::Module;
use inkwell::values::{BasicValue, BasicValueEnum, FunctionValue, InstructionOpcode, InstructionValue, IntValue, PointerValue};
use std::collections::HashSet;
use trip::Exit;

/// Loops with more instructions than this are not copied.
const MAX_LOOP_INSTRUCTIONS: usize = 4000;

/// Versions every innermost loop of `module` that has checks the pass can
/// account for (see the module docs). The module must be in loop-simplify
/// and LCSSA form.
pub(crate) fn version_loops<'ctx>(module: &Module<'ctx>, types: Types<'ctx>) -> Result<()> {
    let kind = module.get_context().get_kind_id(BOUNDS_CHECK);
    let b = FnBuilder::new(types, Tags::new(&types), module);
    let mut function = module.get_first_function();
    while let Some(f) = function {
        version_function(f, kind, &b, types)?;
        function = f.get_next_function();
    }
    Ok(())
}

fn version_function<'ctx>(f: FunctionValue<'ctx>, kind: u32, b: &FnBuilder<'_, 'ctx>, types: Types<'ctx>) -> Result<()> {
    let Some(cfg) = Cfg::of(f) else { return Ok(()) };
    let loops = cfg.loops();
    let headers: Vec<usize> = loops.iter().map(|l| l.header).collect();
    for l in &loops {
        let innermost = !headers.iter().any(|&h| h != l.header && l.contains(h));
        if innermost && let Some(plan) = Plan::of(&cfg, l, kind, types) {
            plan.apply(b, types)?;
        }
    }
    Ok(())
}

/// One bounds check in a loop.
struct Check<'ctx> {
    /// The conditional branch to the trap.
    branch: InstructionValue<'ctx>,
    /// The checked `i32` address.
    address: Option<IntValue<'ctx>>,
    /// Offset plus access size: the check is `zext(address) + end > length`.
    end: u64,
    /// The load of the memory's length.
    length: InstructionValue<'ctx>,
    /// Whether the check's block runs after the controlling exit in an
    /// iteration (only in iterations `0..N`).
    after_exit: bool,
}

/// How to version one loop.
struct Plan<'ctx> {
    blocks: Vec<BasicBlock<'ctx>>,
    preheader: BasicBlock<'ctx>,
    exit: Exit<'ctx>,
    leaves: Leaves<'ctx>,
    checks: Vec<(Check<'ctx>, affine::Affine)>,
}

impl<'ctx> Plan<'ctx> {
    fn of(cfg: &Cfg<'ctx>, l: &Loop, kind: u32, types: Types<'ctx>) -> Option<Plan<'ctx>> {
        let blocks: Vec<BasicBlock<'ctx>> = l.blocks.iter().map(|&i| cfg.blocks[i]).collect();
        let size: usize = blocks.iter().map(|b| count_instructions(*b)).sum();
        if size > MAX_LOOP_INSTRUCTIONS || l.latches.len() != 1 {
            return None;
        }
        let latch = l.latches[0];
        // The one predecessor from outside, which only enters the loop.
        let outside: Vec<usize> = cfg.predecessors(l.header).iter().copied().filter(|&p| !l.contains(p)).collect();
        let [preheader] = outside[..] else { return None };
        if cfg.successors(preheader) != [l.header] {
            return None;
        }
        let member: HashSet<BasicBlock<'ctx>> = blocks.iter().copied().collect();
        let in_loop = move |b: BasicBlock<'ctx>| member.contains(&b);
        if !clone::closed(&blocks, in_loop.clone()) {
            return None;
        }
        let mut leaves = Leaves::new(types.i32, cfg.blocks[l.header], cfg.blocks[preheader], in_loop.clone());

        // The controlling exit: the latch if it qualifies, else the first
        // block (in reverse post-order) that runs in every iteration.
        let candidates = std::iter::once(latch).chain(l.blocks.iter().copied().filter(|&b| cfg.dominates(b, latch)));
        let exit = candidates.into_iter().find_map(|b| Exit::of(cfg.blocks[b], &mut leaves, in_loop.clone()))?;
        let exit_index = cfg.index_of(exit.block)?;
        let stay_index = cfg.index_of(exit.stay)?;
        let stay_is_after = exit_index != latch
            && exit.stay != cfg.blocks[l.header]
            && cfg.predecessors(stay_index) == [exit_index];

        let mut checks = Vec::new();
        for &bi in &l.blocks {
            let Some(check) = bounds_check(cfg.blocks[bi], kind) else { continue };
            if !hoistable(check.length, &leaves) {
                continue;
            }
            let after_exit = stay_is_after && cfg.dominates(stay_index, bi);
            let check = Check { after_exit, ..check };
            let form = match check.address {
                Some(a) => leaves.affine(a),
                None => Some(affine::Affine { base: Poly::constant(0), step: Poly::constant(0) }),
            };
            if let Some(form) = form {
                checks.push((check, form));
            }
        }
        if checks.is_empty() {
            return None;
        }
        Some(Plan { blocks, preheader: cfg.blocks[preheader], exit, leaves, checks })
    }

    fn apply(self, b: &FnBuilder<'_, 'ctx>, types: Types<'ctx>) -> Result<()> {
        let terminator = self
            .preheader
            .get_terminator()
            .ok_or_else(|| CompileError::internal("a loop preheader without terminator"))?;
        b.position_before(&terminator);
        let Some(trips) = self.exit.emit_trip_count(b, &self.leaves)? else {
            return Ok(());
        };
        let i64t = types.i64;
        let last_before = trips.n;
        let last_after = b.int_sub(trips.n, i64t.const_int(1, false))?;
        let mut all = trips.valid;
        // Accesses differing only in a constant share one test.
        let mut groups: Vec<Group<'ctx>> = Vec::new();
        for (check, form) in &self.checks {
            let (key, c) = form.base.split_constant();
            let c = i64::from(c as i32);
            let end = c + check.end as i64;
            let length_ptr = length_key(check.length)?;
            match groups.iter_mut().find(|g| {
                g.key == key && g.step == form.step && g.after_exit == check.after_exit && g.length_ptr == length_ptr
            }) {
                Some(g) => {
                    g.min = g.min.min(c);
                    g.max_end = g.max_end.max(end);
                }
                None => groups.push(Group {
                    key,
                    step: form.step.clone(),
                    after_exit: check.after_exit,
                    length_ptr,
                    length: check.length,
                    min: c,
                    max_end: end,
                }),
            }
        }
        let mut lengths: Vec<(&[BasicValueEnum<'ctx>], IntValue<'ctx>)> = Vec::new();
        for g in &groups {
            let length = match lengths.iter().find(|(p, _)| *p == g.length_ptr.as_slice()) {
                Some(&(_, l)) => l,
                None => {
                    let l = reload_length(b, g.length, &self.leaves)?;
                    lengths.push((&g.length_ptr, l));
                    l
                }
            };
            let start = self.leaves.emit(b, &g.key.add(&Poly::constant(g.min as u32)).unwrap_or(g.key.clone()))?;
            let start = b.zext(start, i64t)?;
            let step = b.sext(self.leaves.emit(b, &g.step)?, i64t)?;
            let last = if g.after_exit { last_after } else { last_before };
            let moved = b.int_add(start, b.int_mul(step, last)?)?;
            let low = smin(b, start, moved)?;
            let high = b.int_add(smax(b, start, moved)?, i64t.const_int((g.max_end - g.min) as u64, true))?;
            let fits = b.and(
                b.icmp(IntPredicate::SGE, low, i64t.const_zero())?,
                b.icmp(IntPredicate::SLE, high, length)?,
            )?;
            all = b.and(all, fits)?;
        }
        let context = self.preheader.get_context();
        let builder = context.create_builder();
        let after = *self.blocks.last().ok_or_else(|| CompileError::internal("an empty loop"))?;
        let copy = clone::copy_loop(context, &builder, &self.blocks, self.preheader, after)?;
        // The copy's accounted-for checks never branch to the trap.
        let never = types.context.bool_type().const_zero();
        for (check, _) in &self.checks {
            let branch = copy.instructions.get(&check.branch).ok_or_else(|| CompileError::internal("uncopied check"))?;
            branch.set_operand(0, never);
        }
        let header = self.blocks[0];
        let fast_header = copy.blocks[&header];
        b.position_before(&terminator);
        b.cond_br_likely(all, fast_header, header)?;
        terminator.erase_from_basic_block();
        Ok(())
    }
}

/// Accesses whose tests are shared: same address but for a constant, same
/// step, same memory, same iteration range.
struct Group<'ctx> {
    key: Poly,
    step: Poly,
    after_exit: bool,
    length_ptr: Vec<BasicValueEnum<'ctx>>,
    length: InstructionValue<'ctx>,
    /// Smallest constant part of the addresses.
    min: i64,
    /// Largest constant part plus `end`.
    max_end: i64,
}

/// The bounds check `block` ends with, if it ends with one.
fn bounds_check(block: BasicBlock<'_>, kind: u32) -> Option<Check<'_>> {
    let branch = block.get_terminator()?;
    if branch.get_opcode() != InstructionOpcode::Br || branch.get_num_operands() != 3 {
        return None;
    }
    let cmp = operand(branch, 0)?.as_instruction_value()?;
    cmp.get_metadata(kind)?;
    let last = operand(cmp, 0)?.into_int_value();
    let length = operand(cmp, 1)?.as_instruction_value().filter(|l| l.get_opcode() == InstructionOpcode::Load)?;
    let (address, end) = match last.get_zero_extended_constant() {
        Some(end) => (None, end),
        None => {
            let add = last.as_instruction().filter(|a| a.get_opcode() == InstructionOpcode::Add)?;
            let end = operand(add, 1)?.into_int_value().get_zero_extended_constant()?;
            let index = operand(add, 0)?.as_instruction_value().filter(|z| z.get_opcode() == InstructionOpcode::ZExt)?;
            (Some(operand(index, 0)?.into_int_value()), end)
        }
    };
    Some(Check { branch, address, end, length, after_exit: false })
}

/// Whether the length load's address can be computed before the loop.
fn hoistable<'ctx>(length: InstructionValue<'ctx>, leaves: &Leaves<'ctx>) -> bool {
    let Some(ptr) = operand(length, 0) else { return false };
    if leaves.is_invariant(ptr) {
        return true;
    }
    ptr.as_instruction_value().is_some_and(|gep| {
        gep.get_opcode() == InstructionOpcode::GetElementPtr
            && (0..gep.get_num_operands()).all(|n| operand(gep, n).is_some_and(|o| leaves.is_invariant(o)))
    })
}

/// What identifies the memory a length load reads: its address, or the
/// operands of the `getelementptr` computing it (each access computes its
/// own, from the same operands).
fn length_key(load: InstructionValue<'_>) -> Result<Vec<BasicValueEnum<'_>>> {
    let ptr = pointer_operand(load)?;
    Ok(match ptr.as_instruction().filter(|i| i.get_opcode() == InstructionOpcode::GetElementPtr) {
        Some(gep) => (0..gep.get_num_operands()).filter_map(|n| operand(gep, n)).collect(),
        None => vec![ptr.into()],
    })
}

fn pointer_operand(load: InstructionValue<'_>) -> Result<PointerValue<'_>> {
    match operand(load, 0) {
        Some(BasicValueEnum::PointerValue(p)) => Ok(p),
        _ => Err(CompileError::internal("a memory length load without a pointer operand")),
    }
}

/// A fresh load of the memory length `length` loads, at `b`'s position
/// (before the loop), with the same type and metadata.
fn reload_length<'ctx>(b: &FnBuilder<'_, 'ctx>, length: InstructionValue<'ctx>, leaves: &Leaves<'ctx>) -> Result<IntValue<'ctx>> {
    let ptr = pointer_operand(length)?;
    let ptr: BasicValueEnum<'ctx> = if leaves.is_invariant(ptr.into()) {
        ptr.into()
    } else {
        let gep = ptr.as_instruction().ok_or_else(|| CompileError::internal("length address"))?;
        let copy = gep.explicit_clone();
        b.insert(&copy);
        crate::ir::as_basic_value(copy).ok_or_else(|| CompileError::internal("length address"))?
    };
    let load = length.explicit_clone();
    b.insert(&load);
    load.set_operand(0, ptr);
    crate::ir::as_basic_value(load)
        .map(|v| v.into_int_value())
        .ok_or_else(|| CompileError::internal("memory length is not an integer"))
}

fn smin<'ctx>(b: &FnBuilder<'_, 'ctx>, x: IntValue<'ctx>, y: IntValue<'ctx>) -> Result<IntValue<'ctx>> {
    Ok(b.select(b.icmp(IntPredicate::SLT, x, y)?, x, y)?.into_int_value())
}

fn smax<'ctx>(b: &FnBuilder<'_, 'ctx>, x: IntValue<'ctx>, y: IntValue<'ctx>) -> Result<IntValue<'ctx>> {
    Ok(b.select(b.icmp(IntPredicate::SGT, x, y)?, x, y)?.into_int_value())
}

fn count_instructions(block: BasicBlock<'_>) -> usize {
    let mut n = 0;
    let mut next = block.get_first_instruction();
    while let Some(i) = next {
        n += 1;
        next = i.get_next_instruction();
    }
    n
}


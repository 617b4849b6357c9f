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
//!   the test. A 64-bit memory's addresses are `i64`s, read from its
//!   checks' own form (`address > length - end`); the test uses them as
//!   they are and also requires the start below 2^62 and the step within
//!   2^31 of zero, so that its arithmetic cannot overflow either (the
//!   trip count is below 2^31). Its loops may count in `i64` too
//!   ([`trip`]).
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
//!
//! # Several memories
//!
//! Every fact here belongs to one memory (multi-memory). An access's mark
//! names its memory and its check reads that memory's length
//! ([`insert_checks`]); a check is read back as the place its length is
//! loaded from (a memory definition and offset, [`check::Part`]), so the
//! test before a versioned loop groups ranges by memory and compares each
//! group with its own memory's length, and a check is handed to the guard
//! region only for an access whose base is loaded from the same definition
//! ([`rely_on_guard_region`]). Two memories' lengths are two loads from
//! two places, which LLVM never merges, so neither can a check of one
//! memory stand for an access of another.

mod affine;
mod check;
mod clone;
mod guard;
mod insert;
mod trip;

pub(crate) use guard::{GuardFacts, rely_on_guard_region};
pub(crate) use insert::{LengthAt, Sandbox, insert_checks};

use crate::cfg::{Cfg, Loop};
use crate::codegen::builder::{Access, FnBuilder, Tags, Types};
use crate::error::{CompileError, Result};
use affine::{Affine, Leaves, Poly};
use check::{Check, Part};
use inkwell::IntPredicate;
use inkwell::basic_block::BasicBlock;
use inkwell::module::Module;
use inkwell::values::{BasicValueEnum, FunctionValue, IntValue};
use std::collections::HashSet;
use trip::Exit;

/// Loops with more instructions than this are not copied.
const MAX_LOOP_INSTRUCTIONS: usize = 4000;

/// Bound on the constant parts of a 64-bit memory's addresses (and their
/// accesses' ends) that the test before a loop accounts for: far below
/// 2^62, so that adding them to a start below 2^62 cannot overflow.
const SMALL: u64 = 1 << 40;

/// Versions every innermost loop of `module` that has checks the pass can
/// account for (see the module docs); `trap_code` is the code of "out of
/// bounds memory access". The module must be in loop-simplify and LCSSA
/// form.
pub(crate) fn version_loops<'ctx>(module: &Module<'ctx>, types: Types<'ctx>, trap_code: u32) -> Result<()> {
    let b = FnBuilder::new(types, Tags::new(&types), module);
    let mut function = module.get_first_function();
    while let Some(f) = function {
        version_function(f, trap_code, &b, types)?;
        function = f.get_next_function();
    }
    Ok(())
}

fn version_function<'ctx>(
    f: FunctionValue<'ctx>,
    trap_code: u32,
    b: &FnBuilder<'_, 'ctx>,
    types: Types<'ctx>,
) -> Result<()> {
    let Some(cfg) = Cfg::of(f) else { return Ok(()) };
    let loops = cfg.loops();
    let headers: Vec<usize> = loops.iter().map(|l| l.header).collect();
    for l in &loops {
        let innermost = !headers.iter().any(|&h| h != l.header && l.contains(h));
        if innermost && let Some(plan) = Plan::of(&cfg, l, trap_code, types) {
            plan.apply(b, types)?;
        }
    }
    Ok(())
}

/// One part of a check in a loop, as a function of the iteration number.
struct Range<'ctx> {
    part: Part<'ctx>,
    address: Affine,
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
    /// The checks the test before the loop stands for, and their parts.
    checks: Vec<Check<'ctx>>,
    ranges: Vec<Range<'ctx>>,
}

impl<'ctx> Plan<'ctx> {
    fn of(cfg: &Cfg<'ctx>, l: &Loop, trap_code: u32, types: Types<'ctx>) -> Option<Plan<'ctx>> {
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
        let mut leaves = Leaves::new(cfg.blocks[l.header], cfg.blocks[preheader], in_loop.clone());

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
        let mut ranges = Vec::new();
        for &bi in &l.blocks {
            let Some(check) = cfg.blocks[bi].get_terminator().and_then(|t| Check::of(t, trap_code)) else { continue };
            let after_exit = stay_is_after && cfg.dominates(stay_index, bi);
            let mut parts = Vec::new();
            for part in &check.parts {
                if !leaves.is_invariant(part.definition) {
                    break;
                }
                let address = match part.address {
                    None => Some(Affine { base: Poly::constant(0, 32), step: Poly::constant(0, 32) }),
                    Some(a) if a.get_type() == types.i32 => leaves.affine(a),
                    // A 64-bit memory's address, whose constant part must
                    // be small enough for the test's arithmetic.
                    Some(a) if part.wide && part.end.unsigned_abs() < SMALL => {
                        leaves.affine(a).filter(|a| a.base.split_constant().1.unsigned_abs() < SMALL)
                    }
                    Some(_) => None,
                };
                match address {
                    Some(address) => parts.push(Range { part: *part, address, after_exit }),
                    None => break,
                }
            }
            // A check stands for its parts only all together.
            if parts.len() == check.parts.len() {
                ranges.extend(parts);
                checks.push(check);
            }
        }
        if checks.is_empty() || !vectorizable_shape(cfg, l, &exit, &checks) {
            return None;
        }
        Some(Plan { blocks, preheader: cfg.blocks[preheader], exit, leaves, checks, ranges })
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
        for range in &self.ranges {
            let (key, c) = range.address.base.split_constant();
            let end = c + range.part.end;
            let same = |g: &&mut Group<'ctx>| {
                g.key == key
                    && g.step == range.address.step
                    && g.after_exit == range.after_exit
                    && g.definition == range.part.definition
                    && g.length_at == range.part.length_at
            };
            match groups.iter_mut().find(same) {
                Some(g) => {
                    g.min = g.min.min(c);
                    g.max_end = g.max_end.max(end);
                }
                None => groups.push(Group {
                    key,
                    step: range.address.step.clone(),
                    after_exit: range.after_exit,
                    definition: range.part.definition,
                    length_at: range.part.length_at,
                    min: c,
                    max_end: end,
                }),
            }
        }
        let mut lengths: Vec<((BasicValueEnum<'ctx>, i64), IntValue<'ctx>)> = Vec::new();
        for g in &groups {
            let place = (g.definition, g.length_at);
            let length = match lengths.iter().find(|(p, _)| *p == place) {
                Some(&(_, l)) => l,
                None => {
                    let l = reload_length(b, g.definition, g.length_at)?;
                    lengths.push((place, l));
                    l
                }
            };
            let first = g.key.add(&Poly::constant(g.min as u64, g.key.bits())).unwrap_or_else(|| g.key.clone());
            let (start, step) = (self.leaves.emit(b, &first)?, self.leaves.emit(b, &g.step)?);
            let (start, step) = if g.key.bits() == 64 {
                // `i64` values used as they are: the start below 2^62 and
                // the step's magnitude at most 2^31, so with `N` below
                // 2^31 nothing below overflows.
                let near = b.icmp(IntPredicate::ULE, start, i64t.const_int(1 << 62, false))?;
                let shifted = b.int_add(step, i64t.const_int(1 << 31, false))?;
                let small = b.icmp(IntPredicate::ULE, shifted, i64t.const_int(1 << 32, false))?;
                all = b.and(all, b.and(near, small)?)?;
                (start, step)
            } else {
                (b.zext(start, i64t)?, b.sext(step, i64t)?)
            };
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
        // The copy's accounted-for checks never branch to the trap: their
        // conditions become the constant that goes on.
        for check in &self.checks {
            let branch = copy.instructions.get(&check.branch).ok_or_else(|| CompileError::internal("uncopied check"))?;
            let goes_on_if_true = check.branch.get_operand(2).and_then(|o| o.block()) == Some(check.cont);
            let bool_type = types.context.bool_type();
            let go_on = if goes_on_if_true { bool_type.const_all_ones() } else { bool_type.const_zero() };
            branch.set_operand(0, go_on);
        }
        let header = self.blocks[0];
        let fast_header = copy.blocks[&header];
        b.position_before(&terminator);
        b.cond_br_likely(all, fast_header, header)?;
        terminator.erase_from_basic_block();
        Ok(())
    }
}

/// Whether the copy without the checks could be vectorized: it leaves only
/// by the controlling exit and calls no function but LLVM's intrinsics.
/// Other loops are left as they are: a loop that leaves early on data (a
/// search, a comparison) or calls out is not vectorized, and there the
/// test before the loop costs more than the checks it saves, which are
/// cheap (with guard regions, most are handed to the hardware).
fn vectorizable_shape<'ctx>(cfg: &Cfg<'ctx>, l: &Loop, exit: &Exit<'ctx>, checks: &[Check<'ctx>]) -> bool {
    let accounted: Vec<BasicBlock<'ctx>> = checks.iter().filter_map(|c| c.branch.get_parent()).collect();
    l.blocks.iter().all(|&bi| {
        let block = cfg.blocks[bi];
        let leaves = cfg.successors(bi).iter().any(|&s| !l.contains(s));
        let exit_allowed = !leaves || block == exit.block || accounted.contains(&block);
        exit_allowed && calls_only_intrinsics(block)
    })
}

/// Whether every call in `block` is to an LLVM intrinsic.
fn calls_only_intrinsics(block: BasicBlock<'_>) -> bool {
    let mut next = block.get_first_instruction();
    while let Some(i) = next {
        next = i.get_next_instruction();
        if i.get_opcode() == inkwell::values::InstructionOpcode::Call
            && !crate::ir::called_name(i).is_some_and(|name| name.starts_with("llvm."))
        {
            return false;
        }
    }
    true
}

/// Accesses whose tests are shared: same address but for a constant, same
/// step, same memory, same iteration range.
struct Group<'ctx> {
    key: Poly,
    step: Poly,
    after_exit: bool,
    definition: BasicValueEnum<'ctx>,
    length_at: i64,
    /// Smallest constant part of the addresses.
    min: i64,
    /// Largest constant part plus `end`.
    max_end: i64,
}

/// A load of the memory length at `definition + at`, at `b`'s position
/// (before the loop; the definition's address is fixed while it runs).
fn reload_length<'ctx>(b: &FnBuilder<'_, 'ctx>, definition: BasicValueEnum<'ctx>, at: i64) -> Result<IntValue<'ctx>> {
    let BasicValueEnum::PointerValue(definition) = definition else {
        return Err(CompileError::internal("a memory definition is not a pointer"));
    };
    let at = u32::try_from(at).map_err(|_| CompileError::internal("a memory length beyond the VM context"))?;
    let length = b.load_intptr_field(definition, at, Access::MemoryLength)?;
    b.zext_or_same(length, b.types.i64)
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

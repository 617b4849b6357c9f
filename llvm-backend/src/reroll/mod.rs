//! Loops the producer unrolled, rolled back up before optimization.
//!
//! clang unrolls a loop whose trip count is known only at run time before
//! it emits wasm: `for (j = k; j < n; j++) r[j] -= f * p[j]` becomes a
//! prologue for an odd count and a body doing `j` and `j + 1`, with the
//! counter stepping by 16 bytes up to `8 * n`. Natively the loop vectorizer
//! runs before that unrolling; on the wasm, LLVM sees the unrolled loop
//! and cannot vectorize it. Its exit test `i + 16 == 8 * n` has a trip
//! count only if the distance is a multiple of 16, which nothing in the
//! loop states (the prologue made it so), and each copy's accesses step by
//! two elements, which the vectorizer turns into shuffles. lu's row update
//! spends 97% of its run time in such a loop.
//!
//! This pass finds one-block loops whose body is `U` copies of one
//! computation at consecutive induction values, and adds a rolled loop
//! that does one copy per iteration, in the same order:
//!
//! * Every `phi` is an induction variable (`phi + constant` on the back
//!   edge) whose step divides by `U`; the loop exits when one of them,
//!   stepped, equals a loop-invariant bound.
//! * The body has no side effects but loads and stores (and calls of
//!   intrinsics that have none); its `n` memory operations fall into `U`
//!   runs of `n / U`, and run `u` is run 0 computed `u` rolled iterations
//!   later ([`forms`]): same operations, same addresses, same stored
//!   values. The rolled loop does run 0's operations, so it performs the
//!   same memory operations in the same order, each with the same address
//!   and value; a trap happens at the same operation.
//! * The rolled loop runs only when the tested variable's distance to the
//!   bound is a multiple of its step; otherwise the unrolled loop never
//!   meets its bound where the rolled one would, and the original loop,
//!   kept as it was, runs instead.
//! * Of the loop's values only the stepped induction variables are used
//!   after it, and those leave both loops equal.
//!
//! A loop is rolled only when every access of the rolled loop moves by its
//! own size per iteration (unit stride), where the vectorizer can take it
//! over; the rolled loop then also has a trip count LLVM can compute.
//! Optimization flags that promise no wrapping are dropped from the rolled
//! copy: they were stated for the original iterations.

mod forms;

use crate::error::{CompileError, Result};
use crate::codegen::builder::check;
use crate::ir::{back_edge_value, called_name, leading_phis, loops_to_itself, operand, redirect, rename_incoming, users};
use forms::Forms;
use inkwell::IntPredicate;
use inkwell::basic_block::BasicBlock;
use inkwell::builder::Builder;
use inkwell::module::Module;
use inkwell::types::BasicTypeEnum;
use inkwell::values::{AnyValue, BasicValue, BasicValueEnum, InstructionOpcode, InstructionValue, IntValue, PhiValue};
use std::collections::{HashMap, HashSet};

/// Loops with more instructions than this are left alone: the forms are
/// computed recursively, and producers unroll small bodies.
const MAX_INSTRUCTIONS: usize = 1000;

/// Largest unroll factor looked for.
const MAX_FACTOR: usize = 16;

/// Intrinsics without side effects that may appear in a rolled body.
const PURE_INTRINSICS: &[&str] = &[
    "llvm.canonicalize.",
    "llvm.fabs.",
    "llvm.sqrt.",
    "llvm.copysign.",
    "llvm.floor.",
    "llvm.ceil.",
    "llvm.trunc.",
    "llvm.rint.",
    "llvm.nearbyint.",
    "llvm.roundeven.",
    "llvm.minnum.",
    "llvm.maxnum.",
    "llvm.minimum.",
    "llvm.maximum.",
    "llvm.ctlz.",
    "llvm.cttz.",
    "llvm.ctpop.",
    "llvm.fshl.",
    "llvm.fshr.",
    "llvm.bswap.",
    "llvm.smin.",
    "llvm.smax.",
    "llvm.umin.",
    "llvm.umax.",
    "llvm.abs.",
    "llvm.fma.",
    "llvm.fmuladd.",
];

/// Rolls up every unrolled loop in `module` that qualifies (see the module
/// docs).
pub(crate) fn reroll_loops(module: &Module<'_>) -> Result<()> {
    let builder = module.get_context().create_builder();
    let access_kind = module.get_context().get_kind_id(crate::codegen::builder::ACCESS);
    let mut function = module.get_first_function();
    while let Some(f) = function {
        for block in f.get_basic_blocks().into_iter().filter(|&b| loops_to_itself(b)) {
            if let Some(plan) = Plan::of(block, access_kind) {
                plan.apply(&builder, module)?;
            }
        }
        function = f.get_next_function();
    }
    Ok(())
}

/// A `phi` that steps by a constant around its loop.
struct Induction<'ctx> {
    phi: InstructionValue<'ctx>,
    start: IntValue<'ctx>,
    step: i64,
    /// The stepped value, `phi + step`.
    next: InstructionValue<'ctx>,
}

/// How to roll up one loop.
struct Plan<'ctx> {
    block: BasicBlock<'ctx>,
    /// The one block that enters the loop.
    entry: BasicBlock<'ctx>,
    exit: BasicBlock<'ctx>,
    inductions: Vec<Induction<'ctx>>,
    /// The induction variable the exit test reads, and its bound.
    tested: usize,
    bound: IntValue<'ctx>,
    factor: usize,
    /// The first copy of the body, in order.
    body: Vec<InstructionValue<'ctx>>,
    /// Induction variables whose stepped value is used after the loop.
    live_out: Vec<usize>,
}

impl<'ctx> Plan<'ctx> {
    fn of(block: BasicBlock<'ctx>, access_kind: u32) -> Option<Plan<'ctx>> {
        let terminator = block.get_terminator()?;
        if terminator.get_opcode() != InstructionOpcode::Br || terminator.get_num_operands() != 3 {
            return None;
        }
        let on_true = terminator.get_operand(2)?.block()?;
        let on_false = terminator.get_operand(1)?.block()?;
        let exit = if on_true == block { on_false } else { on_true };
        if exit == block || (on_true != block && on_false != block) {
            return None;
        }
        let mut entry = None;
        let mut inductions = Vec::new();
        for phi in leading_phis(block) {
            let (induction, from) = induction(phi, block)?;
            if entry.is_some_and(|e| e != from) {
                return None;
            }
            entry = Some(from);
            inductions.push(induction);
        }
        let entry = entry?;
        let (tested, bound) = exit_test(terminator, block, exit, &inductions)?;
        let step = inductions[tested].step.unsigned_abs();
        if !step.is_power_of_two() {
            return None;
        }

        let mut memory = Vec::new();
        let mut stores = 0;
        let mut count = 0;
        let mut next = block.get_first_instruction();
        while let Some(i) = next {
            next = i.get_next_instruction();
            count += 1;
            if count > MAX_INSTRUCTIONS {
                return None;
            }
            match i.get_opcode() {
                InstructionOpcode::Load | InstructionOpcode::Store => {
                    // Wasm accesses are marked, and volatile until their
                    // bounds checks are inserted (`crate::bounds`); any
                    // other volatile access stays as it is.
                    let wasm_access = i.get_metadata(access_kind).is_some();
                    if (i.get_volatile().unwrap_or(true) && !wasm_access)
                        || !i.get_atomic_ordering().is_ok_and(|o| o == inkwell::AtomicOrdering::NotAtomic)
                    {
                        return None;
                    }
                    stores += usize::from(i.get_opcode() == InstructionOpcode::Store);
                    memory.push(i);
                }
                InstructionOpcode::Call => {
                    let name = called_name(i)?;
                    if !PURE_INTRINSICS.iter().any(|p| name.starts_with(p)) {
                        return None;
                    }
                }
                opcode if i == terminator || is_pure(opcode) => {}
                _ => return None,
            }
        }
        if stores == 0 {
            return None;
        }
        let live_out = live_out(block, &inductions)?;

        let n = memory.len();
        for factor in (2..=n.min(MAX_FACTOR)).rev() {
            if n % factor != 0 || inductions.iter().any(|iv| iv.step % factor as i64 != 0) {
                continue;
            }
            if let Some(body) = matches(block, &inductions, &memory, factor) {
                return Some(Plan { block, entry, exit, inductions, tested, bound, factor, body, live_out });
            }
        }
        None
    }

    fn apply(&self, b: &Builder<'ctx>, module: &Module<'ctx>) -> Result<()> {
        let context = module.get_context();
        let guard = context.prepend_basic_block(self.block, "reroll.guard");
        let rolled = context.insert_basic_block_after(self.block, "reroll.loop");
        let joined = context.insert_basic_block_after(rolled, "reroll.exit");
        let steps: Vec<i64> = self.inductions.iter().map(|iv| iv.step / self.factor as i64).collect();

        // Roll up only where the unrolled loop meets its bound.
        b.position_at_end(guard);
        let tested = &self.inductions[self.tested];
        let ty = tested.start.get_type();
        let distance = check(b.build_int_sub(self.bound, tested.start, ""))?;
        let remainder = check(b.build_and(distance, ty.const_int(tested.step.unsigned_abs() - 1, false), ""))?;
        let whole = check(b.build_int_compare(IntPredicate::EQ, remainder, ty.const_zero(), ""))?;
        let branch = check(b.build_conditional_branch(whole, rolled, self.block))?;
        let i32 = context.i32_type();
        let weights = context.metadata_node(&[
            context.metadata_string("branch_weights").into(),
            i32.const_int(2000, false).into(),
            i32.const_int(1, false).into(),
        ]);
        // Only a `prof` node on a branch: cannot fail.
        let _ = branch.set_metadata(weights, context.get_kind_id("prof"));

        // The rolled loop: the induction variables, the first copy of the
        // body, the smaller steps and the same exit test.
        b.position_at_end(rolled);
        let mut copies: HashMap<InstructionValue<'ctx>, BasicValueEnum<'ctx>> = HashMap::new();
        let mut phis: Vec<PhiValue<'ctx>> = Vec::new();
        for iv in &self.inductions {
            let phi = check(b.build_phi(iv.start.get_type(), ""))?;
            copies.insert(iv.phi, phi.as_basic_value());
            phis.push(phi);
        }
        for &instruction in &self.body {
            let copy = instruction.explicit_clone();
            b.insert_instruction(&copy, None);
            for n in 0..copy.get_num_operands() {
                let Some(value) = operand(copy, n) else { continue };
                if let Some(inside) = value.as_instruction_value().filter(|i| i.get_parent() == Some(self.block)) {
                    match copies.get(&inside) {
                        Some(replacement) => {
                            copy.set_operand(n, *replacement);
                        }
                        None => return Err(CompileError::internal("a rolled loop reads a value of the unrolled body")),
                    }
                }
            }
            forget_no_wrap(copy);
            if let Ok(value) = BasicValueEnum::try_from(copy.as_any_value_enum()) {
                copies.insert(instruction, value);
            }
        }
        let mut stepped = Vec::new();
        for (phi, &step) in phis.iter().zip(&steps) {
            let value = phi.as_basic_value().into_int_value();
            stepped.push(check(b.build_int_add(value, value.get_type().const_int(step as u64, true), ""))?);
        }
        let done = check(b.build_int_compare(IntPredicate::EQ, stepped[self.tested], self.bound, ""))?;
        check(b.build_conditional_branch(done, joined, rolled))?;
        for ((phi, iv), next) in phis.iter().zip(&self.inductions).zip(&stepped) {
            phi.add_incoming(&[(&iv.start, guard), (next, rolled)]);
        }

        // Both loops leave through `joined`, which merges what is used
        // after them.
        b.position_at_end(joined);
        let mut merged = Vec::new();
        for &k in &self.live_out {
            let phi = check(b.build_phi(stepped[k].get_type(), ""))?;
            let original = self.inductions[k].next;
            let original = BasicValueEnum::try_from(original.as_any_value_enum())
                .map_err(|_| CompileError::internal("an induction variable has no value"))?;
            phi.add_incoming(&[(&original, self.block), (&stepped[k], rolled)]);
            merged.push((k, phi));
        }
        check(b.build_unconditional_branch(self.exit))?;

        let no_terminator = || CompileError::internal("a loop block has no terminator");
        let entry_terminator = self.entry.get_terminator().ok_or_else(no_terminator)?;
        redirect(entry_terminator, self.block, guard);
        let terminator = self.block.get_terminator().ok_or_else(no_terminator)?;
        redirect(terminator, self.exit, joined);
        for phi in leading_phis(self.block) {
            rename_incoming(b, as_phi(phi)?, self.entry, guard)?;
        }
        for phi in leading_phis(self.exit) {
            rename_incoming(b, as_phi(phi)?, self.block, joined)?;
        }
        for (k, phi) in merged {
            let original = self.inductions[k].next;
            let outside: Vec<InstructionValue> = users(original)
                .into_iter()
                .filter(|u| u.get_parent() != Some(self.block) && *u != phi.as_instruction())
                .collect();
            for user in outside {
                for n in 0..user.get_num_operands() {
                    if operand(user, n).and_then(|v| v.as_instruction_value()) == Some(original) {
                        user.set_operand(n, phi.as_basic_value());
                    }
                }
            }
        }
        Ok(())
    }
}

fn as_phi(phi: InstructionValue<'_>) -> Result<PhiValue<'_>> {
    PhiValue::try_from(phi).map_err(|_| CompileError::internal("a phi instruction is not a phi"))
}

/// `phi` as an induction variable of `block`'s loop, and the one block
/// outside the loop it comes from.
fn induction<'ctx>(phi: InstructionValue<'ctx>, block: BasicBlock<'ctx>) -> Option<(Induction<'ctx>, BasicBlock<'ctx>)> {
    let phi_value = PhiValue::try_from(phi).ok()?;
    let mut start: Option<(BasicValueEnum<'ctx>, BasicBlock<'ctx>)> = None;
    for (value, from) in phi_value.get_incomings() {
        if from == block {
            continue;
        }
        match start {
            Some((v, f)) if v != value || f != from => return None,
            _ => start = Some((value, from)),
        }
    }
    let (BasicValueEnum::IntValue(start), from) = start? else { return None };
    let next = back_edge_value(phi, block)?.as_instruction_value().filter(|i| i.get_parent() == Some(block))?;
    let constant = |n: u32| match operand(next, n) {
        Some(BasicValueEnum::IntValue(v)) if v.is_const() => v.get_sign_extended_constant(),
        _ => None,
    };
    let is_phi = |n: u32| operand(next, n).and_then(|v| v.as_instruction_value()) == Some(phi);
    let step = match next.get_opcode() {
        InstructionOpcode::Add if is_phi(0) => constant(1)?,
        InstructionOpcode::Add if is_phi(1) => constant(0)?,
        InstructionOpcode::Sub if is_phi(0) => constant(1)?.checked_neg()?,
        _ => return None,
    };
    (step != 0).then_some((Induction { phi, start, step, next }, from))
}

/// The induction variable whose stepped value the loop's exit test
/// compares, and the bound: the loop must leave exactly when they are
/// equal. clang's wasm tests `next != bound` and branches on that `i32`
/// being non-zero, which appears as `icmp ne (zext i1 c), 0`.
fn exit_test<'ctx>(
    terminator: InstructionValue<'ctx>,
    block: BasicBlock<'ctx>,
    exit: BasicBlock<'ctx>,
    inductions: &[Induction<'ctx>],
) -> Option<(usize, IntValue<'ctx>)> {
    let mut leaves_when_true = terminator.get_operand(2)?.block()? == exit;
    let mut condition = operand(terminator, 0)?.as_instruction_value()?;
    let is_zero = |v: Option<BasicValueEnum>| matches!(v, Some(BasicValueEnum::IntValue(c)) if c.is_null());
    loop {
        let predicate = condition.get_icmp_predicate()?;
        let Some(widened) = operand(condition, 0)
            .and_then(|v| v.as_instruction_value())
            .filter(|w| w.get_opcode() == InstructionOpcode::ZExt && is_zero(operand(condition, 1)))
        else {
            break;
        };
        match predicate {
            IntPredicate::NE => {}
            IntPredicate::EQ => leaves_when_true = !leaves_when_true,
            _ => return None,
        }
        condition = operand(widened, 0)?.as_instruction_value()?;
    }
    let leaves_when_equal = match condition.get_icmp_predicate()? {
        IntPredicate::EQ => leaves_when_true,
        IntPredicate::NE => !leaves_when_true,
        _ => return None,
    };
    if !leaves_when_equal || condition.get_parent() != Some(block) {
        return None;
    }
    let (a, b) = (operand(condition, 0)?, operand(condition, 1)?);
    let inside = |v: BasicValueEnum<'ctx>| v.as_instruction_value().is_some_and(|i| i.get_parent() == Some(block));
    let stepped = |v: BasicValueEnum<'ctx>| inductions.iter().position(|iv| v.as_instruction_value() == Some(iv.next));
    let (k, bound) = match (stepped(a), stepped(b)) {
        (Some(k), _) if !inside(b) => (k, b),
        (_, Some(k)) if !inside(a) => (k, a),
        _ => return None,
    };
    match bound {
        BasicValueEnum::IntValue(bound) => Some((k, bound)),
        _ => None,
    }
}

/// Opcodes without side effects, other than calls, whose result is
/// determined by opcode, types, predicate and operands (a shuffle's mask
/// is not an operand, so shuffles are not among them).
fn is_pure(opcode: InstructionOpcode) -> bool {
    use InstructionOpcode::*;
    matches!(
        opcode,
        Phi | Add | Sub | Mul | UDiv | SDiv | URem | SRem | Shl | LShr | AShr | And | Or | Xor | FAdd | FSub | FMul
            | FDiv | FRem | FNeg | ICmp | FCmp | Select | ZExt | SExt | Trunc | FPExt | FPTrunc | SIToFP | UIToFP
            | FPToSI | FPToUI | BitCast | PtrToInt | IntToPtr | GetElementPtr | ExtractElement | InsertElement
            | Freeze
    )
}

/// The induction variables whose stepped value is used after the loop, or
/// `None` if anything else of the loop is.
fn live_out(block: BasicBlock<'_>, inductions: &[Induction<'_>]) -> Option<Vec<usize>> {
    let mut live = Vec::new();
    for instruction in block.get_instructions() {
        if users(instruction).iter().all(|u| u.get_parent() == Some(block)) {
            continue;
        }
        live.push(inductions.iter().position(|iv| iv.next == instruction)?);
    }
    Some(live)
}

/// The first copy of the body if `memory` splits into `factor` copies of
/// one computation at consecutive rolled iterations, each access moving by
/// its own size from one to the next.
fn matches<'ctx>(
    block: BasicBlock<'ctx>,
    inductions: &[Induction<'ctx>],
    memory: &[InstructionValue<'ctx>],
    factor: usize,
) -> Option<Vec<InstructionValue<'ctx>>> {
    let per_copy = memory.len() / factor;
    let places = memory.iter().enumerate().map(|(n, &m)| (m, (n / per_copy, n % per_copy))).collect();
    let steps = inductions.iter().map(|iv| (iv.phi, iv.step / factor as i64)).collect();
    let mut forms = Forms::new(block, steps, places);
    for (n, &later) in memory.iter().enumerate().skip(per_copy) {
        let first = memory[n % per_copy];
        if !same_operation(&mut forms, later, first, n / per_copy) {
            return None;
        }
    }
    for &first in &memory[..per_copy] {
        let (address, ty) = access(first)?;
        let address = forms.value(address)?;
        if forms.advance(address)?.unsigned_abs() != bytes(ty)? {
            return None;
        }
    }
    // The first copy: its memory operations and what they read in the
    // loop, in block order.
    let mut needed: HashSet<InstructionValue<'ctx>> = HashSet::new();
    let mut work: Vec<InstructionValue<'ctx>> = memory[..per_copy].to_vec();
    while let Some(i) = work.pop() {
        if i.get_opcode() == InstructionOpcode::Phi || !needed.insert(i) {
            continue;
        }
        for n in 0..i.get_num_operands() {
            if let Some(inside) =
                operand(i, n).and_then(|v| v.as_instruction_value()).filter(|o| o.get_parent() == Some(block))
            {
                work.push(inside);
            }
        }
    }
    Some(block.get_instructions().filter(|i| needed.contains(i)).collect())
}

/// The address an access goes to, and the type it loads or stores.
fn access(instruction: InstructionValue<'_>) -> Option<(BasicValueEnum<'_>, BasicTypeEnum<'_>)> {
    match instruction.get_opcode() {
        InstructionOpcode::Load => {
            Some((operand(instruction, 0)?, BasicTypeEnum::try_from(instruction.get_type()).ok()?))
        }
        InstructionOpcode::Store => {
            let value = operand(instruction, 0)?;
            Some((operand(instruction, 1)?, value.get_type()))
        }
        _ => None,
    }
}

/// Whether memory operation `later` of copy `copy` is `first`, copy 0's,
/// done `copy` rolled iterations later.
fn same_operation<'ctx>(
    forms: &mut Forms<'ctx>,
    later: InstructionValue<'ctx>,
    first: InstructionValue<'ctx>,
    copy: usize,
) -> bool {
    let (Some((a_later, t_later)), Some((a_first, t_first))) = (access(later), access(first)) else { return false };
    if later.get_opcode() != first.get_opcode() || t_later != t_first || later.get_alignment() != first.get_alignment()
    {
        return false;
    }
    let (Some(a_later), Some(a_first)) = (forms.value(a_later), forms.value(a_first)) else { return false };
    if !forms.same_address(a_later, a_first, copy) {
        return false;
    }
    if later.get_opcode() == InstructionOpcode::Store {
        let (Some(v_later), Some(v_first)) = (operand(later, 0), operand(first, 0)) else { return false };
        let (Some(v_later), Some(v_first)) = (forms.value(v_later), forms.value(v_first)) else { return false };
        return v_later == forms.shift(v_first, copy);
    }
    true
}

/// Bytes a load or store of `ty` accesses, for the types wasm has.
fn bytes(ty: BasicTypeEnum<'_>) -> Option<u64> {
    match ty {
        BasicTypeEnum::IntType(t) if t.get_bit_width() % 8 == 0 => Some(u64::from(t.get_bit_width() / 8)),
        BasicTypeEnum::FloatType(t) if t == t.get_context().f32_type() => Some(4),
        BasicTypeEnum::FloatType(t) if t == t.get_context().f64_type() => Some(8),
        BasicTypeEnum::VectorType(v) => bytes(v.get_element_type()).map(|b| b * u64::from(v.get_size())),
        _ => None,
    }
}

/// Drops the flags that promise an operation does not wrap or lose bits:
/// they held for the original iterations, not necessarily for the copy.
fn forget_no_wrap(instruction: InstructionValue<'_>) {
    use InstructionOpcode::*;
    // Each setter fails only for an opcode without the flag; the match
    // calls it only for those that have it.
    match instruction.get_opcode() {
        Add | Sub | Mul | Shl => {
            let _ = instruction.set_no_unsigned_wrap_flag(false);
            let _ = instruction.set_no_signed_wrap_flag(false);
        }
        UDiv | SDiv | LShr | AShr => {
            let _ = instruction.set_exact_flag(false);
        }
        ZExt | UIToFP => {
            let _ = instruction.set_non_negative_flag(false);
        }
        Or => {
            let _ = instruction.set_disjoint_flag(false);
        }
        _ => {}
    }
}

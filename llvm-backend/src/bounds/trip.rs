//! How many times a loop goes round: the test that ends it, and the number
//! of iterations it allows, computed before the loop starts.
//!
//! The loop's *controlling exit* is a block that runs in every iteration
//! (it dominates the latch) and leaves the loop on an `icmp` of an affine
//! `i32` value `X(k) = x0 + t·k` (constant step `t`) against a
//! loop-invariant bound `B`. If it goes on `N` times and leaves in
//! iteration `N`, no iteration after `N` starts. `N` is computed exactly,
//! in 64-bit arithmetic, where the comparison's wrap-around semantics let
//! it be; where they do not (the counter would wrap past the bound, or
//! never meet it) a condition computed beside `N` is false and the caller
//! keeps the checked loop:
//!
//! * `X != B`: the first `k` with `t·k ≡ B - x0 (mod 2^32)`. With
//!   `|t| = 2^j·o`, `o` odd, that needs `B - x0` divisible by `2^j`, and
//!   then `k = ((B - x0) / 2^j) · o⁻¹ mod 2^(32-j)`.
//! * `X < B` (or `<=`, signed or unsigned) with `t > 0`: `0` if `x0` is
//!   already past `B`, else `ceil((B - x0) / t)`, provided `B + t - 1`
//!   stays in the type's range, so that `X` reaches `B` before it could
//!   wrap. `X > B` (or `>=`) with `t < 0` likewise, downwards.

use super::affine::{Affine, Leaves};
use crate::codegen::builder::FnBuilder;
use crate::error::Result;
use inkwell::IntPredicate;
use inkwell::basic_block::BasicBlock;
use inkwell::values::{BasicValueEnum, InstructionOpcode, IntValue};

/// A loop's controlling exit.
pub(super) struct Exit<'ctx> {
    /// The exiting block.
    pub block: BasicBlock<'ctx>,
    /// Its successor inside the loop.
    pub stay: BasicBlock<'ctx>,
    /// The loop goes on while `x pred bound`.
    pred: IntPredicate,
    x: Affine,
    /// The constant step of `x`, as a signed value.
    step: i64,
    bound: IntValue<'ctx>,
}

/// The iteration count, emitted before the loop.
pub(super) struct TripCount<'ctx> {
    /// `N`, as an `i64` in `[0, 2^31)` when `valid`.
    pub n: IntValue<'ctx>,
    /// Whether `N` is exact and below 2^31.
    pub valid: IntValue<'ctx>,
}

impl<'ctx> Exit<'ctx> {
    /// The controlling exit `block` makes, if it is one: a conditional
    /// branch with exactly one successor inside the loop.
    pub fn of(
        block: BasicBlock<'ctx>,
        leaves: &mut Leaves<'ctx>,
        in_loop: impl Fn(BasicBlock<'ctx>) -> bool,
    ) -> Option<Exit<'ctx>> {
        let terminator = block.get_terminator()?;
        if terminator.get_opcode() != InstructionOpcode::Br || terminator.get_num_operands() != 3 {
            return None;
        }
        let cond = crate::ir::operand(terminator, 0)?.into_int_value();
        // Operands of a conditional branch: condition, false, true.
        let on_false = terminator.get_operand(1)?.block()?;
        let on_true = terminator.get_operand(2)?.block()?;
        let (stay, stay_if) = match (in_loop(on_true), in_loop(on_false)) {
            (true, false) => (on_true, true),
            (false, true) => (on_false, false),
            _ => return None,
        };
        let (pred, lhs, rhs) = comparison(cond)?;
        let pred = if stay_if { pred } else { inverse(pred) };
        let oriented = |leaves: &mut Leaves<'ctx>, pred, x: IntValue<'ctx>, bound: IntValue<'ctx>| {
            if !leaves.is_invariant(bound.into()) {
                return None;
            }
            let x = leaves.affine(x)?;
            let step = i64::from(x.step.as_constant()? as i32);
            (step != 0).then_some(Exit { block, stay, pred, x, step, bound })
        };
        oriented(leaves, pred, lhs, rhs).or_else(|| oriented(leaves, swapped(pred), rhs, lhs))
    }

    /// Emits `N`, the number of times the loop goes on at this exit, at
    /// `b`'s position (before the loop); `None` for comparisons whose
    /// count is not worked out here.
    pub fn emit_trip_count(&self, b: &FnBuilder<'_, 'ctx>, leaves: &Leaves<'ctx>) -> Result<Option<TripCount<'ctx>>> {
        use IntPredicate::*;
        let i64t = b.types.i64;
        let c = |v: i64| i64t.const_int(v as u64, true);
        let x0 = leaves.emit(b, &self.x.base)?;
        let t = self.step;
        let (n, valid) = match self.pred {
            NE => {
                let down = t < 0;
                let magnitude = t.unsigned_abs() as u32;
                let shift = magnitude.trailing_zeros();
                let odd = magnitude >> shift;
                let i32t = b.types.i32;
                let distance = if down { b.int_sub(x0, self.bound)? } else { b.int_sub(self.bound, x0)? };
                let low_mask = i32t.const_int((1u64 << shift) - 1, false);
                let low = b.and(distance, low_mask)?;
                let valid = b.icmp(EQ, low, i32t.const_zero())?;
                let quotient = b.shr(distance, i32t.const_int(shift.into(), false), false)?;
                let k = b.int_mul(quotient, i32t.const_int(inverse_mod_2_32(odd).into(), false))?;
                let mask = i32t.const_int((u64::from(u32::MAX)) >> shift, false);
                let k = b.and(k, mask)?;
                (b.zext(k, i64t)?, valid)
            }
            ULT | ULE | SLT | SLE if t > 0 => {
                let signed = matches!(self.pred, SLT | SLE);
                let (x, bound) = if signed {
                    (b.sext(x0, i64t)?, b.sext(self.bound, i64t)?)
                } else {
                    (b.zext(x0, i64t)?, b.zext(self.bound, i64t)?)
                };
                // `X <= B` is `X < B + 1`.
                let bound = if matches!(self.pred, ULE | SLE) { b.int_add(bound, c(1))? } else { bound };
                let limit = if signed { 1i64 << 31 } else { 1i64 << 32 };
                let valid = b.icmp(SLE, b.int_add(bound, c(t))?, c(limit))?;
                let done = b.icmp(SGE, x, bound)?;
                let count = b.int_add(b.int_sub(bound, x)?, c(t - 1))?;
                let count = b.udiv(count, c(t))?;
                (b.select(done, c(0), count)?.into_int_value(), valid)
            }
            UGT | UGE | SGT | SGE if t < 0 => {
                let signed = matches!(self.pred, SGT | SGE);
                let (x, bound) = if signed {
                    (b.sext(x0, i64t)?, b.sext(self.bound, i64t)?)
                } else {
                    (b.zext(x0, i64t)?, b.zext(self.bound, i64t)?)
                };
                // `X >= B` is `X > B - 1`.
                let bound = if matches!(self.pred, UGE | SGE) { b.int_sub(bound, c(1))? } else { bound };
                let magnitude = -t;
                let floor = if signed { -(1i64 << 31) } else { 0 };
                let valid = b.icmp(SGE, b.int_sub(bound, c(magnitude - 1))?, c(floor))?;
                let done = b.icmp(SLE, x, bound)?;
                let count = b.int_add(b.int_sub(x, bound)?, c(magnitude - 1))?;
                let count = b.udiv(count, c(magnitude))?;
                (b.select(done, c(0), count)?.into_int_value(), valid)
            }
            _ => return Ok(None),
        };
        // Bounded so that `step · N` of any `i32` step fits an `i64`.
        let small = b.icmp(ULT, n, c(1 << 31))?;
        let valid = b.and(valid, small)?;
        Ok(Some(TripCount { n, valid }))
    }
}

/// `cond` as a comparison `lhs pred rhs`, looking through the `i1 -> i32
/// -> i1` round trip of a wasm `br_if` on a comparison.
fn comparison(cond: IntValue<'_>) -> Option<(IntPredicate, IntValue<'_>, IntValue<'_>)> {
    let i = cond.as_instruction()?;
    if i.get_opcode() != InstructionOpcode::ICmp {
        return None;
    }
    let pred = i.get_icmp_predicate()?;
    let lhs = int(crate::ir::operand(i, 0)?)?;
    let rhs = int(crate::ir::operand(i, 1)?)?;
    if matches!(pred, IntPredicate::NE | IntPredicate::EQ)
        && rhs.get_zero_extended_constant() == Some(0)
        && let Some(z) = lhs.as_instruction().filter(|z| z.get_opcode() == InstructionOpcode::ZExt)
    {
        let inner = int(crate::ir::operand(z, 0)?)?;
        if inner.get_type().get_bit_width() == 1 {
            let (p, l, r) = comparison(inner)?;
            return Some(if pred == IntPredicate::NE { (p, l, r) } else { (inverse(p), l, r) });
        }
    }
    Some((pred, lhs, rhs))
}

fn int(value: BasicValueEnum<'_>) -> Option<IntValue<'_>> {
    match value {
        BasicValueEnum::IntValue(v) => Some(v),
        _ => None,
    }
}

/// The predicate true exactly when `pred` is false.
fn inverse(pred: IntPredicate) -> IntPredicate {
    use IntPredicate::*;
    match pred {
        EQ => NE,
        NE => EQ,
        ULT => UGE,
        UGE => ULT,
        ULE => UGT,
        UGT => ULE,
        SLT => SGE,
        SGE => SLT,
        SLE => SGT,
        SGT => SLE,
    }
}

/// The predicate with its operands exchanged: `a pred b` is `b swapped(pred) a`.
fn swapped(pred: IntPredicate) -> IntPredicate {
    use IntPredicate::*;
    match pred {
        EQ => EQ,
        NE => NE,
        ULT => UGT,
        UGT => ULT,
        ULE => UGE,
        UGE => ULE,
        SLT => SGT,
        SGT => SLT,
        SLE => SGE,
        SGE => SLE,
    }
}

/// The inverse of odd `a` modulo 2^32 (Newton's iteration doubles the
/// correct low bits each step: 3, 6, 12, 24, 48).
fn inverse_mod_2_32(a: u32) -> u32 {
    let mut x = a;
    for _ in 0..5 {
        x = x.wrapping_mul(2u32.wrapping_sub(a.wrapping_mul(x)));
    }
    x
}

#[cfg(test)]
mod tests {
    use super::inverse_mod_2_32;

    #[test]
    fn modular_inverses() {
        for a in [1u32, 3, 5, 7, 0x8000_0001, u32::MAX, 12345677] {
            assert_eq!(a.wrapping_mul(inverse_mod_2_32(a)), 1, "{a}");
        }
    }
}

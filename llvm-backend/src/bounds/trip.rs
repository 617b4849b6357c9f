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
//!
//! The counter may also be an `i64` (a loop over a 64-bit memory, whose
//! addresses and sizes are `i64`s). There the same formulas are computed
//! in `i64` itself, so the condition also requires the start and the bound
//! to lie within 2^62 of zero (`|t|` is below 2^31): nothing the formulas
//! compute can then overflow, and the counter cannot wrap before it meets
//! the bound.

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
    /// The constant step of `x`, as a signed value of magnitude below 2^31.
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
            let step = x.step.as_signed_constant()?;
            (step != 0 && step.unsigned_abs() < 1 << 31).then_some(Exit { block, stay, pred, x, step, bound })
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
        let wide = self.x.base.bits() == 64;
        let t = self.step;
        let signed = matches!(self.pred, SLT | SLE | SGT | SGE);
        // The start and the bound as `i64`s, and (for an `i64` counter)
        // whether both are within 2^62 of zero.
        let (x, bound, near) = if wide {
            let near = |v: IntValue<'ctx>| -> Result<IntValue<'ctx>> {
                let v = if signed { b.int_add(v, c(1 << 62))? } else { v };
                let top = if signed { 1i64 << 63 } else { 1 << 62 };
                b.icmp(ULE, v, c(top))
            };
            (x0, self.bound, Some(b.and(near(x0)?, near(self.bound)?)?))
        } else if signed {
            (b.sext(x0, i64t)?, b.sext(self.bound, i64t)?, None)
        } else {
            (b.zext(x0, i64t)?, b.zext(self.bound, i64t)?, None)
        };
        let (n, valid) = match self.pred {
            NE => {
                let ty = x0.get_type();
                let bits = ty.get_bit_width();
                let down = t < 0;
                let magnitude = t.unsigned_abs();
                let shift = magnitude.trailing_zeros();
                let odd = magnitude >> shift;
                let distance = if down { b.int_sub(x0, self.bound)? } else { b.int_sub(self.bound, x0)? };
                let low_mask = ty.const_int((1u64 << shift) - 1, false);
                let low = b.and(distance, low_mask)?;
                let valid = b.icmp(EQ, low, ty.const_zero())?;
                let quotient = b.shr(distance, ty.const_int(shift.into(), false), false)?;
                let inverse = inverse_mod_2_64(odd) & (u64::MAX >> (64 - bits));
                let k = b.int_mul(quotient, ty.const_int(inverse, false))?;
                let mask = ty.const_int(u64::MAX >> (64 - bits + shift), false);
                let k = b.and(k, mask)?;
                (b.zext_or_same(k, i64t)?, valid)
            }
            ULT | ULE | SLT | SLE if t > 0 => {
                // `X <= B` is `X < B + 1`.
                let bound = if matches!(self.pred, ULE | SLE) { b.int_add(bound, c(1))? } else { bound };
                let valid = match near {
                    Some(near) => near,
                    None => {
                        let limit = if signed { 1i64 << 31 } else { 1i64 << 32 };
                        b.icmp(SLE, b.int_add(bound, c(t))?, c(limit))?
                    }
                };
                let done = b.icmp(SGE, x, bound)?;
                let count = b.int_add(b.int_sub(bound, x)?, c(t - 1))?;
                let count = b.udiv(count, c(t))?;
                (b.select(done, c(0), count)?.into_int_value(), valid)
            }
            UGT | UGE | SGT | SGE if t < 0 => {
                // `X >= B` is `X > B - 1`.
                let bound = if matches!(self.pred, UGE | SGE) { b.int_sub(bound, c(1))? } else { bound };
                let magnitude = -t;
                let floor = if signed { -(1i64 << 31) } else { 0 };
                let above_floor = b.icmp(SGE, b.int_sub(bound, c(magnitude - 1))?, c(floor))?;
                let valid = match near {
                    // Signed, the floor is far below.
                    Some(near) if signed => near,
                    Some(near) => b.and(near, above_floor)?,
                    None => above_floor,
                };
                let done = b.icmp(SLE, x, bound)?;
                let count = b.int_add(b.int_sub(x, bound)?, c(magnitude - 1))?;
                let count = b.udiv(count, c(magnitude))?;
                (b.select(done, c(0), count)?.into_int_value(), valid)
            }
            _ => return Ok(None),
        };
        // Bounded so that `step · N` of any step below 2^31 fits an `i64`.
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

/// The inverse of odd `a` modulo 2^64, whose low 32 bits are its inverse
/// modulo 2^32 (Newton's iteration doubles the correct low bits each
/// step: 3, 6, 12, 24, 48, 96).
fn inverse_mod_2_64(a: u64) -> u64 {
    let mut x = a;
    for _ in 0..6 {
        x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
    }
    x
}

#[cfg(test)]
mod tests {
    use super::inverse_mod_2_64;

    #[test]
    fn modular_inverses() {
        for a in [1u64, 3, 5, 7, 0x8000_0001, u64::from(u32::MAX), 12345677, u64::MAX, 0x8000_0000_0000_0001] {
            assert_eq!(a.wrapping_mul(inverse_mod_2_64(a)), 1, "{a}");
            let narrow = a as u32;
            assert_eq!(narrow.wrapping_mul(inverse_mod_2_64(a) as u32), 1, "{a} modulo 2^32");
        }
    }
}

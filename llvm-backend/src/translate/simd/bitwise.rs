//! Whole-vector bit operations, lane tests and shifts.
//!
//! * `v128.andnot` is `a & ~b` and `v128.bitselect` is
//!   `(a & mask) | (b & ~mask)`; LLVM selects `pandn`/`bic` and
//!   `pand`/`pandn`/`por` or a single `bsl`.
//! * `any_true` tests the 128 bits as one integer (`ptest`); `all_true`
//!   reduces a lane-wise `!= 0` with `and` (`pcmpeqb`, `pmovmskb`). On
//!   AArch64 both are one reduction across lanes, `umaxv`/`uminv`, except
//!   `i64x2.all_true`, which has no 64-bit `uminv`. `bitmask` takes the sign bit
//!   of every lane (`icmp slt 0`) and reads the `<N x i1>` as an `N`-bit
//!   integer, which is `pmovmskb`/`movmskps`/`movmskpd` on x86.
//! * Shift counts are taken modulo the lane width, as wasm defines them,
//!   and applied to every lane (a splat), so LLVM uses the shift-by-scalar
//!   forms (`psllw xmm, xmm`; `sshl`/`ushl` by a duplicated count).

use super::super::FuncTranslator;
use super::{Shape, VectorIsa};
use crate::error::{CompileError, Result};
use inkwell::IntPredicate;
use inkwell::values::{IntValue, VectorValue};

/// A bitwise operation on two `v128`s.
#[derive(Clone, Copy, Debug)]
pub(super) enum BitOp {
    And,
    Or,
    Xor,
    /// `a & ~b`.
    AndNot,
}

/// A lane-wise shift.
#[derive(Clone, Copy, Debug)]
pub(super) enum ShiftOp {
    Shl,
    ShrS,
    ShrU,
}

impl<'ctx> FuncTranslator<'_, 'ctx> {
    pub(super) fn v128_not(&mut self) -> Result<()> {
        let value = self.pop_lanes(Shape::I64x2)?;
        let result = self.b.lanes_not(value)?;
        self.push_lanes(result)
    }

    pub(super) fn v128_bitwise(&mut self, op: BitOp) -> Result<()> {
        let rhs = self.pop_lanes(Shape::I64x2)?;
        let lhs = self.pop_lanes(Shape::I64x2)?;
        let result = match op {
            BitOp::And => self.b.and(lhs, rhs)?,
            BitOp::Or => self.b.or(lhs, rhs)?,
            BitOp::Xor => self.b.xor(lhs, rhs)?,
            BitOp::AndNot => self.b.and(lhs, self.b.lanes_not(rhs)?)?,
        };
        self.push_lanes(result)
    }

    /// `v128.bitselect`: bits of the first operand where the mask is 1, of
    /// the second where it is 0.
    pub(super) fn v128_bitselect(&mut self) -> Result<()> {
        let mask = self.pop_lanes(Shape::I64x2)?;
        let otherwise = self.pop_lanes(Shape::I64x2)?;
        let then = self.pop_lanes(Shape::I64x2)?;
        let inverse = self.b.lanes_not(mask)?;
        let result = self.b.or(self.b.and(then, mask)?, self.b.and(otherwise, inverse)?)?;
        self.push_lanes(result)
    }

    /// `v128.any_true`: 1 if any bit is set.
    pub(super) fn v128_any_true(&mut self) -> Result<()> {
        let any = if self.isa() == VectorIsa::Aarch64 {
            let value = self.pop_lanes(Shape::I32x4)?;
            self.reduce_is_nonzero("llvm.vector.reduce.umax", value)?
        } else {
            let value = self.pop()?;
            let bits = self.b.bit_cast(value, self.cx.types.context.i128_type().into())?.into_int_value();
            self.b.icmp(IntPredicate::NE, bits, bits.get_type().const_zero())?
        };
        let result = self.b.zext(any, self.cx.types.i32)?;
        self.push(result);
        Ok(())
    }

    /// `*.all_true`: 1 if every lane is nonzero.
    pub(super) fn all_true(&mut self, shape: Shape) -> Result<()> {
        let value = self.pop_lanes(shape)?;
        let all = if self.isa() == VectorIsa::Aarch64 && shape != Shape::I64x2 {
            self.reduce_is_nonzero("llvm.vector.reduce.umin", value)?
        } else {
            let nonzero = self.b.lanes_icmp(IntPredicate::NE, value, value.get_type().const_zero())?;
            let reduce =
                self.b.call_intrinsic("llvm.vector.reduce.and", &[nonzero.get_type().into()], &[nonzero.into()])?;
            reduce.into_int_value()
        };
        let result = self.b.zext(all, self.cx.types.i32)?;
        self.push(result);
        Ok(())
    }

    /// Whether the reduction `name` (`umax` or `umin` across lanes, which
    /// AArch64 has as one instruction) of `value` is nonzero.
    fn reduce_is_nonzero(&self, name: &str, value: VectorValue<'ctx>) -> Result<IntValue<'ctx>> {
        let reduced = self.b.call_intrinsic(name, &[value.get_type().into()], &[value.into()])?.into_int_value();
        self.b.icmp(IntPredicate::NE, reduced, reduced.get_type().const_zero())
    }

    /// `*.bitmask`: bit `i` of the `i32` result is the top bit of lane `i`.
    pub(super) fn bitmask(&mut self, shape: Shape) -> Result<()> {
        let value = self.pop_lanes(shape)?;
        let negative = self.b.lanes_icmp(IntPredicate::SLT, value, value.get_type().const_zero())?;
        let lanes = std::num::NonZeroU32::new(shape.lanes()).ok_or_else(|| CompileError::internal("no lanes"))?;
        let mask_type = self.cx.types.context.custom_width_int_type(lanes).map_err(CompileError::internal)?;
        let bits = self.b.bit_cast(negative.into(), mask_type.into())?.into_int_value();
        let result = self.b.zext_or_same(bits, self.cx.types.i32)?;
        self.push(result);
        Ok(())
    }

    /// `*.shl`, `*.shr_s`, `*.shr_u`: every lane shifted by the `i32`
    /// count modulo the lane width.
    pub(super) fn shift(&mut self, shape: Shape, op: ShiftOp) -> Result<()> {
        let count = self.pop_int()?;
        let value = self.pop_lanes(shape)?;
        let bits = shape.lane_bits();
        let count = self.b.and(count, self.cx.types.i32.const_int(u64::from(bits - 1), false))?;
        let lane = self.int_bits(bits)?;
        let count = match bits {
            64 => self.b.zext(count, lane)?,
            32 => count,
            _ => self.b.trunc(count, lane)?,
        };
        let counts = self.b.splat(count.into(), shape.lanes())?;
        let result = match op {
            ShiftOp::Shl => self.b.shl(value, counts)?,
            ShiftOp::ShrS => self.b.lanes_shr(value, counts, true)?,
            ShiftOp::ShrU => self.b.lanes_shr(value, counts, false)?,
        };
        self.push_lanes(result)
    }
}

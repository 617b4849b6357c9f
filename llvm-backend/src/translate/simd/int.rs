//! Integer lane arithmetic and comparisons, each one helper over the lane
//! shape.
//!
//! Everything maps to generic IR or LLVM's generic intrinsics, which the
//! backends select to single instructions: `llvm.sadd.sat` → `paddsb` /
//! `sqadd`, `llvm.smin` → `pminsw` / `smin`, `llvm.abs` → `pabsd` / `abs`,
//! `llvm.ctpop` → a `pshufb` nibble table / `cnt`. The rounding average is
//! written as the widened `(a + b + 1) >> 1` that LLVM recognizes as
//! `pavgb` / `urhadd`; the dot product and the extending multiplies as
//! widen-multiply-add, which become `pmaddwd` and `smull`/`umull`.
//! Comparisons produce all-ones or all-zeros lanes (`pcmpgtb`, `cmgt`).
//!
//! `i16x8.q15mulr_sat_s` is the exception (see [`super`]): `pmulhrsw` plus
//! a fix-up on x86 with SSSE3, `sqrdmulh` on AArch64, and elsewhere the
//! definition itself, `min((a * b + 0x4000) >> 15, 0x7fff)` in 32-bit
//! lanes (the product of two 16-bit values cannot round below -0x7fff).

use super::super::FuncTranslator;
use super::super::conversion::Sign;
use super::{Half, Shape, VectorIsa};
use crate::codegen::builder::LaneCast;
use crate::error::Result;
use inkwell::IntPredicate;
use inkwell::values::VectorValue;

/// A lane-wise integer operation of two operands.
#[derive(Clone, Copy, Debug)]
pub(super) enum IntLaneOp {
    Add,
    Sub,
    Mul,
    AddSat(Sign),
    SubSat(Sign),
    Min(Sign),
    Max(Sign),
    /// Unsigned rounding average, `(a + b + 1) >> 1` without overflow.
    AvgrU,
}

/// A lane-wise integer operation of one operand.
#[derive(Clone, Copy, Debug)]
pub(super) enum IntLaneUnOp {
    Neg,
    Abs,
    Popcnt,
}

impl<'ctx> FuncTranslator<'_, 'ctx> {
    pub(super) fn int_lanes_binary(&mut self, shape: Shape, op: IntLaneOp) -> Result<()> {
        let rhs = self.pop_lanes(shape)?;
        let lhs = self.pop_lanes(shape)?;
        let b = &self.b;
        let intrinsic = |name: &str| self.vector_intrinsic(name, &[lhs.get_type().into()], &[lhs.into(), rhs.into()]);
        let by_sign = |sign: Sign, signed: &str, unsigned: &str| match sign {
            Sign::Signed => intrinsic(signed),
            Sign::Unsigned => intrinsic(unsigned),
        };
        let result = match op {
            IntLaneOp::Add => b.int_add(lhs, rhs)?,
            IntLaneOp::Sub => b.int_sub(lhs, rhs)?,
            IntLaneOp::Mul => b.int_mul(lhs, rhs)?,
            IntLaneOp::AddSat(sign) => by_sign(sign, "llvm.sadd.sat", "llvm.uadd.sat")?,
            IntLaneOp::SubSat(sign) => by_sign(sign, "llvm.ssub.sat", "llvm.usub.sat")?,
            IntLaneOp::Min(sign) => by_sign(sign, "llvm.smin", "llvm.umin")?,
            IntLaneOp::Max(sign) => by_sign(sign, "llvm.smax", "llvm.umax")?,
            IntLaneOp::AvgrU => {
                let wide = 2 * shape.lane_bits();
                let lhs = self.resize_lanes(lhs, wide, LaneCast::ZeroExtend)?;
                let rhs = self.resize_lanes(rhs, wide, LaneCast::ZeroExtend)?;
                let one = self.int_splat(shape.as_int(), shape.lanes(), 1)?;
                let one = self.resize_lanes(one, wide, LaneCast::ZeroExtend)?;
                let sum = b.int_add(b.int_add(lhs, rhs)?, one)?;
                let half = b.lanes_shr(sum, one, false)?;
                self.resize_lanes(half, shape.lane_bits(), LaneCast::Truncate)?
            }
        };
        self.push_lanes(result)
    }

    pub(super) fn int_lanes_unary(&mut self, shape: Shape, op: IntLaneUnOp) -> Result<()> {
        let value = self.pop_lanes(shape)?;
        let ty = value.get_type();
        let result = match op {
            IntLaneUnOp::Neg => self.b.int_sub(ty.const_zero(), value)?,
            IntLaneUnOp::Abs => {
                // `false`: abs(MIN) is MIN, as wasm defines it, not poison.
                let poison_at_min = self.cx.types.context.bool_type().const_zero();
                self.vector_intrinsic("llvm.abs", &[ty.into()], &[value.into(), poison_at_min.into()])?
            }
            IntLaneUnOp::Popcnt => self.vector_intrinsic("llvm.ctpop", &[ty.into()], &[value.into()])?,
        };
        self.push_lanes(result)
    }

    /// Integer lane comparisons: all ones where `pred` holds, else zeros.
    pub(super) fn int_lanes_compare(&mut self, shape: Shape, pred: IntPredicate) -> Result<()> {
        let rhs = self.pop_lanes(shape)?;
        let lhs = self.pop_lanes(shape)?;
        let mask = self.b.lanes_icmp(pred, lhs, rhs)?;
        let result = self.mask_to_lanes(mask, shape)?;
        self.push_lanes(result)
    }

    /// `i16x8.q15mulr_sat_s`: `sat16((a * b + 0x4000) >> 15)` per lane.
    pub(super) fn q15mulr_sat(&mut self) -> Result<()> {
        let rhs = self.pop_lanes(Shape::I16x8)?;
        let lhs = self.pop_lanes(Shape::I16x8)?;
        let ty = lhs.get_type();
        let result = match self.isa() {
            VectorIsa::X86 { ssse3: true, .. } => {
                let product = self.vector_intrinsic("llvm.x86.ssse3.pmul.hr.sw.128", &[], &[lhs.into(), rhs.into()])?;
                let min = self.int_splat(Shape::I16x8, 8, 0x8000)?;
                let wrapped = self.b.lanes_icmp(IntPredicate::EQ, product, min)?;
                self.b.xor(product, self.mask_to_lanes(wrapped, Shape::I16x8)?)?
            }
            VectorIsa::Aarch64 => {
                self.vector_intrinsic("llvm.aarch64.neon.sqrdmulh", &[ty.into()], &[lhs.into(), rhs.into()])?
            }
            VectorIsa::X86 { ssse3: false, .. } | VectorIsa::Generic => {
                let lhs = self.resize_lanes(lhs, 32, LaneCast::SignExtend)?;
                let rhs = self.resize_lanes(rhs, 32, LaneCast::SignExtend)?;
                let rounded = self.b.int_add(self.b.int_mul(lhs, rhs)?, self.int_splat(Shape::I32x4, 8, 0x4000)?)?;
                let shifted = self.b.lanes_shr(rounded, self.int_splat(Shape::I32x4, 8, 15)?, true)?;
                let max = self.int_splat(Shape::I32x4, 8, 0x7fff)?;
                let clamped =
                    self.vector_intrinsic("llvm.smin", &[max.get_type().into()], &[shifted.into(), max.into()])?;
                self.resize_lanes(clamped, 16, LaneCast::Truncate)?
            }
        };
        self.push_lanes(result)
    }

    /// `i32x4.dot_i16x8_s`: products of signed 16-bit lanes, adjacent pairs
    /// summed into 32-bit lanes (`pmaddwd`).
    pub(super) fn dot_i16x8(&mut self) -> Result<()> {
        let rhs = self.pop_lanes(Shape::I16x8)?;
        let lhs = self.pop_lanes(Shape::I16x8)?;
        let lhs = self.resize_lanes(lhs, 32, LaneCast::SignExtend)?;
        let rhs = self.resize_lanes(rhs, 32, LaneCast::SignExtend)?;
        let products = self.b.int_mul(lhs, rhs)?;
        let result = self.add_pairs(products)?;
        self.push_lanes(result)
    }

    /// `*.extmul_{low,high}_*`: the lanes of `half` of both operands
    /// (of shape `from`), extended as `sign` says and multiplied.
    pub(super) fn extmul(&mut self, from: Shape, half: Half, sign: Sign) -> Result<()> {
        let rhs = self.pop_lanes(from)?;
        let lhs = self.pop_lanes(from)?;
        let indices = half.indices(from.lanes());
        let lhs = self.extend_lanes(lhs, &indices, sign)?;
        let rhs = self.extend_lanes(rhs, &indices, sign)?;
        let result = self.b.int_mul(lhs, rhs)?;
        self.push_lanes(result)
    }

    /// `*.extadd_pairwise_*`: adjacent lanes of shape `from`, extended as
    /// `sign` says, summed into lanes twice as wide.
    ///
    /// LLVM turns the generic form into `phaddw` on x86, which is slow;
    /// multiply-adding with ones is one instruction: `pmaddubsw` (unsigned
    /// bytes times signed bytes, SSSE3) with the ones on the unsigned side
    /// for the signed form and the other way round for the unsigned one, and
    /// `pmaddwd` for signed 16-bit lanes — unsigned ones are biased by
    /// `-0x8000` first and the sum by `+0x10000` after.
    pub(super) fn extadd_pairwise(&mut self, from: Shape, sign: Sign) -> Result<()> {
        let value = self.pop_lanes(from)?;
        let result = match (self.isa(), from) {
            (VectorIsa::X86 { ssse3: true, .. }, Shape::I8x16) => {
                let ones = self.int_splat(Shape::I8x16, 16, 1)?;
                let (unsigned, signed) = match sign {
                    Sign::Signed => (ones, value),
                    Sign::Unsigned => (value, ones),
                };
                self.vector_intrinsic("llvm.x86.ssse3.pmadd.ub.sw.128", &[], &[unsigned.into(), signed.into()])?
            }
            (VectorIsa::X86 { .. }, Shape::I16x8) => {
                let ones = self.int_splat(Shape::I16x8, 8, 1)?;
                let pmaddwd = |v: VectorValue<'ctx>| {
                    self.vector_intrinsic("llvm.x86.sse2.pmadd.wd", &[], &[v.into(), ones.into()])
                };
                match sign {
                    Sign::Signed => pmaddwd(value)?,
                    Sign::Unsigned => {
                        let biased = self.b.xor(value, self.int_splat(Shape::I16x8, 8, 0x8000)?)?;
                        self.b.int_add(pmaddwd(biased)?, self.int_splat(Shape::I32x4, 4, 0x10000)?)?
                    }
                }
            }
            _ => {
                let wide = self.extend_lanes(value, &(0..from.lanes()).collect::<Vec<_>>(), sign)?;
                self.add_pairs(wide)?
            }
        };
        self.push_lanes(result)
    }

    /// Sums lanes `2i` and `2i + 1` of `value` into lane `i` of a vector
    /// with half as many lanes.
    pub(super) fn add_pairs(&self, value: VectorValue<'ctx>) -> Result<VectorValue<'ctx>> {
        let (even, odd) = self.even_and_odd_lanes(value)?;
        self.b.int_add(even, odd)
    }

    /// The even and the odd lanes of `value`, each a vector with half as
    /// many lanes.
    pub(super) fn even_and_odd_lanes(
        &self,
        value: VectorValue<'ctx>,
    ) -> Result<(VectorValue<'ctx>, VectorValue<'ctx>)> {
        let lanes = value.get_type().get_size();
        let even: Vec<u32> = (0..lanes).step_by(2).collect();
        let odd: Vec<u32> = (1..lanes).step_by(2).collect();
        Ok((self.b.shuffle(value, value, &even)?, self.b.shuffle(value, value, &odd)?))
    }
}

//! Relaxed SIMD: the operators whose result the spec lets depend on the
//! hardware, each lowered to the fastest instruction the artifact's CPU
//! has, with a result in the set the spec allows.
//!
//! The spec fixes, for each relaxed operator, a short list of behaviours
//! and lets an implementation pick one, once: every execution of the
//! operator then follows the same one. kiln picks at compile time from the
//! features the artifact requires ([`VectorIsa`]), so one artifact always
//! computes the same results, whatever host runs it; two artifacts for
//! different CPUs may differ where the spec allows it. Where a target has
//! no instruction that is faster than the deterministic behaviour, kiln
//! uses the deterministic one (the non-relaxed operator's lowering).
//!
//! | operator | x86-64 | AArch64 | elsewhere |
//! |---|---|---|---|
//! | `i8x16.relaxed_swizzle` | `pshufb` (SSSE3): index ≥ 128 gives 0, 16–127 the lane `index % 16` | `tbl`: 0 | `swizzle` |
//! | `i32x4.relaxed_trunc_*_s` | `cvttps2dq`/`cvttpd2dq`: `0x80000000` for NaN and out of range | saturating `fcvtzs` | saturating |
//! | `i32x4.relaxed_trunc_*_u` | saturating | saturating `fcvtzu` | saturating |
//! | `relaxed_madd`/`nmadd` | `vfmadd` with FMA, else `mulps`+`addps` | `fmla` | `llvm.fma` |
//! | `*.relaxed_laneselect` | top bit of each lane (`blendv`, SSE4.1) for 8-, 32- and 64-bit lanes | `bsl` | `bitselect` |
//! | `relaxed_min`/`max` | `minps`/`maxps`: the second operand for NaNs and ±0 | `fmin`/`fmax` | `min`/`max` |
//! | `i16x8.relaxed_q15mulr_s` | `pmulhrsw` (SSSE3): `0x8000` for `0x8000²` | `sqrdmulh` | saturating |
//! | `relaxed_dot_*` | `pmaddubsw` (SSSE3): the second operand's bytes unsigned | signed | signed |
//!
//! `i16x8` laneselect stays a bitselect on x86: `pblendvb` would look at
//! the top bit of each *byte*, which the spec does not allow for 16-bit
//! lanes. The dot products saturate the 16-bit pair sums as the spec says
//! (`pmaddubsw` does); AVX-VNNI's `vpdpbusd` does not, so it is not used.

use super::super::FuncTranslator;
use super::super::conversion::Sign;
use super::float::FloatLaneOp;
use super::{Shape, VectorIsa};
use crate::codegen::builder::LaneCast;
use crate::error::Result;
use inkwell::IntPredicate;
use inkwell::values::VectorValue;

impl<'ctx> FuncTranslator<'_, 'ctx> {
    /// `i8x16.relaxed_swizzle`.
    pub(super) fn relaxed_swizzle(&mut self) -> Result<()> {
        match self.isa() {
            VectorIsa::X86 { ssse3: true, .. } => {
                let indices = self.pop_lanes(Shape::I8x16)?;
                let input = self.pop_lanes(Shape::I8x16)?;
                let result =
                    self.vector_intrinsic("llvm.x86.ssse3.pshuf.b.128", &[], &[input.into(), indices.into()])?;
                self.push_lanes(result)
            }
            _ => self.swizzle(),
        }
    }

    /// `i32x4.relaxed_trunc_f32x4_s/u`.
    pub(super) fn relaxed_trunc_f32x4(&mut self, sign: Sign) -> Result<()> {
        match (self.isa(), sign) {
            (VectorIsa::X86 { .. }, Sign::Signed) => {
                let value = self.pop_lanes(Shape::F32x4)?;
                let result = self.vector_intrinsic("llvm.x86.sse2.cvttps2dq", &[], &[value.into()])?;
                self.push_lanes(result)
            }
            _ => self.trunc_sat_f32x4(sign),
        }
    }

    /// `i32x4.relaxed_trunc_f64x2_s/u_zero`.
    pub(super) fn relaxed_trunc_f64x2_zero(&mut self, sign: Sign) -> Result<()> {
        match (self.isa(), sign) {
            (VectorIsa::X86 { .. }, Sign::Signed) => {
                let value = self.pop_lanes(Shape::F64x2)?;
                let result = self.vector_intrinsic("llvm.x86.sse2.cvttpd2dq", &[], &[value.into()])?;
                self.push_lanes(result)
            }
            _ => self.trunc_sat_f64x2_zero(sign),
        }
    }

    /// `f32x4/f64x2.relaxed_madd` (`a * b + c`) and, with `negate`,
    /// `relaxed_nmadd` (`-(a * b) + c`): one rounding where the CPU has a
    /// fused multiply-add, two where it has not.
    pub(super) fn relaxed_madd(&mut self, shape: Shape, negate: bool) -> Result<()> {
        let addend = self.pop_lanes(shape)?;
        let rhs = self.pop_lanes(shape)?;
        let lhs = self.pop_lanes(shape)?;
        let lhs = if negate { self.b.lanes_fneg(lhs)? } else { lhs };
        let fused = match self.isa() {
            VectorIsa::X86 { fma, .. } => fma,
            VectorIsa::Aarch64 | VectorIsa::Generic => true,
        };
        let result = if fused {
            self.vector_intrinsic("llvm.fma", &[lhs.get_type().into()], &[lhs.into(), rhs.into(), addend.into()])?
        } else {
            self.b.float_add(self.b.float_mul(lhs, rhs)?, addend)?
        };
        let result = self.lanes_arithmetic_nan(result)?;
        self.push_lanes(result)
    }

    /// `*.relaxed_laneselect`: the first operand's bits where the mask is
    /// set, the second's where it is clear; lanes whose mask mixes both
    /// follow the mask's top bit on x86 with SSE4.1 (except 16-bit lanes).
    pub(super) fn relaxed_laneselect(&mut self, shape: Shape) -> Result<()> {
        match self.isa() {
            VectorIsa::X86 { sse41: true, .. } if shape != Shape::I16x8 => {
                let mask = self.pop_lanes(shape)?;
                let otherwise = self.pop_lanes(shape)?;
                let then = self.pop_lanes(shape)?;
                let negative = self.b.lanes_icmp(IntPredicate::SLT, mask, mask.get_type().const_zero())?;
                let result = self.b.select(negative, then, otherwise)?.into_vector_value();
                self.push_lanes(result)
            }
            _ => self.v128_bitselect(),
        }
    }

    /// `f32x4/f64x2.relaxed_min/max`: on x86 a single `minps`/`maxps`,
    /// which returns the second operand when either is NaN or both are
    /// zeros; elsewhere wasm's `min`/`max`.
    pub(super) fn relaxed_min_max(&mut self, shape: Shape, max: bool) -> Result<()> {
        if !matches!(self.isa(), VectorIsa::X86 { .. }) {
            return self.float_lanes_binary(shape, if max { FloatLaneOp::Max } else { FloatLaneOp::Min });
        }
        let rhs = self.pop_lanes(shape)?;
        let lhs = self.pop_lanes(shape)?;
        let result = self.vector_intrinsic(super::float::x86_min_max(lhs, max), &[], &[lhs.into(), rhs.into()])?;
        self.push_lanes(result)
    }

    /// `i16x8.relaxed_q15mulr_s`: the rounding Q15 product, which may wrap
    /// `0x8000 × 0x8000` to `0x8000` instead of saturating.
    pub(super) fn relaxed_q15mulr(&mut self) -> Result<()> {
        let name = match self.isa() {
            VectorIsa::X86 { ssse3: true, .. } => "llvm.x86.ssse3.pmul.hr.sw.128",
            // `sqrdmulh` saturates, so it is the deterministic lowering.
            _ => return self.q15mulr_sat(),
        };
        let rhs = self.pop_lanes(Shape::I16x8)?;
        let lhs = self.pop_lanes(Shape::I16x8)?;
        let result = self.vector_intrinsic(name, &[], &[lhs.into(), rhs.into()])?;
        self.push_lanes(result)
    }

    /// `i16x8.relaxed_dot_i8x16_i7x16_s`.
    pub(super) fn relaxed_dot(&mut self) -> Result<()> {
        let rhs = self.pop_lanes(Shape::I8x16)?;
        let lhs = self.pop_lanes(Shape::I8x16)?;
        let result = self.relaxed_dot_pairs(lhs, rhs)?;
        self.push_lanes(result)
    }

    /// `i32x4.relaxed_dot_i8x16_i7x16_add_s`: the 16-bit pair sums of
    /// [`Self::relaxed_dot`], summed in pairs again into 32-bit lanes and
    /// added to the third operand.
    pub(super) fn relaxed_dot_add(&mut self) -> Result<()> {
        let addend = self.pop_lanes(Shape::I32x4)?;
        let rhs = self.pop_lanes(Shape::I8x16)?;
        let lhs = self.pop_lanes(Shape::I8x16)?;
        let pairs = self.relaxed_dot_pairs(lhs, rhs)?;
        let quads = match self.isa() {
            VectorIsa::X86 { .. } => {
                let ones = self.int_splat(Shape::I16x8, 8, 1)?;
                self.vector_intrinsic("llvm.x86.sse2.pmadd.wd", &[], &[pairs.into(), ones.into()])?
            }
            _ => self.add_pairs(self.resize_lanes(pairs, 32, LaneCast::SignExtend)?)?,
        };
        let result = self.b.int_add(quads, addend)?;
        self.push_lanes(result)
    }

    /// The products of the bytes of `lhs` (signed) and `rhs`, adjacent
    /// pairs summed with signed saturation into 16-bit lanes. `rhs`'s
    /// bytes are unsigned on x86 with SSSE3 (`pmaddubsw`), signed
    /// elsewhere; they agree for the 7-bit values the operator is meant
    /// for.
    fn relaxed_dot_pairs(&self, lhs: VectorValue<'ctx>, rhs: VectorValue<'ctx>) -> Result<VectorValue<'ctx>> {
        if let VectorIsa::X86 { ssse3: true, .. } = self.isa() {
            return self.vector_intrinsic("llvm.x86.ssse3.pmadd.ub.sw.128", &[], &[rhs.into(), lhs.into()]);
        }
        let lhs = self.resize_lanes(lhs, 16, LaneCast::SignExtend)?;
        let rhs = self.resize_lanes(rhs, 16, LaneCast::SignExtend)?;
        let (even, odd) = self.even_and_odd_lanes(self.b.int_mul(lhs, rhs)?)?;
        self.vector_intrinsic("llvm.sadd.sat", &[even.get_type().into()], &[even.into(), odd.into()])
    }
}


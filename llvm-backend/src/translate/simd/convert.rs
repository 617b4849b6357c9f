//! Lane conversions: integer narrowing and widening, int ↔ float,
//! `demote`/`promote`.
//!
//! * Narrowing saturates each input lane (read as signed) to the narrower
//!   signed or unsigned range. The clamp-and-truncate IR becomes
//!   `packsswb`/`packuswb`/`packssdw`/`packusdw` on x86 and `sqxtn` on
//!   AArch64; the unsigned forms use `sqxtun` by name on AArch64, where
//!   LLVM does not find it.
//! * Widening (`extend_{low,high}`) picks a half with a shuffle and
//!   extends it: `pmovsxbw`, `punpckhbw`, `sshll`, `sshll2`.
//! * `convert` is `sitofp`/`uitofp` (round to nearest even, as wasm wants;
//!   x86 has no unsigned conversion before AVX-512 and LLVM builds it from
//!   two exact halves and one rounding add).
//! * `demote_f64x2_zero` and `promote_low_f32x4` are float arithmetic for
//!   NaN purposes (canonicalized), the upper lanes of `demote` zero.
//!
//! # Saturating truncation
//!
//! `trunc_sat` maps NaN to 0 and out-of-range values to the nearest
//! bound. LLVM's `fptosi.sat`/`fptoui.sat` say exactly that and AArch64
//! selects them to `fcvtzs`/`fcvtzu` (the `f64x2` forms convert to 64-bit
//! lanes and narrow with saturation, `sqxtn`/`uqxtn`), but x86 has only
//! `cvttps2dq`/`cvttpd2dq`, which return `0x80000000` for NaN and any
//! out-of-range input, and LLVM scalarizes the generic intrinsic there. So
//! on x86 kiln builds the sequences around them:
//!
//! * `i32x4.trunc_sat_f32x4_s`: zero NaN lanes, convert, and flip the
//!   lanes that were `>= 2^31` (`0x80000000 ^ -1 = 0x7fffffff`);
//! * `i32x4.trunc_sat_f32x4_u`: `x = max(x, 0)` (NaN → 0); convert `x`
//!   (right below `2^31`, `0x80000000` above) and `x - 2^31` (right for
//!   `[2^31, 2^32)`, flipped to `0x7fffffff` where `x >= 2^32`, clamped to
//!   `>= 0`), and add the two;
//! * `i32x4.trunc_sat_f64x2_s_zero`: zero NaN lanes, clamp above at
//!   `2^31 - 1` (below, `cvttpd2dq`'s `0x80000000` is the right answer);
//! * `i32x4.trunc_sat_f64x2_u_zero`: clamp to `[0, 2^32 - 1]` (NaN → 0),
//!   truncate, and add `2^52`: the low 32 bits of the double are then the
//!   integer (`roundpd`, `addpd`, `shufps`), or without SSE4.1 an
//!   in-range `fptoui`.

use super::super::FuncTranslator;
use super::super::conversion::Sign;
use super::{Half, Shape, VectorIsa};
use crate::codegen::builder::LaneCast;
use crate::error::Result;
use inkwell::FloatPredicate;
use inkwell::types::BasicTypeEnum;
use inkwell::values::VectorValue;

impl<'ctx> FuncTranslator<'_, 'ctx> {
    /// `*.narrow_*`: both operands' lanes (of the shape twice as wide as
    /// `to`), saturated to `to`'s lanes.
    pub(super) fn narrow(&mut self, to: Shape, sign: Sign) -> Result<()> {
        let from = to.wider()?;
        let rhs = self.pop_lanes(from)?;
        let lhs = self.pop_lanes(from)?;
        let all: Vec<u32> = (0..to.lanes()).collect();
        let result = if self.isa() == VectorIsa::Aarch64 {
            let name = match sign {
                Sign::Signed => "llvm.aarch64.neon.sqxtn",
                Sign::Unsigned => "llvm.aarch64.neon.sqxtun",
            };
            let half = self.vector_type(to, to.lanes() / 2)?;
            let low = self.vector_intrinsic(name, &[half.into()], &[lhs.into()])?;
            let high = self.vector_intrinsic(name, &[half.into()], &[rhs.into()])?;
            self.b.shuffle(low, high, &all)?
        } else {
            let both = self.b.shuffle(lhs, rhs, &all)?;
            let bits = to.lane_bits();
            let (min, max) = match sign {
                Sign::Signed => ((-1i64 << (bits - 1)) as u64, (1u64 << (bits - 1)) - 1),
                Sign::Unsigned => (0, (1u64 << bits) - 1),
            };
            let ty = both.get_type();
            let min = self.int_splat(from, to.lanes(), min)?;
            let max = self.int_splat(from, to.lanes(), max)?;
            let raised = self.vector_intrinsic("llvm.smax", &[ty.into()], &[both.into(), min.into()])?;
            let clamped = self.vector_intrinsic("llvm.smin", &[ty.into()], &[raised.into(), max.into()])?;
            self.resize_lanes(clamped, bits, LaneCast::Truncate)?
        };
        self.push_lanes(result)
    }

    /// `*.extend_{low,high}_*`: `half` of the lanes of the shape half as
    /// wide as `to`, extended as `sign` says.
    pub(super) fn widen(&mut self, to: Shape, half: Half, sign: Sign) -> Result<()> {
        let from = to.narrower()?;
        let value = self.pop_lanes(from)?;
        let result = self.extend_lanes(value, &half.indices(from.lanes()), sign)?;
        self.push_lanes(result)
    }

    /// `f32x4.convert_i32x4_s` / `_u`.
    pub(super) fn convert_i32x4(&mut self, sign: Sign) -> Result<()> {
        let value = self.pop_lanes(Shape::I32x4)?;
        let result = self.b.lanes_cast(value, self.shape_type(Shape::F32x4)?, to_float(sign))?;
        self.push_lanes(result)
    }

    /// `f64x2.convert_low_i32x4_s` / `_u` (exact).
    pub(super) fn convert_low_i32x4(&mut self, sign: Sign) -> Result<()> {
        let value = self.pop_lanes(Shape::I32x4)?;
        let low = self.b.shuffle(value, value, &Half::Low.indices(4))?;
        let result = self.b.lanes_cast(low, self.shape_type(Shape::F64x2)?, to_float(sign))?;
        self.push_lanes(result)
    }

    /// `f32x4.demote_f64x2_zero`.
    pub(super) fn demote_f64x2_zero(&mut self) -> Result<()> {
        let value = self.pop_lanes(Shape::F64x2)?;
        let demoted = self.b.lanes_cast(value, self.vector_type(Shape::F32x4, 2)?, LaneCast::FloatTruncate)?;
        let demoted = self.lanes_arithmetic_nan(demoted)?;
        let result = self.b.shuffle(demoted, demoted.get_type().const_zero(), &[0, 1, 2, 3])?;
        self.push_lanes(result)
    }

    /// `f64x2.promote_low_f32x4`.
    pub(super) fn promote_low_f32x4(&mut self) -> Result<()> {
        let value = self.pop_lanes(Shape::F32x4)?;
        let low = self.b.shuffle(value, value, &Half::Low.indices(4))?;
        let promoted = self.b.lanes_cast(low, self.shape_type(Shape::F64x2)?, LaneCast::FloatExtend)?;
        let result = self.lanes_arithmetic_nan(promoted)?;
        self.push_lanes(result)
    }

    /// `i32x4.trunc_sat_f32x4_s` / `_u` (see the module docs).
    pub(super) fn trunc_sat_f32x4(&mut self, sign: Sign) -> Result<()> {
        let value = self.pop_lanes(Shape::F32x4)?;
        let result = match (self.isa(), sign) {
            (VectorIsa::X86 { .. }, Sign::Signed) => {
                let x = self.zero_nan_lanes(value)?;
                let converted = self.cvtt(x)?;
                let overflow = self.at_least(x, 2f64.powi(31))?;
                self.b.xor(converted, overflow)?
            }
            (VectorIsa::X86 { .. }, Sign::Unsigned) => {
                let x = self.max_with_zero(value)?;
                let high = self.b.float_sub(x, self.float_splat(Shape::F32x4, 2f64.powi(31))?)?;
                let overflow = self.at_least(high, 2f64.powi(31))?;
                let high = self.b.xor(self.cvtt(high)?, overflow)?;
                let zero = high.get_type().const_zero();
                let high =
                    self.vector_intrinsic("llvm.smax", &[zero.get_type().into()], &[high.into(), zero.into()])?;
                self.b.int_add(self.cvtt(x)?, high)?
            }
            (_, sign) => self.fpto_sat(value, self.shape_type(Shape::I32x4)?.into(), sign)?,
        };
        self.push_lanes(result)
    }

    /// `i32x4.trunc_sat_f64x2_s_zero` / `_u_zero` (see the module docs).
    pub(super) fn trunc_sat_f64x2_zero(&mut self, sign: Sign) -> Result<()> {
        let value = self.pop_lanes(Shape::F64x2)?;
        let pair = self.int_bits(32)?.vec_type(2);
        let result = match (self.isa(), sign) {
            (VectorIsa::X86 { .. }, Sign::Signed) => {
                let x = self.min_with(self.zero_nan_lanes(value)?, 2f64.powi(31) - 1.0)?;
                self.vector_intrinsic("llvm.x86.sse2.cvttpd2dq", &[], &[x.into()])?
            }
            (VectorIsa::X86 { sse41, .. }, Sign::Unsigned) => {
                let x = self.min_with(self.max_with_zero(value)?, 2f64.powi(32) - 1.0)?;
                if sse41 {
                    let whole = self.vector_intrinsic("llvm.trunc", &[x.get_type().into()], &[x.into()])?;
                    let biased = self.b.float_add(whole, self.float_splat(Shape::F64x2, 2f64.powi(52))?)?;
                    let halves = self.as_shape(biased.into(), Shape::I32x4)?;
                    self.b.shuffle(halves, halves.get_type().const_zero(), &[0, 2, 4, 5])?
                } else {
                    let converted = self.b.lanes_cast(x, pair, LaneCast::FloatToUnsigned)?;
                    self.b.shuffle(converted, pair.const_zero(), &[0, 1, 2, 3])?
                }
            }
            (VectorIsa::Aarch64, sign) => {
                let wide = self.fpto_sat(value, self.shape_type(Shape::I64x2)?.into(), sign)?;
                let name = match sign {
                    Sign::Signed => "llvm.aarch64.neon.sqxtn",
                    Sign::Unsigned => "llvm.aarch64.neon.uqxtn",
                };
                let narrow = self.vector_intrinsic(name, &[pair.into()], &[wide.into()])?;
                self.b.shuffle(narrow, pair.const_zero(), &[0, 1, 2, 3])?
            }
            (VectorIsa::Generic, sign) => {
                let converted = self.fpto_sat(value, pair.into(), sign)?;
                self.b.shuffle(converted, pair.const_zero(), &[0, 1, 2, 3])?
            }
        };
        self.push_lanes(result)
    }

    /// `llvm.fptosi.sat` / `llvm.fptoui.sat` of every lane to the lanes of
    /// `to`.
    fn fpto_sat(&self, value: VectorValue<'ctx>, to: BasicTypeEnum<'ctx>, sign: Sign) -> Result<VectorValue<'ctx>> {
        let name = match sign {
            Sign::Signed => "llvm.fptosi.sat",
            Sign::Unsigned => "llvm.fptoui.sat",
        };
        self.vector_intrinsic(name, &[to, value.get_type().into()], &[value.into()])
    }

    /// x86 `cvttps2dq`: truncation to `i32`, `0x80000000` for NaN and out of
    /// range.
    fn cvtt(&self, value: VectorValue<'ctx>) -> Result<VectorValue<'ctx>> {
        self.vector_intrinsic("llvm.x86.sse2.cvttps2dq", &[], &[value.into()])
    }

    /// `value` with NaN lanes replaced by +0.
    fn zero_nan_lanes(&self, value: VectorValue<'ctx>) -> Result<VectorValue<'ctx>> {
        let ordered = self.b.fcmp(FloatPredicate::ORD, value, value)?;
        Ok(self.b.select(ordered, value, value.get_type().const_zero())?.into_vector_value())
    }

    /// `value > 0 ? value : 0` lane-wise (NaN → +0): `maxps value, 0`.
    fn max_with_zero(&self, value: VectorValue<'ctx>) -> Result<VectorValue<'ctx>> {
        let zero = value.get_type().const_zero();
        let positive = self.b.fcmp(FloatPredicate::OGT, value, zero)?;
        Ok(self.b.select(positive, value, zero)?.into_vector_value())
    }

    /// `value < bound ? value : bound` lane-wise (for non-NaN `value`).
    fn min_with(&self, value: VectorValue<'ctx>, bound: f64) -> Result<VectorValue<'ctx>> {
        let shape = if value.get_type().get_size() == 4 { Shape::F32x4 } else { Shape::F64x2 };
        let bound = self.float_splat(shape, bound)?;
        let below = self.b.fcmp(FloatPredicate::OLT, value, bound)?;
        Ok(self.b.select(below, value, bound)?.into_vector_value())
    }

    /// All-ones `i32` lanes where the `f32` lane of `value` is `>= bound`.
    fn at_least(&self, value: VectorValue<'ctx>, bound: f64) -> Result<VectorValue<'ctx>> {
        let above = self.b.fcmp(FloatPredicate::OGE, value, self.float_splat(Shape::F32x4, bound)?)?;
        self.mask_to_lanes(above, Shape::F32x4)
    }
}

/// The lane cast from integers to floats.
fn to_float(sign: Sign) -> LaneCast {
    match sign {
        Sign::Signed => LaneCast::SignedToFloat,
        Sign::Unsigned => LaneCast::UnsignedToFloat,
    }
}

//! Float lane arithmetic and comparisons, each one helper over the lane
//! shape (`f32x4` or `f64x2`).
//!
//! Arithmetic (`add`…`div`, `sqrt`, the roundings) is LLVM's vector
//! arithmetic wrapped in `llvm.canonicalize` (see [`super`] and
//! `crate::canonicalize`); `nearest` is `llvm.roundeven` (round half to
//! even: `roundps $8`, `frintn`). `abs` and `neg` are sign-bit operations
//! and `pmin`/`pmax` are the spec's compare-and-select
//! (`pmin(a, b) = b < a ? b : a`), which is exactly `minps b, a`; all
//! three return their inputs' bits unchanged, NaN payloads included.
//!
//! # `min` and `max`
//!
//! Wasm's `min`/`max` return NaN if either operand is NaN and order
//! `-0 < +0`. That is `llvm.minimum`/`llvm.maximum`, a single `fmin`/`fmax`
//! on AArch64 (which also quiets NaNs). On x86, `minps a, b` is
//! `a < b ? a : b`: it returns its second operand for NaNs and for equal
//! zeros, and LLVM's generic expansion of `llvm.minimum` costs blends on
//! top. kiln uses the sequence other engines use: compute the x86 `min`
//! in both operand orders, so that whichever operand is NaN or `-0`
//! reaches the result through one of them, and merge —
//!
//! * `min`: `m = min(b, a) | min(a, b)` — OR keeps `-0` over `+0` and
//!   makes any NaN operand a NaN;
//! * `max`: `d = max(a, b) ^ max(b, a)`, `m = (max(b, a) | d) - d` — the
//!   two orders differ only for NaNs and zeros of opposite sign; the OR
//!   propagates a NaN, and the subtraction turns the `-0` the OR leaves for
//!   `±0` into `+0` (and keeps NaNs NaN);
//!
//! then NaN lanes are made the canonical NaN with integer operations:
//! `n = isnan(m)` (all-ones lanes) and `m = (m | n) & ~(n >> s)`, where
//! `s` counts the sign, exponent and quiet bits, keeps those and clears
//! the payload. The result is quiet without a canonicalize marker.

use super::super::FuncTranslator;
use super::{Shape, VectorIsa};
use crate::error::Result;
use inkwell::FloatPredicate;
use inkwell::values::VectorValue;

/// A lane-wise float operation of two operands.
#[derive(Clone, Copy, Debug)]
pub(super) enum FloatLaneOp {
    Add,
    Sub,
    Mul,
    Div,
    Min,
    Max,
    /// `b < a ? b : a`.
    PMin,
    /// `a < b ? b : a`.
    PMax,
}

/// A lane-wise float operation of one operand.
#[derive(Clone, Copy, Debug)]
pub(super) enum FloatLaneUnOp {
    Abs,
    Neg,
    Sqrt,
    Ceil,
    Floor,
    Trunc,
    Nearest,
}

impl<'ctx> FuncTranslator<'_, 'ctx> {
    pub(super) fn float_lanes_binary(&mut self, shape: Shape, op: FloatLaneOp) -> Result<()> {
        let rhs = self.pop_lanes(shape)?;
        let lhs = self.pop_lanes(shape)?;
        let b = &self.b;
        let result = match op {
            FloatLaneOp::Add => self.lanes_arithmetic_nan(b.float_add(lhs, rhs)?)?,
            FloatLaneOp::Sub => self.lanes_arithmetic_nan(b.float_sub(lhs, rhs)?)?,
            FloatLaneOp::Mul => self.lanes_arithmetic_nan(b.float_mul(lhs, rhs)?)?,
            FloatLaneOp::Div => self.lanes_arithmetic_nan(b.float_div(lhs, rhs)?)?,
            FloatLaneOp::Min | FloatLaneOp::Max => self.min_max(shape, lhs, rhs, matches!(op, FloatLaneOp::Max))?,
            FloatLaneOp::PMin => self.pseudo_min_max(lhs, rhs, false)?,
            FloatLaneOp::PMax => self.pseudo_min_max(lhs, rhs, true)?,
        };
        self.push_lanes(result)
    }

    pub(super) fn float_lanes_unary(&mut self, shape: Shape, op: FloatLaneUnOp) -> Result<()> {
        let value = self.pop_lanes(shape)?;
        let intrinsic = |name: &str| self.vector_intrinsic(name, &[value.get_type().into()], &[value.into()]);
        let result = match op {
            FloatLaneUnOp::Abs => intrinsic("llvm.fabs")?,
            FloatLaneUnOp::Neg => self.b.lanes_fneg(value)?,
            FloatLaneUnOp::Sqrt => self.lanes_arithmetic_nan(intrinsic("llvm.sqrt")?)?,
            FloatLaneUnOp::Ceil => self.lanes_arithmetic_nan(intrinsic("llvm.ceil")?)?,
            FloatLaneUnOp::Floor => self.lanes_arithmetic_nan(intrinsic("llvm.floor")?)?,
            FloatLaneUnOp::Trunc => self.lanes_arithmetic_nan(intrinsic("llvm.trunc")?)?,
            FloatLaneUnOp::Nearest => self.lanes_arithmetic_nan(intrinsic("llvm.roundeven")?)?,
        };
        self.push_lanes(result)
    }

    /// Float lane comparisons: all ones where `pred` holds, else zeros
    /// (`ne` is the unordered one, true for NaN).
    pub(super) fn float_lanes_compare(&mut self, shape: Shape, pred: FloatPredicate) -> Result<()> {
        let rhs = self.pop_lanes(shape)?;
        let lhs = self.pop_lanes(shape)?;
        let mask = self.b.fcmp(pred, lhs, rhs)?;
        let result = self.mask_to_lanes(mask, shape)?;
        self.push_lanes(result)
    }

    /// The spec's `pmin`/`pmax`: `pmin(a, b) = b < a ? b : a`,
    /// `pmax(a, b) = a < b ? b : a`; either way the second operand where
    /// the comparison holds, else the first, bits unchanged. On x86 that is
    /// exactly `minps b, a` / `maxps b, a` (which return their second
    /// operand when unordered), named directly because LLVM may turn the
    /// select into an integer one before it can match it.
    fn pseudo_min_max(&self, lhs: VectorValue<'ctx>, rhs: VectorValue<'ctx>, max: bool) -> Result<VectorValue<'ctx>> {
        if matches!(self.isa(), VectorIsa::X86 { .. }) {
            return self.vector_intrinsic(x86_min_max(lhs, max), &[], &[rhs.into(), lhs.into()]);
        }
        let pick_rhs = if max {
            self.b.fcmp(FloatPredicate::OLT, lhs, rhs)?
        } else {
            self.b.fcmp(FloatPredicate::OLT, rhs, lhs)?
        };
        Ok(self.b.select(pick_rhs, rhs, lhs)?.into_vector_value())
    }

    /// Wasm `min`/`max` (see the module docs).
    fn min_max(
        &self,
        shape: Shape,
        lhs: VectorValue<'ctx>,
        rhs: VectorValue<'ctx>,
        max: bool,
    ) -> Result<VectorValue<'ctx>> {
        if !matches!(self.isa(), VectorIsa::X86 { .. }) {
            let name = if max { "llvm.maximum" } else { "llvm.minimum" };
            let result = self.vector_intrinsic(name, &[lhs.get_type().into()], &[lhs.into(), rhs.into()])?;
            return self.lanes_arithmetic_nan(result);
        }
        let name = x86_min_max(lhs, max);
        let swapped = self.vector_intrinsic(name, &[], &[rhs.into(), lhs.into()])?;
        let ordered = self.vector_intrinsic(name, &[], &[lhs.into(), rhs.into()])?;
        let int = shape.as_int();
        let swapped_bits = self.as_shape(swapped.into(), int)?;
        let ordered_bits = self.as_shape(ordered.into(), int)?;
        let merged = if max {
            let differ = self.b.xor(ordered_bits, swapped_bits)?;
            let joined = self.as_shape(self.b.or(swapped_bits, differ)?.into(), shape)?;
            self.b.float_sub(joined, self.as_shape(differ.into(), shape)?)?
        } else {
            self.as_shape(self.b.or(swapped_bits, ordered_bits)?.into(), shape)?
        };
        let nan = self.mask_to_lanes(self.b.fcmp(FloatPredicate::UNO, merged, merged)?, shape)?;
        let merged_bits = self.b.or(self.as_shape(merged.into(), int)?, nan)?;
        // All-ones shifted right by sign, exponent and quiet bit: the
        // payload bits below the quiet bit.
        let mantissa = if shape == Shape::F32x4 { 23 } else { 52 };
        let shift = self.int_splat(int, int.lanes(), u64::from(shape.lane_bits() - mantissa + 1))?;
        let payload = self.b.lanes_shr(nan, shift, false)?;
        let canonical = self.b.and(merged_bits, self.b.lanes_not(payload)?)?;
        self.as_shape(canonical.into(), shape)
    }
}

/// The x86 `minps`/`maxps`/`minpd`/`maxpd` intrinsic for the lanes of
/// `value`: `a < b ? a : b` (or `>`), the second operand when unordered or
/// both zero.
pub(super) fn x86_min_max(value: VectorValue<'_>, max: bool) -> &'static str {
    match (value.get_type().get_size(), max) {
        (4, false) => "llvm.x86.sse.min.ps",
        (4, true) => "llvm.x86.sse.max.ps",
        (_, false) => "llvm.x86.sse2.min.pd",
        (_, true) => "llvm.x86.sse2.max.pd",
    }
}

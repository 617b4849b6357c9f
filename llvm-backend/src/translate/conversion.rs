//! Conversions between value types, generic over source and target width.
//!
//! The subtle one is the trapping float-to-integer truncation: LLVM's
//! `fptosi`/`fptoui` are poison out of range, so the range is checked
//! first, with ordered compares that are also false for NaN. The valid
//! inputs are those whose truncation fits: `x < 2^(N-1)` (signed) or
//! `x < 2^N` (unsigned) above, and below `x > -2^(N-1) - 1` when that
//! bound is representable (f64 → i32), else `x >= -2^(N-1)` (no float lies
//! strictly between the two), or `x > -1` for unsigned. Out-of-range
//! values trap with "integer overflow", NaN with "invalid conversion to
//! integer", as the spec tests expect. Both checks share one branch on the
//! fast path; the NaN distinction is made only on the way to the trap.
//!
//! The saturating forms are exactly LLVM's `fptosi.sat`/`fptoui.sat`.
//! `promote`/`demote` are arithmetic for NaN purposes (see
//! [`super::numeric`]); `reinterpret` is a bit cast and keeps every bit.

use super::FuncTranslator;
use crate::error::Result;
use inkwell::FloatPredicate;
use inkwell::types::{FloatType, IntType};
use kiln_abi::TrapCode;

/// An integer width.
#[derive(Clone, Copy, Debug)]
pub(super) enum Int {
    I32,
    I64,
}

/// A float width.
#[derive(Clone, Copy, Debug)]
pub(super) enum Float {
    F32,
    F64,
}

/// How an integer is interpreted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Sign {
    Signed,
    Unsigned,
}

impl<'ctx> FuncTranslator<'_, 'ctx> {
    fn int_type(&self, ty: Int) -> IntType<'ctx> {
        match ty {
            Int::I32 => self.cx.types.i32,
            Int::I64 => self.cx.types.i64,
        }
    }

    fn float_type(&self, ty: Float) -> FloatType<'ctx> {
        match ty {
            Float::F32 => self.cx.types.f32,
            Float::F64 => self.cx.types.f64,
        }
    }

    /// `i32.wrap_i64`.
    pub(super) fn wrap(&mut self) -> Result<()> {
        let value = self.pop_int()?;
        let result = self.b.trunc(value, self.cx.types.i32)?;
        self.push(result);
        Ok(())
    }

    /// `i64.extend_i32_s` / `_u`.
    pub(super) fn extend(&mut self, sign: Sign) -> Result<()> {
        let value = self.pop_int()?;
        let result = match sign {
            Sign::Signed => self.b.sext(value, self.cx.types.i64)?,
            Sign::Unsigned => self.b.zext(value, self.cx.types.i64)?,
        };
        self.push(result);
        Ok(())
    }

    /// The trapping `iN.trunc_fM_s` / `_u`.
    pub(super) fn trunc_to_int(&mut self, to: Int, sign: Sign) -> Result<()> {
        let value = self.pop_float()?;
        let ty = value.get_type();
        let to = self.int_type(to);
        let bits = to.get_bit_width() as i32;
        let (lower, upper) = match sign {
            Sign::Signed if self.b.float_bits(ty) == 64 && bits == 32 => {
                (self.b.fcmp(FloatPredicate::OGT, value, ty.const_float(-(2f64.powi(31)) - 1.0))?, 2f64.powi(31))
            }
            Sign::Signed => {
                (self.b.fcmp(FloatPredicate::OGE, value, ty.const_float(-(2f64.powi(bits - 1))))?, 2f64.powi(bits - 1))
            }
            Sign::Unsigned => (self.b.fcmp(FloatPredicate::OGT, value, ty.const_float(-1.0))?, 2f64.powi(bits)),
        };
        let below_upper = self.b.fcmp(FloatPredicate::OLT, value, ty.const_float(upper))?;
        let in_range = self.b.and(lower, below_upper)?;

        let ok = self.b.append_block("trunc.ok")?;
        let bad = self.b.append_block("trunc.bad")?;
        self.b.cond_br(in_range, ok, bad)?;
        self.b.position_at_end(bad);
        let is_nan = self.b.fcmp(FloatPredicate::UNO, value, value)?;
        let nan_trap = self.block_for_trap(TrapCode::BadConversionToInteger)?;
        let overflow_trap = self.block_for_trap(TrapCode::IntegerOverflow)?;
        self.b.cond_br(is_nan, nan_trap, overflow_trap)?;

        self.b.position_at_end(ok);
        let result = self.b.float_to_int(value, to, sign == Sign::Signed)?;
        self.push(result);
        Ok(())
    }

    /// `iN.trunc_sat_fM_s` / `_u`.
    pub(super) fn trunc_to_int_sat(&mut self, to: Int, sign: Sign) -> Result<()> {
        let value = self.pop_float()?;
        let name = match sign {
            Sign::Signed => "llvm.fptosi.sat",
            Sign::Unsigned => "llvm.fptoui.sat",
        };
        let types = [self.int_type(to).into(), value.get_type().into()];
        let result = self.b.call_intrinsic(name, &types, &[value.into()])?;
        self.push(result);
        Ok(())
    }

    /// `fM.convert_iN_s` / `_u` (round to nearest, ties to even).
    pub(super) fn convert_to_float(&mut self, to: Float, sign: Sign) -> Result<()> {
        let value = self.pop_int()?;
        let result = self.b.int_to_float(value, self.float_type(to), sign == Sign::Signed)?;
        self.push(result);
        Ok(())
    }

    /// `f32.demote_f64` and `f64.promote_f32`.
    pub(super) fn float_resize(&mut self, to: Float) -> Result<()> {
        let value = self.pop_float()?;
        let resized = self.b.float_cast(value, self.float_type(to))?;
        let result = self.arithmetic_nan(resized)?;
        self.push(result);
        Ok(())
    }

    /// `iN.reinterpret_fN`.
    pub(super) fn reinterpret_as_int(&mut self, to: Int) -> Result<()> {
        let value = self.pop()?;
        let result = self.b.bit_cast(value, self.int_type(to).into())?;
        self.push(result);
        Ok(())
    }

    /// `fN.reinterpret_iN`.
    pub(super) fn reinterpret_as_float(&mut self, to: Float) -> Result<()> {
        let value = self.pop()?;
        let result = self.b.bit_cast(value, self.float_type(to).into())?;
        self.push(result);
        Ok(())
    }
}

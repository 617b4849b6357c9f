//! Wide arithmetic (a wasm 3.0 proposal): `i64.add128` and `i64.sub128`
//! on 128-bit numbers given as low and high `i64` halves, and
//! `i64.mul_wide_s`/`_u`, the full 128-bit product of two `i64`s.
//!
//! Each becomes LLVM `i128` arithmetic on the joined halves, which every
//! target lowers to its own carry chain (`add`/`adc`, `adds`/`adcs`) or
//! widening multiply (`mul`/`imul` into `rdx:rax`, `mul` with
//! `umulh`/`smulh`): what a C compiler emits for `__int128`.

use super::FuncTranslator;
use crate::error::Result;
use inkwell::values::IntValue;

impl<'ctx> FuncTranslator<'_, 'ctx> {
    /// `i64.add128` or `i64.sub128`: `[lo1 hi1 lo2 hi2] -> [lo hi]`.
    pub(super) fn add_sub_128(&mut self, subtract: bool) -> Result<()> {
        let rhs_high = self.pop_int()?;
        let rhs_low = self.pop_int()?;
        let lhs_high = self.pop_int()?;
        let lhs_low = self.pop_int()?;
        let lhs = self.join_halves(lhs_low, lhs_high)?;
        let rhs = self.join_halves(rhs_low, rhs_high)?;
        let result = if subtract { self.b.int_sub(lhs, rhs)? } else { self.b.int_add(lhs, rhs)? };
        self.push_halves(result)
    }

    /// `i64.mul_wide_s` or `i64.mul_wide_u`: `[a b] -> [lo hi]`.
    pub(super) fn mul_wide(&mut self, signed: bool) -> Result<()> {
        let rhs = self.pop_int()?;
        let lhs = self.pop_int()?;
        let i128 = self.cx.types.context.i128_type();
        let widen = |value| if signed { self.b.sext(value, i128) } else { self.b.zext(value, i128) };
        let product = self.b.int_mul(widen(lhs)?, widen(rhs)?)?;
        self.push_halves(product)
    }

    /// The `i128` whose halves are `low` and `high`.
    fn join_halves(&self, low: IntValue<'ctx>, high: IntValue<'ctx>) -> Result<IntValue<'ctx>> {
        let i128 = self.cx.types.context.i128_type();
        let high = self.b.shl(self.b.zext(high, i128)?, i128.const_int(64, false))?;
        self.b.or(self.b.zext(low, i128)?, high)
    }

    /// Pushes the low, then the high `i64` half of `value`.
    fn push_halves(&mut self, value: IntValue<'ctx>) -> Result<()> {
        let i64 = self.cx.types.i64;
        let low = self.b.trunc(value, i64)?;
        let shifted = self.b.shr(value, value.get_type().const_int(64, false), false)?;
        let high = self.b.trunc(shifted, i64)?;
        self.push(low);
        self.push(high);
        Ok(())
    }
}

//! Integer and float arithmetic, bit operations and comparisons, each one
//! helper generic over the operand width (the LLVM type of the operands
//! says whether it is the 32- or 64-bit instruction).
//!
//! # Integer traps and undefined behaviour
//!
//! LLVM's `sdiv`/`udiv`/`srem`/`urem` are undefined for a zero divisor and
//! `sdiv`/`srem` for `MIN / -1`, so those are checked first: division by
//! zero traps, `MIN / -1` traps with integer overflow, and `rem_s` by -1
//! (which wasm defines as 0) divides by 1 instead. Shift counts are masked
//! to the width, as wasm defines them; rotates are funnel shifts, and
//! `clz`/`ctz` use the intrinsics' defined-at-zero form.
//!
//! # Floats and NaN
//!
//! Wasm requires the NaN produced by arithmetic to be quiet. Hardware
//! quiets NaNs by itself, but LLVM's optimizer folds `x - 0.0`, `x * 1.0`,
//! `x / 1.0` to `x` (and `x * -1.0` to `-x`), which would let a signaling
//! NaN through. So every arithmetic result is wrapped in
//! `llvm.canonicalize`, which the optimizer respects and folds with; after
//! optimization, `crate::canonicalize` drops the wrapper where a real
//! quieting instruction remains and expands it elsewhere. `neg`, `abs` and
//! `copysign` are bit operations in wasm and are not wrapped; `min`/`max`
//! are `llvm.minimum`/`llvm.maximum` (NaN-propagating, -0 < +0) and
//! `nearest` is `llvm.roundeven`.

use super::FuncTranslator;
use crate::error::Result;
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum, FloatValue, InstructionOpcode, InstructionValue, IntValue};
use inkwell::{FloatPredicate, IntPredicate};
use kiln_abi::TrapCode;

/// Integer operations that cannot trap.
#[derive(Clone, Copy, Debug)]
pub(super) enum IntBinOp {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
    Shl,
    ShrS,
    ShrU,
    Rotl,
    Rotr,
}

/// Integer division and remainder.
#[derive(Clone, Copy, Debug)]
pub(super) enum DivOp {
    DivS,
    DivU,
    RemS,
    RemU,
}

/// Bit counting.
#[derive(Clone, Copy, Debug)]
pub(super) enum IntUnOp {
    Clz,
    Ctz,
    Popcnt,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum FloatBinOp {
    Add,
    Sub,
    Mul,
    Div,
    Min,
    Max,
    Copysign,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum FloatUnOp {
    Abs,
    Neg,
    Sqrt,
    Ceil,
    Floor,
    Trunc,
    Nearest,
}

fn args<'ctx>(values: &[BasicValueEnum<'ctx>]) -> Vec<BasicMetadataValueEnum<'ctx>> {
    values.iter().map(|&v| v.into()).collect()
}

impl<'ctx> FuncTranslator<'_, 'ctx> {
    pub(super) fn i32_const(&mut self, value: i32) -> Result<()> {
        self.push(self.b.i32_const(value));
        Ok(())
    }

    pub(super) fn i64_const(&mut self, value: i64) -> Result<()> {
        self.push(self.b.i64_const(value));
        Ok(())
    }

    pub(super) fn f32_const(&mut self, bits: u32) -> Result<()> {
        let value = self.b.float_from_bits(self.cx.types.f32, bits.into())?;
        self.push(value);
        Ok(())
    }

    pub(super) fn f64_const(&mut self, bits: u64) -> Result<()> {
        let value = self.b.float_from_bits(self.cx.types.f64, bits)?;
        self.push(value);
        Ok(())
    }

    pub(super) fn int_binary(&mut self, op: IntBinOp) -> Result<()> {
        let rhs = self.pop_int()?;
        let lhs = self.pop_int()?;
        let b = &self.b;
        let ty = lhs.get_type();
        let mask = |count: IntValue<'ctx>| b.and(count, ty.const_int(u64::from(ty.get_bit_width() - 1), false));
        let funnel = |name: &str| -> Result<IntValue<'ctx>> {
            Ok(b.call_intrinsic(name, &[ty.into()], &args(&[lhs.into(), lhs.into(), rhs.into()]))?.into_int_value())
        };
        let result = match op {
            IntBinOp::Add if self.path.add_cannot_wrap(lhs, rhs) || self.path.add_cannot_wrap(rhs, lhs) => {
                b.int_nuw_add(lhs, rhs)?
            }
            IntBinOp::Add => b.int_add(lhs, rhs)?,
            IntBinOp::Sub => match remainder_idiom(lhs, rhs) {
                Some((divisor, true)) => b.srem(lhs, divisor)?,
                Some((divisor, false)) => b.urem(lhs, divisor)?,
                None => b.int_sub(lhs, rhs)?,
            },
            IntBinOp::Mul => b.int_mul(lhs, rhs)?,
            IntBinOp::And => b.and(lhs, rhs)?,
            IntBinOp::Or => b.or(lhs, rhs)?,
            IntBinOp::Xor => b.xor(lhs, rhs)?,
            IntBinOp::Shl => b.shl(lhs, mask(rhs)?)?,
            IntBinOp::ShrS => b.shr(lhs, mask(rhs)?, true)?,
            IntBinOp::ShrU => b.shr(lhs, mask(rhs)?, false)?,
            IntBinOp::Rotl => funnel("llvm.fshl")?,
            IntBinOp::Rotr => funnel("llvm.fshr")?,
        };
        self.push(result);
        Ok(())
    }

    pub(super) fn int_div(&mut self, op: DivOp) -> Result<()> {
        let rhs = self.pop_int()?;
        let lhs = self.pop_int()?;
        let ty = lhs.get_type();
        let is_zero = self.b.icmp(IntPredicate::EQ, rhs, ty.const_zero())?;
        self.trap_if(is_zero, TrapCode::IntegerDivisionByZero)?;
        let minus_one = ty.const_all_ones();
        let result = match op {
            DivOp::DivS => {
                let min = ty.const_int(1 << (ty.get_bit_width() - 1), false);
                let lhs_min = self.b.icmp(IntPredicate::EQ, lhs, min)?;
                let rhs_minus_one = self.b.icmp(IntPredicate::EQ, rhs, minus_one)?;
                let overflows = self.b.and(lhs_min, rhs_minus_one)?;
                self.trap_if(overflows, TrapCode::IntegerOverflow)?;
                self.b.sdiv(lhs, rhs)?
            }
            DivOp::DivU => self.b.udiv(lhs, rhs)?,
            DivOp::RemS => {
                let rhs_minus_one = self.b.icmp(IntPredicate::EQ, rhs, minus_one)?;
                let divisor = self.b.select(rhs_minus_one, ty.const_int(1, false), rhs)?.into_int_value();
                self.b.srem(lhs, divisor)?
            }
            DivOp::RemU => self.b.urem(lhs, rhs)?,
        };
        self.push(result);
        Ok(())
    }

    pub(super) fn int_unary(&mut self, op: IntUnOp) -> Result<()> {
        let value = self.pop_int()?;
        let ty = value.get_type();
        let zero_defined = self.cx.types.context.bool_type().const_zero();
        let result = match op {
            IntUnOp::Clz => {
                self.b.call_intrinsic("llvm.ctlz", &[ty.into()], &args(&[value.into(), zero_defined.into()]))?
            }
            IntUnOp::Ctz => {
                self.b.call_intrinsic("llvm.cttz", &[ty.into()], &args(&[value.into(), zero_defined.into()]))?
            }
            IntUnOp::Popcnt => self.b.call_intrinsic("llvm.ctpop", &[ty.into()], &args(&[value.into()]))?,
        };
        self.push(result);
        Ok(())
    }

    /// `eqz`: 1 if zero, else 0, as an `i32`.
    pub(super) fn int_eqz(&mut self) -> Result<()> {
        let value = self.pop_int()?;
        let is_zero = self.b.icmp(IntPredicate::EQ, value, value.get_type().const_zero())?;
        self.push_bool(is_zero)
    }

    pub(super) fn int_compare(&mut self, pred: IntPredicate) -> Result<()> {
        let rhs = self.pop_int()?;
        let lhs = self.pop_int()?;
        let result = self.b.icmp(pred, lhs, rhs)?;
        self.push_bool(result)
    }

    /// The sign-extension operators: sign-extends the low `bits` bits in
    /// place.
    pub(super) fn sign_extend_low(&mut self, bits: u32) -> Result<()> {
        let value = self.pop_int()?;
        let narrow = self.b.trunc(value, self.cx.types.int(bits)?)?;
        let result = self.b.sext(narrow, value.get_type())?;
        self.push(result);
        Ok(())
    }

    pub(super) fn float_binary(&mut self, op: FloatBinOp) -> Result<()> {
        let rhs = self.pop_float()?;
        let lhs = self.pop_float()?;
        let b = &self.b;
        let ty = lhs.get_type();
        let intrinsic = |name: &str| -> Result<FloatValue<'ctx>> {
            Ok(b.call_intrinsic(name, &[ty.into()], &args(&[lhs.into(), rhs.into()]))?.into_float_value())
        };
        let result = match op {
            FloatBinOp::Add => self.arithmetic_nan(b.float_add(lhs, rhs)?)?,
            FloatBinOp::Sub => self.arithmetic_nan(b.float_sub(lhs, rhs)?)?,
            FloatBinOp::Mul => self.arithmetic_nan(b.float_mul(lhs, rhs)?)?,
            FloatBinOp::Div => self.arithmetic_nan(b.float_div(lhs, rhs)?)?,
            FloatBinOp::Min => self.arithmetic_nan(intrinsic("llvm.minimum")?)?,
            FloatBinOp::Max => self.arithmetic_nan(intrinsic("llvm.maximum")?)?,
            FloatBinOp::Copysign => intrinsic("llvm.copysign")?,
        };
        self.push(result);
        Ok(())
    }

    pub(super) fn float_unary(&mut self, op: FloatUnOp) -> Result<()> {
        let value = self.pop_float()?;
        let intrinsic = |name: &str| -> Result<FloatValue<'ctx>> {
            Ok(self.b.call_intrinsic(name, &[value.get_type().into()], &args(&[value.into()]))?.into_float_value())
        };
        let result = match op {
            FloatUnOp::Abs => intrinsic("llvm.fabs")?,
            FloatUnOp::Neg => self.b.float_neg(value)?,
            FloatUnOp::Sqrt => self.arithmetic_nan(intrinsic("llvm.sqrt")?)?,
            FloatUnOp::Ceil => self.arithmetic_nan(intrinsic("llvm.ceil")?)?,
            FloatUnOp::Floor => self.arithmetic_nan(intrinsic("llvm.floor")?)?,
            FloatUnOp::Trunc => self.arithmetic_nan(intrinsic("llvm.trunc")?)?,
            FloatUnOp::Nearest => self.arithmetic_nan(intrinsic("llvm.roundeven")?)?,
        };
        self.push(result);
        Ok(())
    }

    /// Float comparisons; `ne` is the only unordered one (true for NaN).
    pub(super) fn float_compare(&mut self, pred: FloatPredicate) -> Result<()> {
        let rhs = self.pop_float()?;
        let lhs = self.pop_float()?;
        let result = self.b.fcmp(pred, lhs, rhs)?;
        self.push_bool(result)
    }

    /// Marks `value` as the result of float arithmetic, whose NaNs must be
    /// quiet (see the module docs).
    pub(super) fn arithmetic_nan(&self, value: FloatValue<'ctx>) -> Result<FloatValue<'ctx>> {
        let ty = value.get_type().into();
        Ok(self.b.call_intrinsic("llvm.canonicalize", &[ty], &args(&[value.into()]))?.into_float_value())
    }

    /// Pushes an `i1` as the `i32` 0 or 1.
    fn push_bool(&mut self, value: IntValue<'ctx>) -> Result<()> {
        let widened = self.b.zext(value, self.cx.types.i32)?;
        self.push(widened);
        Ok(())
    }
}

/// Whether `x - rhs` is `x - (x / c) * c` for a constant `c` that is
/// neither 0 nor (for a signed division) -1, and if so `c` and whether the
/// division is signed: that difference is exactly `x % c`.
///
/// Compilers targeting wasm split a remainder whose quotient is also needed
/// into this form, and LLVM keeps it as a multiply and a subtraction,
/// which hides what a remainder tells it: that the value is below `c`.
/// Positional-notation loops (bigint's decimal conversion: `rem << 32 |
/// limb`, then divide by 10^9) need exactly that to divide by a constant
/// without a pre-shift. The division itself stays (the quotient is used),
/// and its zero and overflow checks have already run.
fn remainder_idiom<'ctx>(x: IntValue<'ctx>, rhs: IntValue<'ctx>) -> Option<(IntValue<'ctx>, bool)> {
    let product = rhs.as_instruction().filter(|i| i.get_opcode() == InstructionOpcode::Mul)?;
    let operand = |i: InstructionValue<'ctx>, n: u32| match i.get_operand(n)?.value()? {
        BasicValueEnum::IntValue(v) => Some(v),
        _ => None,
    };
    let (a, b) = (operand(product, 0)?, operand(product, 1)?);
    let (quotient, divisor) = if b.is_const() { (a, b) } else { (b, a) };
    let divisor_value = divisor.get_zero_extended_constant()?;
    let division = quotient.as_instruction()?;
    let signed = match division.get_opcode() {
        InstructionOpcode::UDiv => false,
        InstructionOpcode::SDiv => true,
        _ => return None,
    };
    let all_ones = u64::MAX >> (64 - divisor.get_type().get_bit_width());
    let usable = divisor_value != 0 && !(signed && divisor_value == all_ones);
    (usable && operand(division, 0)? == x && operand(division, 1)? == divisor).then_some((divisor, signed))
}

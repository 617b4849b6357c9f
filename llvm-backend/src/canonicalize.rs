//! Making float-arithmetic NaNs quiet, after optimization.
//!
//! # Why this pass exists
//!
//! Wasm requires arithmetic to return a quiet NaN when it returns a NaN.
//! Hardware does this by itself, so the natural lowering (`fadd` for
//! `f32.add`) is correct — until LLVM's optimizer folds `x - 0.0`,
//! `x * 1.0` or `x / 1.0` to `x`, or `x * -1.0` to `fneg x`: then a
//! signaling NaN in `x` comes out unquieted. `llvm.canonicalize` would be
//! the right tool, but LLVM 19 cannot select it for x86_64 or aarch64.
//!
//! So the translator wraps every arithmetic result in
//! `llvm.canonicalize` (see `translate::numeric`), the optimizer folds
//! around it (it understands the intrinsic, and it vectorizes), and this
//! pass then runs on the optimized IR and replaces each one:
//!
//! * if its operand is still a real quieting operation — `fadd`, `fsub`,
//!   `fmul`, `fdiv`, `fpext`, `fptrunc`, or a call to `sqrt`, `fma`, `floor`,
//!   `ceil`, `trunc`, `roundeven` — that code generation will not fold
//!   away (no constant operand that makes it an identity or a negation,
//!   such as ±0.0, a NaN, ±1.0 as a factor or divisor — see
//!   `has_identity_operand` — and no `fptrunc` of an `fpext`), the wrapper is dropped: the hardware
//!   quiets. The same holds for `minimum`/`maximum` on targets whose
//!   instructions for them quiet NaN operands (AArch64 `fmin`/`fmax`), and
//!   for a lane extracted from a quieting vector operation (the tail of a
//!   vectorized reduction) and a vector assembled (`insertelement`,
//!   `shufflevector`) from quieting lanes and `undef` ones (the SLP
//!   vectorizer packs scalar results so). What quiets is a per-target fact
//!   ([`Quieting`]): RISC-V arithmetic returns the canonical NaN, but
//!   LLVM rounds there by converting to an integer only when `|x| < 2^52`
//!   and returns any other `x`, a signalling NaN included, unchanged, so
//!   the rounding functions are not quieting on RISC-V;
//! * otherwise (the operation was folded away, or is `minimum`/`maximum`
//!   on a target whose lowering may pass an input NaN through, like x86)
//!   it is expanded to `isnan(x) ? x | quiet_bit : x`, on scalars and
//!   vectors alike.
//!
//! Scalars and vectors are treated alike: the optimizer's vectorizers
//! turn scalar wrappers into vector ones, and SIMD lowering wraps vector
//! arithmetic itself (`translate::simd`).
//!
//! Nothing else is wrapped: loads, stores, constants, `select`,
//! reinterpretations and the bitwise `neg`/`abs`/`copysign` must keep
//! every bit.

use crate::codegen::builder::{FnBuilder, Tags, Types};
use crate::error::{CompileError, Result};
use crate::ir::{called_name, operand};
use inkwell::FloatPredicate;
use inkwell::module::Module;
use inkwell::types::{BasicTypeEnum, VectorType};
use inkwell::llvm_sys::core::LLVMIsAConstantFP;
use inkwell::values::{
    AsValueRef, BasicValue, BasicValueEnum, CallSiteValue, FloatValue, InstructionOpcode, InstructionValue, IntValue,
    VectorValue,
};

const CANONICALIZE: &str = "llvm.canonicalize.";

/// Intrinsics whose machine instructions quiet a signaling NaN everywhere.
const QUIETING_INTRINSICS: &[&str] = &["llvm.sqrt.", "llvm.fma."];

/// Rounding intrinsics, which quiet a signaling NaN where
/// [`Quieting::rounding`] holds.
const ROUNDING_INTRINSICS: &[&str] = &["llvm.floor.", "llvm.ceil.", "llvm.trunc.", "llvm.roundeven."];

/// Intrinsics whose machine instructions quiet a signaling NaN on targets
/// where [`Quieting::min_max`] holds.
const MIN_MAX_INTRINSICS: &[&str] = &["llvm.minimum.", "llvm.maximum."];

/// Which operations beyond basic arithmetic quiet NaNs in the code LLVM
/// generates for the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Quieting {
    /// `llvm.minimum`/`maximum` (AArch64 `fmin`/`fmax` quiet; x86 has no
    /// such instruction and LLVM's expansion passes an operand through; on
    /// RISC-V LLVM makes both operands the NaN and `fmin`/`fmax` of two
    /// NaNs return the canonical NaN).
    pub min_max: bool,
    /// `llvm.floor`/`ceil`/`trunc`/`roundeven` (x86 `roundsd`, AArch64
    /// `frint*` quiet; RISC-V without Zfa has no rounding instruction).
    pub rounding: bool,
}

/// Replaces every `llvm.canonicalize` call in `module`.
pub(crate) fn lower_canonicalize<'ctx>(module: &Module<'ctx>, types: Types<'ctx>, quieting: Quieting) -> Result<()> {
    let b = FnBuilder::new(types, Tags::new(&types), module);
    let mut function = module.get_first_function();
    while let Some(f) = function {
        for block in f.get_basic_blocks() {
            let mut next = block.get_first_instruction();
            while let Some(instruction) = next {
                next = instruction.get_next_instruction();
                if let Some(operand) = canonicalize_operand(instruction) {
                    replace(&b, instruction, operand, quieting)?;
                }
            }
        }
        function = f.get_next_function();
    }
    Ok(())
}

/// The operand of `instruction` if it is a call to `llvm.canonicalize`.
pub(crate) fn canonicalize_operand(instruction: InstructionValue<'_>) -> Option<BasicValueEnum<'_>> {
    let name = called_name(instruction)?;
    if !name.starts_with(CANONICALIZE) {
        return None;
    }
    operand(instruction, 0)
}

fn replace<'ctx>(
    b: &FnBuilder<'_, 'ctx>,
    call: InstructionValue<'ctx>,
    operand: BasicValueEnum<'ctx>,
    quieting: Quieting,
) -> Result<()> {
    let replacement = if hardware_quiets(operand, quieting) {
        operand
    } else {
        b.position_before(&call);
        quiet(b, operand)?
    };
    let result = CallSiteValue::try_from(call)
        .map_err(|_| CompileError::internal("canonicalize is not a call"))?
        .try_as_basic_value()
        .basic()
        .ok_or_else(|| CompileError::internal("canonicalize returns void"))?;
    match (result, replacement) {
        (BasicValueEnum::FloatValue(old), BasicValueEnum::FloatValue(new)) => old.replace_all_uses_with(new),
        (BasicValueEnum::VectorValue(old), BasicValueEnum::VectorValue(new)) => old.replace_all_uses_with(new),
        _ => return Err(CompileError::internal("canonicalize of a non-float value")),
    }
    call.erase_from_basic_block();
    Ok(())
}

/// Whether `value` is computed by an instruction whose machine code
/// quiets NaNs and that code generation will not fold away.
fn hardware_quiets(value: BasicValueEnum<'_>, quieting: Quieting) -> bool {
    let Some(instruction) = value.as_instruction_value() else { return false };
    let arithmetic = match instruction.get_opcode() {
        // A lane of a vector result (the tail of a vectorized reduction)
        // is as quiet as the vector.
        InstructionOpcode::ExtractElement => {
            let vector = operand(instruction, 0);
            return vector.is_some_and(|v| hardware_quiets(v, quieting));
        }
        // A vector assembled from quieting lanes (the SLP vectorizer packs
        // scalar results so) is quiet; a lane left `undef` or `poison` may
        // hold anything anyway.
        InstructionOpcode::InsertElement | InstructionOpcode::ShuffleVector => {
            let operands = [0, 1].map(|i| operand(instruction, i));
            return operands.iter().all(|v| v.is_some_and(|v| is_undefined(v) || hardware_quiets(v, quieting)));
        }
        InstructionOpcode::FAdd
        | InstructionOpcode::FSub
        | InstructionOpcode::FMul
        | InstructionOpcode::FDiv
        | InstructionOpcode::FPExt => true,
        // Code generation folds `fptrunc (fpext x)` back to `x`.
        InstructionOpcode::FPTrunc => !operand_is(instruction, InstructionOpcode::FPExt),
        InstructionOpcode::Call => called_name(instruction).is_some_and(|name| {
            let quiets = |list: &[&str]| list.iter().any(|q| name.starts_with(q));
            quiets(QUIETING_INTRINSICS)
                || (quieting.rounding && quiets(ROUNDING_INTRINSICS))
                || (quieting.min_max && quiets(MIN_MAX_INTRINSICS))
        }),
        _ => false,
    };
    arithmetic && !has_identity_operand(instruction)
}

/// Whether `value` is the constant `undef` or `poison` (LLVM counts
/// `poison` as a kind of `undef`).
fn is_undefined(value: BasicValueEnum<'_>) -> bool {
    match value {
        BasicValueEnum::FloatValue(v) => v.is_undef(),
        BasicValueEnum::VectorValue(v) => v.is_undef(),
        _ => false,
    }
}

/// Whether the first operand of `instruction` is computed by `opcode`.
fn operand_is(instruction: InstructionValue<'_>, opcode: InstructionOpcode) -> bool {
    operand(instruction, 0).and_then(|v| v.as_instruction_value()).is_some_and(|i| i.get_opcode() == opcode)
}

/// Whether code generation may fold `instruction` to one of its operands
/// (or to `fneg` of one) because another operand is a constant: then the
/// hardware never sees the operation and cannot quiet a NaN.
///
/// Which constants can do that depends on the operation and, for `fdiv`,
/// on the operand's position. Without fast-math flags LLVM's code
/// generation folds `x + -0.0`, `x - 0.0`, `-0.0 - x` (to `fneg x`),
/// `x * ±1.0` and `x / ±1.0`; it also folds an operation with a NaN
/// constant operand to that constant. Any ±0.0, ±∞ or NaN operand of
/// arithmetic counts, as does ±1.0 as a factor or divisor — but not `1.0`
/// as an addend or a dividend (`x + 1.0`, `1.0 / x`), which are ordinary
/// arithmetic that quiets. For the intrinsics (`minimum(x, +∞)` is `x`)
/// every one of ±0.0, ±1.0, ±∞ and NaN counts.
fn has_identity_operand(instruction: InstructionValue<'_>) -> bool {
    let opcode = instruction.get_opcode();
    let is_identity = |position: usize, c: f64| {
        let unit = c.abs() == 1.0;
        let unit_counts = match opcode {
            InstructionOpcode::FAdd | InstructionOpcode::FSub => false,
            InstructionOpcode::FDiv => position == 1,
            _ => true,
        };
        c == 0.0 || c.is_infinite() || c.is_nan() || (unit && unit_counts)
    };
    let operands = instruction.get_operands().flatten().filter_map(|o| o.value());
    operands.enumerate().any(|(position, operand)| match operand {
        BasicValueEnum::FloatValue(v) => v.is_undef() || float_constant(v).is_some_and(|c| is_identity(position, c)),
        // Lanes can only be read from a `ConstantDataVector`. Any other
        // constant vector (`zeroinitializer`, a constant-expression bitcast
        // of an integer vector, as unoptimized code has them) may hold an
        // identity; assume it does.
        BasicValueEnum::VectorValue(v) if v.is_const() => {
            !v.is_constant_data_vector()
                || (0..v.get_type().get_size()).map(|i| v.get_element_as_constant(i)).any(|e| {
                    matches!(e, BasicValueEnum::FloatValue(f)
                        if f.is_undef() || float_constant(f).is_some_and(|c| is_identity(position, c)))
                })
        }
        _ => false,
    })
}

/// The value of `value` if it is a float constant (`undef` and `poison`
/// are not), widened to `f64` (exactly: every `f32` is an `f64`, NaNs stay
/// NaNs and zeros keep their sign).
pub(crate) fn float_constant(value: FloatValue<'_>) -> Option<f64> {
    // SAFETY: `value` is a live value of this module's context;
    // `LLVMIsAConstantFP` only inspects its kind.
    let is_constant_fp = unsafe { !LLVMIsAConstantFP(value.as_value_ref()).is_null() };
    // `get_constant` reads the value as a `ConstantFP` without checking.
    is_constant_fp.then(|| value.get_constant().map(|(c, _)| c)).flatten()
}

/// `isnan(x) ? x | quiet_bit : x`, built before the builder's position.
fn quiet<'ctx>(b: &FnBuilder<'_, 'ctx>, value: BasicValueEnum<'ctx>) -> Result<BasicValueEnum<'ctx>> {
    match value {
        BasicValueEnum::FloatValue(x) => {
            let bits = b.float_bits(x.get_type());
            let int_ty = b.types.int(bits)?;
            let as_int = b.bit_cast(x.into(), int_ty.into())?.into_int_value();
            let quieted = b.or(as_int, int_ty.const_int(1 << (mantissa_bits(bits) - 1), false))?;
            let quieted = b.bit_cast(quieted.into(), x.get_type().into())?;
            let is_nan = b.fcmp(FloatPredicate::UNO, x, x)?;
            b.select::<IntValue, BasicValueEnum>(is_nan, quieted, x.into())
        }
        BasicValueEnum::VectorValue(x) => {
            let lanes = x.get_type().get_size();
            let BasicTypeEnum::FloatType(element) = x.get_type().get_element_type() else {
                return Err(CompileError::internal("canonicalize of an integer vector"));
            };
            let bits = b.float_bits(element);
            let int_ty = b.types.int(bits)?;
            let int_vector: VectorType = int_ty.vec_type(lanes);
            let as_int = b.bit_cast(x.into(), int_vector.into())?.into_vector_value();
            let bit = int_ty.const_int(1 << (mantissa_bits(bits) - 1), false);
            let splat = VectorType::const_vector(&vec![bit; lanes as usize]);
            let quieted = b.or(as_int, splat)?;
            let quieted = b.bit_cast(quieted.into(), x.get_type().into())?;
            let is_nan: VectorValue = b.fcmp(FloatPredicate::UNO, x, x)?;
            b.select::<VectorValue, BasicValueEnum>(is_nan, quieted, x.as_basic_value_enum())
        }
        other => Err(CompileError::internal(format_args!("canonicalize of {other:?}"))),
    }
}

/// Explicit mantissa bits of a binary float of `bits` bits.
fn mantissa_bits(bits: u32) -> u32 {
    if bits == 32 { 23 } else { 52 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inkwell::context::Context;

    /// A vector packed from two quieting scalars, as a vectorizer leaves
    /// it: `canonicalize(insertelement(insertelement(poison, a - b), a * b))`.
    /// The wrapper goes without a check; over a plain parameter it stays.
    #[test]
    fn vectors_packed_from_quiet_lanes_need_no_quieting() {
        let context = Context::create();
        let module = context.create_module("t");
        let types = Types::new(&context, 8);
        let v2 = types.f64.vec_type(2);
        let function = module.add_function("f", v2.fn_type(&[types.f64.into(), types.f64.into(), v2.into()], false), None);
        let b = FnBuilder::new(types, Tags::new(&types), &module);
        b.position_at_end(context.append_basic_block(function, "entry"));
        let param = |i| function.get_nth_param(i).unwrap();
        let (x, y) = (param(0).into_float_value(), param(1).into_float_value());
        let difference = b.float_sub(x, y).unwrap();
        let product = b.float_mul(x, y).unwrap();
        let packed = b.insert_lane(v2.get_poison(), difference.into(), 0).unwrap();
        let packed = b.insert_lane(packed, product.into(), 1).unwrap();
        let quiet = b.call_intrinsic("llvm.canonicalize", &[v2.into()], &[packed.into()]).unwrap();
        let unknown = b.call_intrinsic("llvm.canonicalize", &[v2.into()], &[param(2).into()]).unwrap();
        let (quiet, unknown) = (quiet.into_vector_value(), unknown.into_vector_value());
        let sum = b.float_add(quiet, unknown).unwrap();
        b.ret(Some(sum.into())).unwrap();
        lower_canonicalize(&module, types, Quieting { min_max: false, rounding: true }).unwrap();
        let text = module.print_to_string().to_string();
        assert_eq!(text.matches("fcmp uno").count(), 1, "{text}");
        assert!(text.contains("fcmp uno <2 x double> %2"), "{text}");
        assert!(!text.contains("call <2 x double> @llvm.canonicalize"), "{text}");
    }
}

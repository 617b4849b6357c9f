//! Fixed-width SIMD: every `v128` operator, lowered to LLVM vector IR so
//! the target's own vector instructions do the work (SSE on x86-64, NEON
//! on AArch64) — no scalar loops, no runtime calls.
//!
//! # One type for `v128`, a shape per operation
//!
//! A `v128` is `<2 x i64>` wherever it is stored or travels: operand
//! stack, locals, globals, phis, parameters, results, `ValRaw` slots
//! ([`Types::v128`](crate::codegen::builder::Types)). Each operation
//! reinterprets it in its [`Shape`] (`f32x4.add` works on `<4 x float>`),
//! computes, and reinterprets the result back. The bitcasts cost nothing:
//! LLVM folds chains of them, also through phis, and vector registers
//! have no lane type.
//!
//! The families are generic over the shape: one helper per kind of
//! operation, with the lane type and count taken from the shape —
//! [`lanes`] (constants, splats, lane access, shuffles), [`bitwise`]
//! (bit operations, tests, shifts), [`int`] (integer lane arithmetic and
//! comparisons), [`float`] (float lane arithmetic and comparisons),
//! [`convert`] (narrowing, widening, int/float conversions) and
//! [`memory`] (whole-vector, extending, splatting, zeroing and lane
//! accesses). [`visitor`] maps each operator to one of them.
//!
//! # Where generic IR is not enough
//!
//! Most operations are plain IR that LLVM selects well (`packsswb` for a
//! clamp-and-truncate narrow, `pmaddwd` for the dot product, `pavgb` for
//! the rounding average, `fcvtzs` for saturating truncation on AArch64).
//! A few wasm semantics have no efficient generic spelling, and those use
//! target instructions by name, per [`VectorIsa`], always with a generic
//! form that is correct everywhere:
//!
//! * `i8x16.swizzle` (out-of-range indices select 0): x86 `pshufb` after a
//!   saturating `+0x70` on the indices (every index ≥ 16 then has its top
//!   bit set, which makes `pshufb` produce 0); AArch64 `tbl`, which has
//!   exactly wasm's semantics;
//! * `i16x8.q15mulr_sat_s`: x86 `pmulhrsw` computes the same rounding
//!   product except that `0x8000 × 0x8000` wraps to `0x8000`, the one
//!   input that can produce `0x8000` at all, so lanes equal to `0x8000`
//!   are flipped to `0x7fff`; AArch64 `sqrdmulh` saturates by itself;
//! * saturating float-to-int truncation: AArch64's `fcvtzs`/`fcvtzu`
//!   saturate and map NaN to 0 (LLVM's `fptosi.sat` selects them); on x86
//!   LLVM scalarizes `fptosi.sat`, so kiln builds the known SSE sequences
//!   around `cvttps2dq`/`cvttpd2dq` (which return `0x80000000` for any
//!   out-of-range input);
//! * float `min`/`max` on x86, where `minps`/`maxps` neither propagate
//!   NaNs nor order ±0: both operand orders are combined and NaN lanes
//!   canonicalized with integer ops (see [`float`]);
//! * unsigned narrowing on AArch64 (`sqxtun`), which LLVM does not find
//!   in the clamp-and-truncate form.
//!
//! # NaNs
//!
//! Float lane arithmetic follows the scalar scheme (`super::numeric`):
//! each result is wrapped in `llvm.canonicalize`, which the
//! post-optimization pass (`crate::canonicalize`) removes where real
//! vector arithmetic remains and expands to a lane-wise quieting select
//! where the optimizer folded the arithmetic away. `abs`, `neg`, `pmin`,
//! `pmax`, lane moves, loads and stores are bit operations and keep NaN
//! payloads exactly.

mod bitwise;
mod convert;
mod float;
mod int;
mod lanes;
mod memory;
mod relaxed;
mod visitor;

use super::FuncTranslator;
use super::conversion::Sign;
use crate::codegen::builder::LaneCast;
use crate::error::{CompileError, Result};
use crate::target::VectorIsa;
use inkwell::types::{BasicTypeEnum, IntType, VectorType};
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum, VectorValue};

/// How an operation sees the 128 bits of a `v128`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shape {
    I8x16,
    I16x8,
    I32x4,
    I64x2,
    F32x4,
    F64x2,
}

impl Shape {
    /// Bits per lane.
    pub fn lane_bits(self) -> u32 {
        match self {
            Shape::I8x16 => 8,
            Shape::I16x8 => 16,
            Shape::I32x4 | Shape::F32x4 => 32,
            Shape::I64x2 | Shape::F64x2 => 64,
        }
    }

    /// Number of lanes.
    pub fn lanes(self) -> u32 {
        128 / self.lane_bits()
    }

    /// The integer shape with lanes as wide as this one's.
    pub fn as_int(self) -> Shape {
        match self {
            Shape::F32x4 => Shape::I32x4,
            Shape::F64x2 => Shape::I64x2,
            other => other,
        }
    }

    /// The integer shape with lanes twice as wide (and half as many).
    pub fn wider(self) -> Result<Shape> {
        match self.as_int() {
            Shape::I8x16 => Ok(Shape::I16x8),
            Shape::I16x8 => Ok(Shape::I32x4),
            Shape::I32x4 => Ok(Shape::I64x2),
            other => Err(CompileError::internal(format_args!("no shape wider than {other:?}"))),
        }
    }

    /// The integer shape with lanes half as wide (and twice as many).
    pub fn narrower(self) -> Result<Shape> {
        match self.as_int() {
            Shape::I16x8 => Ok(Shape::I8x16),
            Shape::I32x4 => Ok(Shape::I16x8),
            Shape::I64x2 => Ok(Shape::I32x4),
            other => Err(CompileError::internal(format_args!("no shape narrower than {other:?}"))),
        }
    }
}

/// Which half of a vector's lanes an operation reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Half {
    Low,
    High,
}

impl Half {
    /// The indices of this half of `lanes` lanes.
    fn indices(self, lanes: u32) -> Vec<u32> {
        let start = match self {
            Half::Low => 0,
            Half::High => lanes / 2,
        };
        (start..start + lanes / 2).collect()
    }
}

fn args<'ctx>(values: &[BasicValueEnum<'ctx>]) -> Vec<BasicMetadataValueEnum<'ctx>> {
    values.iter().map(|&v| v.into()).collect()
}

impl<'ctx> FuncTranslator<'_, 'ctx> {
    fn isa(&self) -> VectorIsa {
        self.cx.vector_isa
    }

    /// The integer type of `bits` bits.
    fn int_bits(&self, bits: u32) -> Result<IntType<'ctx>> {
        self.cx.types.int(bits)
    }

    /// The LLVM type of one lane of `shape`.
    fn lane_type(&self, shape: Shape) -> Result<BasicTypeEnum<'ctx>> {
        Ok(match shape {
            Shape::F32x4 => self.cx.types.f32.into(),
            Shape::F64x2 => self.cx.types.f64.into(),
            int => self.int_bits(int.lane_bits())?.into(),
        })
    }

    /// A vector of `lanes` lanes of `shape`'s lane type (a full vector
    /// when `lanes` is `shape.lanes()`).
    fn vector_type(&self, shape: Shape, lanes: u32) -> Result<VectorType<'ctx>> {
        Ok(match self.lane_type(shape)? {
            BasicTypeEnum::FloatType(t) => t.vec_type(lanes),
            BasicTypeEnum::IntType(t) => t.vec_type(lanes),
            other => return Err(CompileError::internal(format_args!("no vectors of {other:?}"))),
        })
    }

    /// The full vector type of `shape`.
    fn shape_type(&self, shape: Shape) -> Result<VectorType<'ctx>> {
        self.vector_type(shape, shape.lanes())
    }

    /// Reinterprets a `v128` (or any 128-bit vector) as `shape`.
    fn as_shape(&self, value: BasicValueEnum<'ctx>, shape: Shape) -> Result<VectorValue<'ctx>> {
        Ok(self.b.bit_cast(value, self.shape_type(shape)?.into())?.into_vector_value())
    }

    /// Pops a `v128` and reinterprets it as `shape`.
    fn pop_lanes(&mut self, shape: Shape) -> Result<VectorValue<'ctx>> {
        let value = self.pop()?;
        if !value.is_vector_value() {
            return Err(CompileError::internal(format_args!("expected a v128 operand, found {value:?}")));
        }
        self.as_shape(value, shape)
    }

    /// Pushes a 128-bit vector of any shape as a `v128`.
    fn push_lanes(&mut self, value: VectorValue<'ctx>) -> Result<()> {
        let v128 = self.b.bit_cast(value.into(), self.cx.types.v128.into())?;
        self.push(v128);
        Ok(())
    }

    /// The constant vector of `lanes` lanes of `shape`, each holding the
    /// integer `value` (truncated to the lane width).
    fn int_splat(&self, shape: Shape, lanes: u32, value: u64) -> Result<VectorValue<'ctx>> {
        let lane = self.int_bits(shape.as_int().lane_bits())?.const_int(value, false);
        Ok(VectorType::const_vector(&vec![lane; lanes as usize]))
    }

    /// The constant vector of `shape` (a float shape) with every lane
    /// `value`.
    fn float_splat(&self, shape: Shape, value: f64) -> Result<VectorValue<'ctx>> {
        let lane = self.lane_type(shape)?.into_float_type().const_float(value);
        Ok(VectorType::const_vector(&vec![lane; shape.lanes() as usize]))
    }

    /// Calls intrinsic `name` overloaded on `types`, expecting a vector.
    fn vector_intrinsic(
        &self,
        name: &str,
        types: &[BasicTypeEnum<'ctx>],
        operands: &[BasicValueEnum<'ctx>],
    ) -> Result<VectorValue<'ctx>> {
        match self.b.call_intrinsic(name, types, &args(operands))? {
            BasicValueEnum::VectorValue(v) => Ok(v),
            other => Err(CompileError::internal(format_args!("{name} returned {other:?}"))),
        }
    }

    /// Marks `value` as the result of float lane arithmetic, whose NaNs
    /// must be quiet (see the module docs).
    fn lanes_arithmetic_nan(&self, value: VectorValue<'ctx>) -> Result<VectorValue<'ctx>> {
        self.vector_intrinsic("llvm.canonicalize", &[value.get_type().into()], &[value.into()])
    }

    /// Lane-wise `i1` mask widened to all-ones / all-zeros lanes of
    /// `shape`'s integer type: the wasm form of a comparison result.
    fn mask_to_lanes(&self, mask: VectorValue<'ctx>, shape: Shape) -> Result<VectorValue<'ctx>> {
        let ty = self.shape_type(shape.as_int())?;
        self.b.lanes_cast(mask, ty, LaneCast::SignExtend)
    }

    /// Casts every lane of the integer vector `value` to `bits` bits
    /// (extending or truncating as `cast` says), keeping the lane count.
    fn resize_lanes(&self, value: VectorValue<'ctx>, bits: u32, cast: LaneCast) -> Result<VectorValue<'ctx>> {
        let ty = self.int_bits(bits)?.vec_type(value.get_type().get_size());
        self.b.lanes_cast(value, ty, cast)
    }

    /// Lanes `indices` of the integer vector `value`, each extended to
    /// twice its width as `sign` says.
    fn extend_lanes(&self, value: VectorValue<'ctx>, indices: &[u32], sign: Sign) -> Result<VectorValue<'ctx>> {
        let picked = self.b.shuffle(value, value, indices)?;
        let bits = 2 * picked.get_type().get_element_type().into_int_type().get_bit_width();
        self.resize_lanes(picked, bits, extend_cast(sign))
    }
}

/// The lane cast that extends integers as `sign` says.
fn extend_cast(sign: Sign) -> LaneCast {
    match sign {
        Sign::Signed => LaneCast::SignExtend,
        Sign::Unsigned => LaneCast::ZeroExtend,
    }
}

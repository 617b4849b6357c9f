//! Constants, splats, lane access and lane permutations.
//!
//! `i8x16.shuffle` has constant indices, so it is a `shufflevector`, and
//! LLVM picks the best permute the target has (`pshufd`, `palignr`,
//! `punpck*`, `pshufb`, `ext`, `zip`, `tbl`...). `i8x16.swizzle` has
//! run-time indices and zeroes lanes whose index is 16 or more; see the
//! module docs of [`super`] for its per-target forms. The generic form
//! compares the index vector against each lane number 0–15 and merges the
//! matching lanes of the input: sixteen vector compares, no scalar code.

use super::super::FuncTranslator;
use super::super::conversion::Sign;
use super::{Shape, VectorIsa};
use crate::error::Result;
use inkwell::IntPredicate;
use inkwell::types::VectorType;
use inkwell::values::{BasicValueEnum, VectorValue};

impl<'ctx> FuncTranslator<'_, 'ctx> {
    /// `v128.const`.
    pub(super) fn v128_const(&mut self, bits: u128) -> Result<()> {
        let value = self.v128_constant(bits);
        self.push(value);
        Ok(())
    }

    /// The `v128` constant with these bits (little-endian lanes).
    pub(in super::super) fn v128_constant(&self, bits: u128) -> VectorValue<'ctx> {
        let i64 = self.cx.types.i64;
        VectorType::const_vector(&[i64.const_int(bits as u64, false), i64.const_int((bits >> 64) as u64, false)])
    }

    /// `*.splat`: the scalar operand in every lane (`i8x16`/`i16x8` take the
    /// low bits of an `i32`).
    pub(super) fn splat(&mut self, shape: Shape) -> Result<()> {
        let scalar = self.pop()?;
        let lane = self.scalar_to_lane(scalar, shape)?;
        let vector = self.b.splat(lane, shape.lanes())?;
        self.push_lanes(vector)
    }

    /// `*.extract_lane[_s|_u]`: narrow integer lanes are extended to `i32`
    /// as `sign` says.
    pub(super) fn extract_lane(&mut self, shape: Shape, lane: u8, sign: Option<Sign>) -> Result<()> {
        let vector = self.pop_lanes(shape)?;
        let value = self.b.extract_lane(vector, lane.into())?;
        let result: BasicValueEnum = match sign {
            Some(Sign::Signed) => self.b.sext(value.into_int_value(), self.cx.types.i32)?.into(),
            Some(Sign::Unsigned) => self.b.zext(value.into_int_value(), self.cx.types.i32)?.into(),
            None => value,
        };
        self.push(result);
        Ok(())
    }

    /// `*.replace_lane`.
    pub(super) fn replace_lane(&mut self, shape: Shape, lane: u8) -> Result<()> {
        let scalar = self.pop()?;
        let vector = self.pop_lanes(shape)?;
        let value = self.scalar_to_lane(scalar, shape)?;
        let result = self.b.insert_lane(vector, value, lane.into())?;
        self.push_lanes(result)
    }

    /// `i8x16.shuffle`: lane `i` is lane `lanes[i]` of the 32 lanes of both
    /// operands.
    pub(super) fn shuffle(&mut self, lanes: [u8; 16]) -> Result<()> {
        let rhs = self.pop_lanes(Shape::I8x16)?;
        let lhs = self.pop_lanes(Shape::I8x16)?;
        let mask: Vec<u32> = lanes.iter().map(|&l| l.into()).collect();
        let result = self.b.shuffle(lhs, rhs, &mask)?;
        self.push_lanes(result)
    }

    /// `i8x16.swizzle`: lane `i` is `a[s[i]]`, or 0 when `s[i] >= 16`.
    pub(super) fn swizzle(&mut self) -> Result<()> {
        let indices = self.pop_lanes(Shape::I8x16)?;
        let input = self.pop_lanes(Shape::I8x16)?;
        let ty = self.shape_type(Shape::I8x16)?;
        let result = match self.isa() {
            VectorIsa::X86 { ssse3: true, .. } => {
                let bias = self.int_splat(Shape::I8x16, 16, 0x70)?;
                let biased = self.vector_intrinsic("llvm.uadd.sat", &[ty.into()], &[indices.into(), bias.into()])?;
                self.vector_intrinsic("llvm.x86.ssse3.pshuf.b.128", &[], &[input.into(), biased.into()])?
            }
            VectorIsa::Aarch64 => {
                self.vector_intrinsic("llvm.aarch64.neon.tbl1", &[ty.into()], &[input.into(), indices.into()])?
            }
            VectorIsa::X86 { ssse3: false, .. } | VectorIsa::Generic => self.swizzle_by_compares(input, indices)?,
        };
        self.push_lanes(result)
    }

    /// The generic swizzle: for each lane number `j`, the lanes whose index
    /// equals `j` take `input[j]`; all others stay 0.
    fn swizzle_by_compares(&self, input: VectorValue<'ctx>, indices: VectorValue<'ctx>) -> Result<VectorValue<'ctx>> {
        let mut result = self.int_splat(Shape::I8x16, 16, 0)?;
        for j in 0..16 {
            let hits = self.b.lanes_icmp(IntPredicate::EQ, indices, self.int_splat(Shape::I8x16, 16, j.into())?)?;
            let hits = self.mask_to_lanes(hits, Shape::I8x16)?;
            let lane = self.b.shuffle(input, input, &[j; 16])?;
            result = self.b.or(result, self.b.and(hits, lane)?)?;
        }
        Ok(result)
    }

    /// A wasm scalar as a lane of `shape`: `i32` operands of 8- and
    /// 16-bit lanes are truncated.
    fn scalar_to_lane(&self, scalar: BasicValueEnum<'ctx>, shape: Shape) -> Result<BasicValueEnum<'ctx>> {
        match shape {
            Shape::I8x16 | Shape::I16x8 => {
                Ok(self.b.trunc(scalar.into_int_value(), self.int_bits(shape.lane_bits())?)?.into())
            }
            _ => Ok(scalar),
        }
    }
}

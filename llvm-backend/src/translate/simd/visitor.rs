//! The dispatch of the SIMD operators: one `visit_*` per operator, each a
//! one-line call into its family's helper, generic over the lane shape.
//! Relaxed SIMD (a 3.0 proposal) stays unsupported through
//! `def_unsupported!`.

use super::super::FuncTranslator;
use super::super::conversion::Sign;
use super::super::visitor::def_unsupported;
use super::bitwise::{BitOp, ShiftOp};
use super::float::{FloatLaneOp, FloatLaneUnOp};
use super::int::{IntLaneOp, IntLaneUnOp};
use super::{Half, Shape};
use inkwell::{FloatPredicate, IntPredicate};
use kiln_abi::ValType;
use wasmparser::{MemArg, V128, VisitSimdOperator};

#[rustfmt::skip]
impl<'a> VisitSimdOperator<'a> for FuncTranslator<'_, '_> {
    wasmparser::for_each_visit_simd_operator!(def_unsupported);

    // ---- memory ----
    fn visit_v128_load(&mut self, memarg: MemArg) -> Self::Output { self.load(memarg, ValType::V128, None) }
    fn visit_v128_load8x8_s(&mut self, memarg: MemArg) -> Self::Output { self.load_extend(memarg, Shape::I16x8, Sign::Signed) }
    fn visit_v128_load8x8_u(&mut self, memarg: MemArg) -> Self::Output { self.load_extend(memarg, Shape::I16x8, Sign::Unsigned) }
    fn visit_v128_load16x4_s(&mut self, memarg: MemArg) -> Self::Output { self.load_extend(memarg, Shape::I32x4, Sign::Signed) }
    fn visit_v128_load16x4_u(&mut self, memarg: MemArg) -> Self::Output { self.load_extend(memarg, Shape::I32x4, Sign::Unsigned) }
    fn visit_v128_load32x2_s(&mut self, memarg: MemArg) -> Self::Output { self.load_extend(memarg, Shape::I64x2, Sign::Signed) }
    fn visit_v128_load32x2_u(&mut self, memarg: MemArg) -> Self::Output { self.load_extend(memarg, Shape::I64x2, Sign::Unsigned) }
    fn visit_v128_load8_splat(&mut self, memarg: MemArg) -> Self::Output { self.load_splat(memarg, Shape::I8x16) }
    fn visit_v128_load16_splat(&mut self, memarg: MemArg) -> Self::Output { self.load_splat(memarg, Shape::I16x8) }
    fn visit_v128_load32_splat(&mut self, memarg: MemArg) -> Self::Output { self.load_splat(memarg, Shape::I32x4) }
    fn visit_v128_load64_splat(&mut self, memarg: MemArg) -> Self::Output { self.load_splat(memarg, Shape::I64x2) }
    fn visit_v128_load32_zero(&mut self, memarg: MemArg) -> Self::Output { self.load_zero(memarg, Shape::I32x4) }
    fn visit_v128_load64_zero(&mut self, memarg: MemArg) -> Self::Output { self.load_zero(memarg, Shape::I64x2) }
    fn visit_v128_store(&mut self, memarg: MemArg) -> Self::Output { self.store(memarg, None) }
    fn visit_v128_load8_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output { self.load_lane(memarg, Shape::I8x16, lane) }
    fn visit_v128_load16_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output { self.load_lane(memarg, Shape::I16x8, lane) }
    fn visit_v128_load32_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output { self.load_lane(memarg, Shape::I32x4, lane) }
    fn visit_v128_load64_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output { self.load_lane(memarg, Shape::I64x2, lane) }
    fn visit_v128_store8_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output { self.store_lane(memarg, Shape::I8x16, lane) }
    fn visit_v128_store16_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output { self.store_lane(memarg, Shape::I16x8, lane) }
    fn visit_v128_store32_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output { self.store_lane(memarg, Shape::I32x4, lane) }
    fn visit_v128_store64_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output { self.store_lane(memarg, Shape::I64x2, lane) }

    // ---- constants, splats, lanes and shuffles ----
    fn visit_v128_const(&mut self, value: V128) -> Self::Output { self.v128_const(u128::from_le_bytes(*value.bytes())) }
    fn visit_i8x16_shuffle(&mut self, lanes: [u8; 16]) -> Self::Output { self.shuffle(lanes) }
    fn visit_i8x16_extract_lane_s(&mut self, lane: u8) -> Self::Output { self.extract_lane(Shape::I8x16, lane, Some(Sign::Signed)) }
    fn visit_i8x16_extract_lane_u(&mut self, lane: u8) -> Self::Output { self.extract_lane(Shape::I8x16, lane, Some(Sign::Unsigned)) }
    fn visit_i8x16_replace_lane(&mut self, lane: u8) -> Self::Output { self.replace_lane(Shape::I8x16, lane) }
    fn visit_i16x8_extract_lane_s(&mut self, lane: u8) -> Self::Output { self.extract_lane(Shape::I16x8, lane, Some(Sign::Signed)) }
    fn visit_i16x8_extract_lane_u(&mut self, lane: u8) -> Self::Output { self.extract_lane(Shape::I16x8, lane, Some(Sign::Unsigned)) }
    fn visit_i16x8_replace_lane(&mut self, lane: u8) -> Self::Output { self.replace_lane(Shape::I16x8, lane) }
    fn visit_i32x4_extract_lane(&mut self, lane: u8) -> Self::Output { self.extract_lane(Shape::I32x4, lane, None) }
    fn visit_i32x4_replace_lane(&mut self, lane: u8) -> Self::Output { self.replace_lane(Shape::I32x4, lane) }
    fn visit_i64x2_extract_lane(&mut self, lane: u8) -> Self::Output { self.extract_lane(Shape::I64x2, lane, None) }
    fn visit_i64x2_replace_lane(&mut self, lane: u8) -> Self::Output { self.replace_lane(Shape::I64x2, lane) }
    fn visit_f32x4_extract_lane(&mut self, lane: u8) -> Self::Output { self.extract_lane(Shape::F32x4, lane, None) }
    fn visit_f32x4_replace_lane(&mut self, lane: u8) -> Self::Output { self.replace_lane(Shape::F32x4, lane) }
    fn visit_f64x2_extract_lane(&mut self, lane: u8) -> Self::Output { self.extract_lane(Shape::F64x2, lane, None) }
    fn visit_f64x2_replace_lane(&mut self, lane: u8) -> Self::Output { self.replace_lane(Shape::F64x2, lane) }
    fn visit_i8x16_swizzle(&mut self) -> Self::Output { self.swizzle() }
    fn visit_i8x16_splat(&mut self) -> Self::Output { self.splat(Shape::I8x16) }
    fn visit_i16x8_splat(&mut self) -> Self::Output { self.splat(Shape::I16x8) }
    fn visit_i32x4_splat(&mut self) -> Self::Output { self.splat(Shape::I32x4) }
    fn visit_i64x2_splat(&mut self) -> Self::Output { self.splat(Shape::I64x2) }
    fn visit_f32x4_splat(&mut self) -> Self::Output { self.splat(Shape::F32x4) }
    fn visit_f64x2_splat(&mut self) -> Self::Output { self.splat(Shape::F64x2) }

    // ---- bitwise, tests and shifts ----
    fn visit_v128_not(&mut self) -> Self::Output { self.v128_not() }
    fn visit_v128_and(&mut self) -> Self::Output { self.v128_bitwise(BitOp::And) }
    fn visit_v128_andnot(&mut self) -> Self::Output { self.v128_bitwise(BitOp::AndNot) }
    fn visit_v128_or(&mut self) -> Self::Output { self.v128_bitwise(BitOp::Or) }
    fn visit_v128_xor(&mut self) -> Self::Output { self.v128_bitwise(BitOp::Xor) }
    fn visit_v128_bitselect(&mut self) -> Self::Output { self.v128_bitselect() }
    fn visit_v128_any_true(&mut self) -> Self::Output { self.v128_any_true() }
    fn visit_i8x16_all_true(&mut self) -> Self::Output { self.all_true(Shape::I8x16) }
    fn visit_i8x16_bitmask(&mut self) -> Self::Output { self.bitmask(Shape::I8x16) }
    fn visit_i8x16_shl(&mut self) -> Self::Output { self.shift(Shape::I8x16, ShiftOp::Shl) }
    fn visit_i8x16_shr_s(&mut self) -> Self::Output { self.shift(Shape::I8x16, ShiftOp::ShrS) }
    fn visit_i8x16_shr_u(&mut self) -> Self::Output { self.shift(Shape::I8x16, ShiftOp::ShrU) }
    fn visit_i16x8_all_true(&mut self) -> Self::Output { self.all_true(Shape::I16x8) }
    fn visit_i16x8_bitmask(&mut self) -> Self::Output { self.bitmask(Shape::I16x8) }
    fn visit_i16x8_shl(&mut self) -> Self::Output { self.shift(Shape::I16x8, ShiftOp::Shl) }
    fn visit_i16x8_shr_s(&mut self) -> Self::Output { self.shift(Shape::I16x8, ShiftOp::ShrS) }
    fn visit_i16x8_shr_u(&mut self) -> Self::Output { self.shift(Shape::I16x8, ShiftOp::ShrU) }
    fn visit_i32x4_all_true(&mut self) -> Self::Output { self.all_true(Shape::I32x4) }
    fn visit_i32x4_bitmask(&mut self) -> Self::Output { self.bitmask(Shape::I32x4) }
    fn visit_i32x4_shl(&mut self) -> Self::Output { self.shift(Shape::I32x4, ShiftOp::Shl) }
    fn visit_i32x4_shr_s(&mut self) -> Self::Output { self.shift(Shape::I32x4, ShiftOp::ShrS) }
    fn visit_i32x4_shr_u(&mut self) -> Self::Output { self.shift(Shape::I32x4, ShiftOp::ShrU) }
    fn visit_i64x2_all_true(&mut self) -> Self::Output { self.all_true(Shape::I64x2) }
    fn visit_i64x2_bitmask(&mut self) -> Self::Output { self.bitmask(Shape::I64x2) }
    fn visit_i64x2_shl(&mut self) -> Self::Output { self.shift(Shape::I64x2, ShiftOp::Shl) }
    fn visit_i64x2_shr_s(&mut self) -> Self::Output { self.shift(Shape::I64x2, ShiftOp::ShrS) }
    fn visit_i64x2_shr_u(&mut self) -> Self::Output { self.shift(Shape::I64x2, ShiftOp::ShrU) }

    // ---- integer comparisons ----
    fn visit_i8x16_eq(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I8x16, IntPredicate::EQ) }
    fn visit_i8x16_ne(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I8x16, IntPredicate::NE) }
    fn visit_i8x16_lt_s(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I8x16, IntPredicate::SLT) }
    fn visit_i8x16_lt_u(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I8x16, IntPredicate::ULT) }
    fn visit_i8x16_gt_s(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I8x16, IntPredicate::SGT) }
    fn visit_i8x16_gt_u(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I8x16, IntPredicate::UGT) }
    fn visit_i8x16_le_s(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I8x16, IntPredicate::SLE) }
    fn visit_i8x16_le_u(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I8x16, IntPredicate::ULE) }
    fn visit_i8x16_ge_s(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I8x16, IntPredicate::SGE) }
    fn visit_i8x16_ge_u(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I8x16, IntPredicate::UGE) }
    fn visit_i16x8_eq(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I16x8, IntPredicate::EQ) }
    fn visit_i16x8_ne(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I16x8, IntPredicate::NE) }
    fn visit_i16x8_lt_s(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I16x8, IntPredicate::SLT) }
    fn visit_i16x8_lt_u(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I16x8, IntPredicate::ULT) }
    fn visit_i16x8_gt_s(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I16x8, IntPredicate::SGT) }
    fn visit_i16x8_gt_u(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I16x8, IntPredicate::UGT) }
    fn visit_i16x8_le_s(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I16x8, IntPredicate::SLE) }
    fn visit_i16x8_le_u(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I16x8, IntPredicate::ULE) }
    fn visit_i16x8_ge_s(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I16x8, IntPredicate::SGE) }
    fn visit_i16x8_ge_u(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I16x8, IntPredicate::UGE) }
    fn visit_i32x4_eq(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I32x4, IntPredicate::EQ) }
    fn visit_i32x4_ne(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I32x4, IntPredicate::NE) }
    fn visit_i32x4_lt_s(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I32x4, IntPredicate::SLT) }
    fn visit_i32x4_lt_u(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I32x4, IntPredicate::ULT) }
    fn visit_i32x4_gt_s(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I32x4, IntPredicate::SGT) }
    fn visit_i32x4_gt_u(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I32x4, IntPredicate::UGT) }
    fn visit_i32x4_le_s(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I32x4, IntPredicate::SLE) }
    fn visit_i32x4_le_u(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I32x4, IntPredicate::ULE) }
    fn visit_i32x4_ge_s(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I32x4, IntPredicate::SGE) }
    fn visit_i32x4_ge_u(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I32x4, IntPredicate::UGE) }
    fn visit_i64x2_eq(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I64x2, IntPredicate::EQ) }
    fn visit_i64x2_ne(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I64x2, IntPredicate::NE) }
    fn visit_i64x2_lt_s(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I64x2, IntPredicate::SLT) }
    fn visit_i64x2_gt_s(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I64x2, IntPredicate::SGT) }
    fn visit_i64x2_le_s(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I64x2, IntPredicate::SLE) }
    fn visit_i64x2_ge_s(&mut self) -> Self::Output { self.int_lanes_compare(Shape::I64x2, IntPredicate::SGE) }

    // ---- float comparisons ----
    fn visit_f32x4_eq(&mut self) -> Self::Output { self.float_lanes_compare(Shape::F32x4, FloatPredicate::OEQ) }
    fn visit_f32x4_ne(&mut self) -> Self::Output { self.float_lanes_compare(Shape::F32x4, FloatPredicate::UNE) }
    fn visit_f32x4_lt(&mut self) -> Self::Output { self.float_lanes_compare(Shape::F32x4, FloatPredicate::OLT) }
    fn visit_f32x4_gt(&mut self) -> Self::Output { self.float_lanes_compare(Shape::F32x4, FloatPredicate::OGT) }
    fn visit_f32x4_le(&mut self) -> Self::Output { self.float_lanes_compare(Shape::F32x4, FloatPredicate::OLE) }
    fn visit_f32x4_ge(&mut self) -> Self::Output { self.float_lanes_compare(Shape::F32x4, FloatPredicate::OGE) }
    fn visit_f64x2_eq(&mut self) -> Self::Output { self.float_lanes_compare(Shape::F64x2, FloatPredicate::OEQ) }
    fn visit_f64x2_ne(&mut self) -> Self::Output { self.float_lanes_compare(Shape::F64x2, FloatPredicate::UNE) }
    fn visit_f64x2_lt(&mut self) -> Self::Output { self.float_lanes_compare(Shape::F64x2, FloatPredicate::OLT) }
    fn visit_f64x2_gt(&mut self) -> Self::Output { self.float_lanes_compare(Shape::F64x2, FloatPredicate::OGT) }
    fn visit_f64x2_le(&mut self) -> Self::Output { self.float_lanes_compare(Shape::F64x2, FloatPredicate::OLE) }
    fn visit_f64x2_ge(&mut self) -> Self::Output { self.float_lanes_compare(Shape::F64x2, FloatPredicate::OGE) }

    // ---- integer arithmetic ----
    fn visit_i8x16_abs(&mut self) -> Self::Output { self.int_lanes_unary(Shape::I8x16, IntLaneUnOp::Abs) }
    fn visit_i8x16_neg(&mut self) -> Self::Output { self.int_lanes_unary(Shape::I8x16, IntLaneUnOp::Neg) }
    fn visit_i8x16_popcnt(&mut self) -> Self::Output { self.int_lanes_unary(Shape::I8x16, IntLaneUnOp::Popcnt) }
    fn visit_i8x16_add(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I8x16, IntLaneOp::Add) }
    fn visit_i8x16_add_sat_s(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I8x16, IntLaneOp::AddSat(Sign::Signed)) }
    fn visit_i8x16_add_sat_u(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I8x16, IntLaneOp::AddSat(Sign::Unsigned)) }
    fn visit_i8x16_sub(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I8x16, IntLaneOp::Sub) }
    fn visit_i8x16_sub_sat_s(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I8x16, IntLaneOp::SubSat(Sign::Signed)) }
    fn visit_i8x16_sub_sat_u(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I8x16, IntLaneOp::SubSat(Sign::Unsigned)) }
    fn visit_i8x16_min_s(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I8x16, IntLaneOp::Min(Sign::Signed)) }
    fn visit_i8x16_min_u(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I8x16, IntLaneOp::Min(Sign::Unsigned)) }
    fn visit_i8x16_max_s(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I8x16, IntLaneOp::Max(Sign::Signed)) }
    fn visit_i8x16_max_u(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I8x16, IntLaneOp::Max(Sign::Unsigned)) }
    fn visit_i8x16_avgr_u(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I8x16, IntLaneOp::AvgrU) }
    fn visit_i16x8_extadd_pairwise_i8x16_s(&mut self) -> Self::Output { self.extadd_pairwise(Shape::I8x16, Sign::Signed) }
    fn visit_i16x8_extadd_pairwise_i8x16_u(&mut self) -> Self::Output { self.extadd_pairwise(Shape::I8x16, Sign::Unsigned) }
    fn visit_i16x8_abs(&mut self) -> Self::Output { self.int_lanes_unary(Shape::I16x8, IntLaneUnOp::Abs) }
    fn visit_i16x8_neg(&mut self) -> Self::Output { self.int_lanes_unary(Shape::I16x8, IntLaneUnOp::Neg) }
    fn visit_i16x8_q15mulr_sat_s(&mut self) -> Self::Output { self.q15mulr_sat() }
    fn visit_i16x8_add(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I16x8, IntLaneOp::Add) }
    fn visit_i16x8_add_sat_s(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I16x8, IntLaneOp::AddSat(Sign::Signed)) }
    fn visit_i16x8_add_sat_u(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I16x8, IntLaneOp::AddSat(Sign::Unsigned)) }
    fn visit_i16x8_sub(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I16x8, IntLaneOp::Sub) }
    fn visit_i16x8_sub_sat_s(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I16x8, IntLaneOp::SubSat(Sign::Signed)) }
    fn visit_i16x8_sub_sat_u(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I16x8, IntLaneOp::SubSat(Sign::Unsigned)) }
    fn visit_i16x8_mul(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I16x8, IntLaneOp::Mul) }
    fn visit_i16x8_min_s(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I16x8, IntLaneOp::Min(Sign::Signed)) }
    fn visit_i16x8_min_u(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I16x8, IntLaneOp::Min(Sign::Unsigned)) }
    fn visit_i16x8_max_s(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I16x8, IntLaneOp::Max(Sign::Signed)) }
    fn visit_i16x8_max_u(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I16x8, IntLaneOp::Max(Sign::Unsigned)) }
    fn visit_i16x8_avgr_u(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I16x8, IntLaneOp::AvgrU) }
    fn visit_i16x8_extmul_low_i8x16_s(&mut self) -> Self::Output { self.extmul(Shape::I8x16, Half::Low, Sign::Signed) }
    fn visit_i16x8_extmul_high_i8x16_s(&mut self) -> Self::Output { self.extmul(Shape::I8x16, Half::High, Sign::Signed) }
    fn visit_i16x8_extmul_low_i8x16_u(&mut self) -> Self::Output { self.extmul(Shape::I8x16, Half::Low, Sign::Unsigned) }
    fn visit_i16x8_extmul_high_i8x16_u(&mut self) -> Self::Output { self.extmul(Shape::I8x16, Half::High, Sign::Unsigned) }
    fn visit_i32x4_extadd_pairwise_i16x8_s(&mut self) -> Self::Output { self.extadd_pairwise(Shape::I16x8, Sign::Signed) }
    fn visit_i32x4_extadd_pairwise_i16x8_u(&mut self) -> Self::Output { self.extadd_pairwise(Shape::I16x8, Sign::Unsigned) }
    fn visit_i32x4_abs(&mut self) -> Self::Output { self.int_lanes_unary(Shape::I32x4, IntLaneUnOp::Abs) }
    fn visit_i32x4_neg(&mut self) -> Self::Output { self.int_lanes_unary(Shape::I32x4, IntLaneUnOp::Neg) }
    fn visit_i32x4_add(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I32x4, IntLaneOp::Add) }
    fn visit_i32x4_sub(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I32x4, IntLaneOp::Sub) }
    fn visit_i32x4_mul(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I32x4, IntLaneOp::Mul) }
    fn visit_i32x4_min_s(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I32x4, IntLaneOp::Min(Sign::Signed)) }
    fn visit_i32x4_min_u(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I32x4, IntLaneOp::Min(Sign::Unsigned)) }
    fn visit_i32x4_max_s(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I32x4, IntLaneOp::Max(Sign::Signed)) }
    fn visit_i32x4_max_u(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I32x4, IntLaneOp::Max(Sign::Unsigned)) }
    fn visit_i32x4_dot_i16x8_s(&mut self) -> Self::Output { self.dot_i16x8() }
    fn visit_i32x4_extmul_low_i16x8_s(&mut self) -> Self::Output { self.extmul(Shape::I16x8, Half::Low, Sign::Signed) }
    fn visit_i32x4_extmul_high_i16x8_s(&mut self) -> Self::Output { self.extmul(Shape::I16x8, Half::High, Sign::Signed) }
    fn visit_i32x4_extmul_low_i16x8_u(&mut self) -> Self::Output { self.extmul(Shape::I16x8, Half::Low, Sign::Unsigned) }
    fn visit_i32x4_extmul_high_i16x8_u(&mut self) -> Self::Output { self.extmul(Shape::I16x8, Half::High, Sign::Unsigned) }
    fn visit_i64x2_abs(&mut self) -> Self::Output { self.int_lanes_unary(Shape::I64x2, IntLaneUnOp::Abs) }
    fn visit_i64x2_neg(&mut self) -> Self::Output { self.int_lanes_unary(Shape::I64x2, IntLaneUnOp::Neg) }
    fn visit_i64x2_add(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I64x2, IntLaneOp::Add) }
    fn visit_i64x2_sub(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I64x2, IntLaneOp::Sub) }
    fn visit_i64x2_mul(&mut self) -> Self::Output { self.int_lanes_binary(Shape::I64x2, IntLaneOp::Mul) }
    fn visit_i64x2_extmul_low_i32x4_s(&mut self) -> Self::Output { self.extmul(Shape::I32x4, Half::Low, Sign::Signed) }
    fn visit_i64x2_extmul_high_i32x4_s(&mut self) -> Self::Output { self.extmul(Shape::I32x4, Half::High, Sign::Signed) }
    fn visit_i64x2_extmul_low_i32x4_u(&mut self) -> Self::Output { self.extmul(Shape::I32x4, Half::Low, Sign::Unsigned) }
    fn visit_i64x2_extmul_high_i32x4_u(&mut self) -> Self::Output { self.extmul(Shape::I32x4, Half::High, Sign::Unsigned) }

    // ---- float arithmetic ----
    fn visit_f32x4_ceil(&mut self) -> Self::Output { self.float_lanes_unary(Shape::F32x4, FloatLaneUnOp::Ceil) }
    fn visit_f32x4_floor(&mut self) -> Self::Output { self.float_lanes_unary(Shape::F32x4, FloatLaneUnOp::Floor) }
    fn visit_f32x4_trunc(&mut self) -> Self::Output { self.float_lanes_unary(Shape::F32x4, FloatLaneUnOp::Trunc) }
    fn visit_f32x4_nearest(&mut self) -> Self::Output { self.float_lanes_unary(Shape::F32x4, FloatLaneUnOp::Nearest) }
    fn visit_f32x4_abs(&mut self) -> Self::Output { self.float_lanes_unary(Shape::F32x4, FloatLaneUnOp::Abs) }
    fn visit_f32x4_neg(&mut self) -> Self::Output { self.float_lanes_unary(Shape::F32x4, FloatLaneUnOp::Neg) }
    fn visit_f32x4_sqrt(&mut self) -> Self::Output { self.float_lanes_unary(Shape::F32x4, FloatLaneUnOp::Sqrt) }
    fn visit_f32x4_add(&mut self) -> Self::Output { self.float_lanes_binary(Shape::F32x4, FloatLaneOp::Add) }
    fn visit_f32x4_sub(&mut self) -> Self::Output { self.float_lanes_binary(Shape::F32x4, FloatLaneOp::Sub) }
    fn visit_f32x4_mul(&mut self) -> Self::Output { self.float_lanes_binary(Shape::F32x4, FloatLaneOp::Mul) }
    fn visit_f32x4_div(&mut self) -> Self::Output { self.float_lanes_binary(Shape::F32x4, FloatLaneOp::Div) }
    fn visit_f32x4_min(&mut self) -> Self::Output { self.float_lanes_binary(Shape::F32x4, FloatLaneOp::Min) }
    fn visit_f32x4_max(&mut self) -> Self::Output { self.float_lanes_binary(Shape::F32x4, FloatLaneOp::Max) }
    fn visit_f32x4_pmin(&mut self) -> Self::Output { self.float_lanes_binary(Shape::F32x4, FloatLaneOp::PMin) }
    fn visit_f32x4_pmax(&mut self) -> Self::Output { self.float_lanes_binary(Shape::F32x4, FloatLaneOp::PMax) }
    fn visit_f64x2_ceil(&mut self) -> Self::Output { self.float_lanes_unary(Shape::F64x2, FloatLaneUnOp::Ceil) }
    fn visit_f64x2_floor(&mut self) -> Self::Output { self.float_lanes_unary(Shape::F64x2, FloatLaneUnOp::Floor) }
    fn visit_f64x2_trunc(&mut self) -> Self::Output { self.float_lanes_unary(Shape::F64x2, FloatLaneUnOp::Trunc) }
    fn visit_f64x2_nearest(&mut self) -> Self::Output { self.float_lanes_unary(Shape::F64x2, FloatLaneUnOp::Nearest) }
    fn visit_f64x2_abs(&mut self) -> Self::Output { self.float_lanes_unary(Shape::F64x2, FloatLaneUnOp::Abs) }
    fn visit_f64x2_neg(&mut self) -> Self::Output { self.float_lanes_unary(Shape::F64x2, FloatLaneUnOp::Neg) }
    fn visit_f64x2_sqrt(&mut self) -> Self::Output { self.float_lanes_unary(Shape::F64x2, FloatLaneUnOp::Sqrt) }
    fn visit_f64x2_add(&mut self) -> Self::Output { self.float_lanes_binary(Shape::F64x2, FloatLaneOp::Add) }
    fn visit_f64x2_sub(&mut self) -> Self::Output { self.float_lanes_binary(Shape::F64x2, FloatLaneOp::Sub) }
    fn visit_f64x2_mul(&mut self) -> Self::Output { self.float_lanes_binary(Shape::F64x2, FloatLaneOp::Mul) }
    fn visit_f64x2_div(&mut self) -> Self::Output { self.float_lanes_binary(Shape::F64x2, FloatLaneOp::Div) }
    fn visit_f64x2_min(&mut self) -> Self::Output { self.float_lanes_binary(Shape::F64x2, FloatLaneOp::Min) }
    fn visit_f64x2_max(&mut self) -> Self::Output { self.float_lanes_binary(Shape::F64x2, FloatLaneOp::Max) }
    fn visit_f64x2_pmin(&mut self) -> Self::Output { self.float_lanes_binary(Shape::F64x2, FloatLaneOp::PMin) }
    fn visit_f64x2_pmax(&mut self) -> Self::Output { self.float_lanes_binary(Shape::F64x2, FloatLaneOp::PMax) }

    // ---- conversions ----
    fn visit_i8x16_narrow_i16x8_s(&mut self) -> Self::Output { self.narrow(Shape::I8x16, Sign::Signed) }
    fn visit_i8x16_narrow_i16x8_u(&mut self) -> Self::Output { self.narrow(Shape::I8x16, Sign::Unsigned) }
    fn visit_i16x8_narrow_i32x4_s(&mut self) -> Self::Output { self.narrow(Shape::I16x8, Sign::Signed) }
    fn visit_i16x8_narrow_i32x4_u(&mut self) -> Self::Output { self.narrow(Shape::I16x8, Sign::Unsigned) }
    fn visit_i16x8_extend_low_i8x16_s(&mut self) -> Self::Output { self.widen(Shape::I16x8, Half::Low, Sign::Signed) }
    fn visit_i16x8_extend_high_i8x16_s(&mut self) -> Self::Output { self.widen(Shape::I16x8, Half::High, Sign::Signed) }
    fn visit_i16x8_extend_low_i8x16_u(&mut self) -> Self::Output { self.widen(Shape::I16x8, Half::Low, Sign::Unsigned) }
    fn visit_i16x8_extend_high_i8x16_u(&mut self) -> Self::Output { self.widen(Shape::I16x8, Half::High, Sign::Unsigned) }
    fn visit_i32x4_extend_low_i16x8_s(&mut self) -> Self::Output { self.widen(Shape::I32x4, Half::Low, Sign::Signed) }
    fn visit_i32x4_extend_high_i16x8_s(&mut self) -> Self::Output { self.widen(Shape::I32x4, Half::High, Sign::Signed) }
    fn visit_i32x4_extend_low_i16x8_u(&mut self) -> Self::Output { self.widen(Shape::I32x4, Half::Low, Sign::Unsigned) }
    fn visit_i32x4_extend_high_i16x8_u(&mut self) -> Self::Output { self.widen(Shape::I32x4, Half::High, Sign::Unsigned) }
    fn visit_i64x2_extend_low_i32x4_s(&mut self) -> Self::Output { self.widen(Shape::I64x2, Half::Low, Sign::Signed) }
    fn visit_i64x2_extend_high_i32x4_s(&mut self) -> Self::Output { self.widen(Shape::I64x2, Half::High, Sign::Signed) }
    fn visit_i64x2_extend_low_i32x4_u(&mut self) -> Self::Output { self.widen(Shape::I64x2, Half::Low, Sign::Unsigned) }
    fn visit_i64x2_extend_high_i32x4_u(&mut self) -> Self::Output { self.widen(Shape::I64x2, Half::High, Sign::Unsigned) }
    fn visit_i32x4_trunc_sat_f32x4_s(&mut self) -> Self::Output { self.trunc_sat_f32x4(Sign::Signed) }
    fn visit_i32x4_trunc_sat_f32x4_u(&mut self) -> Self::Output { self.trunc_sat_f32x4(Sign::Unsigned) }
    fn visit_f32x4_convert_i32x4_s(&mut self) -> Self::Output { self.convert_i32x4(Sign::Signed) }
    fn visit_f32x4_convert_i32x4_u(&mut self) -> Self::Output { self.convert_i32x4(Sign::Unsigned) }
    fn visit_i32x4_trunc_sat_f64x2_s_zero(&mut self) -> Self::Output { self.trunc_sat_f64x2_zero(Sign::Signed) }
    fn visit_i32x4_trunc_sat_f64x2_u_zero(&mut self) -> Self::Output { self.trunc_sat_f64x2_zero(Sign::Unsigned) }
    fn visit_f64x2_convert_low_i32x4_s(&mut self) -> Self::Output { self.convert_low_i32x4(Sign::Signed) }
    fn visit_f64x2_convert_low_i32x4_u(&mut self) -> Self::Output { self.convert_low_i32x4(Sign::Unsigned) }
    fn visit_f32x4_demote_f64x2_zero(&mut self) -> Self::Output { self.demote_f64x2_zero() }
    fn visit_f64x2_promote_low_f32x4(&mut self) -> Self::Output { self.promote_low_f32x4() }

    // ---- relaxed SIMD (see `super::relaxed`) ----
    fn visit_i8x16_relaxed_swizzle(&mut self) -> Self::Output { self.relaxed_swizzle() }
    fn visit_i32x4_relaxed_trunc_f32x4_s(&mut self) -> Self::Output { self.relaxed_trunc_f32x4(Sign::Signed) }
    fn visit_i32x4_relaxed_trunc_f32x4_u(&mut self) -> Self::Output { self.relaxed_trunc_f32x4(Sign::Unsigned) }
    fn visit_i32x4_relaxed_trunc_f64x2_s_zero(&mut self) -> Self::Output { self.relaxed_trunc_f64x2_zero(Sign::Signed) }
    fn visit_i32x4_relaxed_trunc_f64x2_u_zero(&mut self) -> Self::Output { self.relaxed_trunc_f64x2_zero(Sign::Unsigned) }
    fn visit_f32x4_relaxed_madd(&mut self) -> Self::Output { self.relaxed_madd(Shape::F32x4, false) }
    fn visit_f32x4_relaxed_nmadd(&mut self) -> Self::Output { self.relaxed_madd(Shape::F32x4, true) }
    fn visit_f64x2_relaxed_madd(&mut self) -> Self::Output { self.relaxed_madd(Shape::F64x2, false) }
    fn visit_f64x2_relaxed_nmadd(&mut self) -> Self::Output { self.relaxed_madd(Shape::F64x2, true) }
    fn visit_i8x16_relaxed_laneselect(&mut self) -> Self::Output { self.relaxed_laneselect(Shape::I8x16) }
    fn visit_i16x8_relaxed_laneselect(&mut self) -> Self::Output { self.relaxed_laneselect(Shape::I16x8) }
    fn visit_i32x4_relaxed_laneselect(&mut self) -> Self::Output { self.relaxed_laneselect(Shape::I32x4) }
    fn visit_i64x2_relaxed_laneselect(&mut self) -> Self::Output { self.relaxed_laneselect(Shape::I64x2) }
    fn visit_f32x4_relaxed_min(&mut self) -> Self::Output { self.relaxed_min_max(Shape::F32x4, false) }
    fn visit_f32x4_relaxed_max(&mut self) -> Self::Output { self.relaxed_min_max(Shape::F32x4, true) }
    fn visit_f64x2_relaxed_min(&mut self) -> Self::Output { self.relaxed_min_max(Shape::F64x2, false) }
    fn visit_f64x2_relaxed_max(&mut self) -> Self::Output { self.relaxed_min_max(Shape::F64x2, true) }
    fn visit_i16x8_relaxed_q15mulr_s(&mut self) -> Self::Output { self.relaxed_q15mulr() }
    fn visit_i16x8_relaxed_dot_i8x16_i7x16_s(&mut self) -> Self::Output { self.relaxed_dot() }
    fn visit_i32x4_relaxed_dot_i8x16_i7x16_add_s(&mut self) -> Self::Output { self.relaxed_dot_add() }
}

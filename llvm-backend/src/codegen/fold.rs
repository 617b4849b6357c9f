//! Folding of bitcasts between vector lane shapes of constants.
//!
//! LLVM's IR builder folds an operation on constants as it is built, but
//! without a data layout it cannot fold a bitcast that changes the lane
//! shape of a vector (`<2 x i64>` to `<8 x i16>`): it leaves a constant
//! expression, and every operation built on it another one. wasm-smith
//! writes long chains of SIMD operations on `v128.const`s, and LLVM 19's
//! `llc -O0` can loop forever in its DAG combiner on such a chain (the
//! -O0 pipeline's `instsimplify` folds the rest once these bitcasts are
//! constants; see `fuzz/tests/bounded.rs`, seed 5303). Wasm vectors are
//! little-endian on every target kiln supports, so the lanes are laid out
//! as bytes that way.

use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicValue, BasicValueEnum};

/// `value` bitcast to `ty` as a constant, if `value` is a constant vector
/// of integer or float lanes (none a NaN: its payload would have to pass
/// through an `f64`) and `ty` a vector, integer or float type of the same
/// size. `None` leaves the bitcast to the builder.
pub(crate) fn bitcast_constant<'ctx>(value: BasicValueEnum<'ctx>, ty: BasicTypeEnum<'ctx>) -> Option<BasicValueEnum<'ctx>> {
    let bytes = constant_bytes(value)?;
    from_bytes(&bytes, ty)
}

/// The little-endian bytes of a constant vector, or `None`.
fn constant_bytes(value: BasicValueEnum<'_>) -> Option<Vec<u8>> {
    let BasicValueEnum::VectorValue(vector) = value else { return None };
    let lanes = vector.get_type().get_size();
    let lane = vector.get_type().get_element_type();
    let lane_bytes = match lane {
        BasicTypeEnum::IntType(t) if t.get_bit_width() % 8 == 0 && t.get_bit_width() <= 64 => t.get_bit_width() / 8,
        BasicTypeEnum::FloatType(t) if matches!(t.get_bit_width(), 32 | 64) => t.get_bit_width() / 8,
        _ => return None,
    };
    if vector.is_null() {
        return Some(vec![0; (lanes * lane_bytes) as usize]);
    }
    if !vector.is_constant_data_vector() {
        return None;
    }
    let mut bytes = Vec::with_capacity((lanes * lane_bytes) as usize);
    for i in 0..lanes {
        let bits = match vector.get_element_as_constant(i) {
            BasicValueEnum::IntValue(v) => v.get_zero_extended_constant()?,
            BasicValueEnum::FloatValue(v) => {
                let (f, _) = v.get_constant()?;
                if f.is_nan() {
                    return None;
                }
                if lane_bytes == 4 { u64::from((f as f32).to_bits()) } else { f.to_bits() }
            }
            _ => return None,
        };
        bytes.extend_from_slice(&bits.to_le_bytes()[..lane_bytes as usize]);
    }
    Some(bytes)
}

/// The constant of type `ty` whose little-endian bytes are `bytes`.
fn from_bytes<'ctx>(bytes: &[u8], ty: BasicTypeEnum<'ctx>) -> Option<BasicValueEnum<'ctx>> {
    match ty {
        BasicTypeEnum::VectorType(vector) => {
            let lanes = vector.get_size() as usize;
            if lanes == 0 || !bytes.len().is_multiple_of(lanes) {
                return None;
            }
            let lane_bytes = bytes.len() / lanes;
            let elements: Option<Vec<BasicValueEnum<'ctx>>> =
                bytes.chunks(lane_bytes).map(|chunk| from_bytes(chunk, vector.get_element_type())).collect();
            let elements = elements?;
            Some(match vector.get_element_type() {
                BasicTypeEnum::IntType(_) => {
                    let ints: Vec<_> = elements.iter().map(|e| e.into_int_value()).collect();
                    inkwell::types::VectorType::const_vector(&ints).as_basic_value_enum()
                }
                BasicTypeEnum::FloatType(_) => {
                    let floats: Vec<_> = elements.iter().map(|e| e.into_float_value()).collect();
                    inkwell::types::VectorType::const_vector(&floats).as_basic_value_enum()
                }
                _ => return None,
            })
        }
        BasicTypeEnum::IntType(int) => {
            if int.get_bit_width() as usize != bytes.len() * 8 {
                return None;
            }
            let words: Vec<u64> = bytes
                .chunks(8)
                .map(|chunk| {
                    let mut word = [0u8; 8];
                    word[..chunk.len()].copy_from_slice(chunk);
                    u64::from_le_bytes(word)
                })
                .collect();
            Some(int.const_int_arbitrary_precision(&words).as_basic_value_enum())
        }
        BasicTypeEnum::FloatType(float) => {
            let value = match bytes.len() {
                4 => f64::from(f32::from_le_bytes(bytes.try_into().ok()?)),
                8 => f64::from_le_bytes(bytes.try_into().ok()?),
                _ => return None,
            };
            if value.is_nan() || float.get_bit_width() as usize != bytes.len() * 8 {
                return None;
            }
            Some(float.const_float(value).as_basic_value_enum())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inkwell::context::Context;

    #[test]
    fn lanes_are_regrouped_little_endian() {
        let context = Context::create();
        let i64s = context.i64_type();
        let vector = inkwell::types::VectorType::const_vector(&[
            i64s.const_int(0x0004_0003_0002_0001, false),
            i64s.const_int(0x0008_0007_0006_0005, false),
        ]);
        let i16x8 = context.i16_type().vec_type(8);
        let folded = bitcast_constant(vector.into(), i16x8.into()).expect("a constant vector folds").into_vector_value();
        let lanes: Vec<u64> = (0..8)
            .map(|i| folded.get_element_as_constant(i).into_int_value().get_zero_extended_constant().unwrap())
            .collect();
        assert_eq!(lanes, [1, 2, 3, 4, 5, 6, 7, 8]);
        let i128s = context.i128_type();
        let whole = bitcast_constant(vector.into(), i128s.into()).expect("to i128").into_int_value();
        assert_eq!(whole, i128s.const_int_arbitrary_precision(&[0x0004_0003_0002_0001, 0x0008_0007_0006_0005]));
    }

    #[test]
    fn floats_fold_but_nans_and_non_constants_do_not() {
        let context = Context::create();
        let f32s = context.f32_type();
        let i32x4 = context.i32_type().vec_type(4);
        let floats = inkwell::types::VectorType::const_vector(&[
            f32s.const_float(1.0),
            f32s.const_float(-2.5),
            f32s.const_float(0.0),
            f32s.const_float(3.0),
        ]);
        let folded = bitcast_constant(floats.into(), i32x4.into()).expect("floats fold").into_vector_value();
        let bits = folded.get_element_as_constant(1).into_int_value().get_zero_extended_constant().unwrap();
        assert_eq!(bits, u64::from((-2.5f32).to_bits()));
        let nan = inkwell::types::VectorType::const_vector(&[
            f32s.const_float(f64::NAN),
            f32s.const_float(1.0),
            f32s.const_float(1.0),
            f32s.const_float(1.0),
        ]);
        assert!(bitcast_constant(nan.into(), i32x4.into()).is_none());
        // Back from integers to floats: a lane whose bits are a NaN stays a bitcast.
        let zeros = i32x4.const_zero();
        assert!(bitcast_constant(zeros.into(), context.f32_type().vec_type(4).into()).is_some());
        let nan_bits = context.i32_type().const_int(0x7fc0_0001, false);
        let nan_ints = inkwell::types::VectorType::const_vector(&[nan_bits, nan_bits, nan_bits, nan_bits]);
        assert!(bitcast_constant(nan_ints.into(), context.f32_type().vec_type(4).into()).is_none());
    }
}

//! Evaluation of constant expressions (global initializers, segment
//! offsets, element items) with a small stack machine; extended constant
//! expressions (`i32.add` & co.) included.

use crate::Error;
use crate::vm::ValRaw;
use kiln_abi::types::{ArchivedConstExpr, ArchivedConstOp};

/// What constant expressions may read.
pub(crate) trait ConstContext {
    /// The current value of global `index`.
    fn global(&self, index: u32) -> ValRaw;
    /// The address of function `index`'s reference.
    fn func_ref(&self, index: u32) -> usize;
}

/// Evaluates `expr` to its single value.
pub(crate) fn eval(expr: &ArchivedConstExpr, ctx: &impl ConstContext) -> Result<ValRaw, Error> {
    let mut stack: Vec<ValRaw> = Vec::with_capacity(4);
    let underflow = || Error::Internal("constant expression underflows its stack".into());
    for op in expr.ops.iter() {
        let value = match op {
            ArchivedConstOp::I32Const(v) => ValRaw::from_i32(v.to_native()),
            ArchivedConstOp::I64Const(v) => ValRaw::from_i64(v.to_native()),
            ArchivedConstOp::F32Const(v) => ValRaw::from_f32_bits(v.to_native()),
            ArchivedConstOp::F64Const(v) => ValRaw::from_f64_bits(v.to_native()),
            ArchivedConstOp::V128Const(v) => ValRaw::from_u128(v.to_native()),
            ArchivedConstOp::RefNull(_) => ValRaw::from_ref(0),
            ArchivedConstOp::RefFunc(f) => ValRaw::from_ref(ctx.func_ref(f.to_native())),
            ArchivedConstOp::GlobalGet(g) => ctx.global(g.to_native()),
            binary => {
                let b = stack.pop().ok_or_else(underflow)?;
                let a = stack.pop().ok_or_else(underflow)?;
                match binary {
                    ArchivedConstOp::I32Add => ValRaw::from_i32(a.i32().wrapping_add(b.i32())),
                    ArchivedConstOp::I32Sub => ValRaw::from_i32(a.i32().wrapping_sub(b.i32())),
                    ArchivedConstOp::I32Mul => ValRaw::from_i32(a.i32().wrapping_mul(b.i32())),
                    ArchivedConstOp::I64Add => ValRaw::from_i64(a.i64().wrapping_add(b.i64())),
                    ArchivedConstOp::I64Sub => ValRaw::from_i64(a.i64().wrapping_sub(b.i64())),
                    ArchivedConstOp::I64Mul => ValRaw::from_i64(a.i64().wrapping_mul(b.i64())),
                    _ => unreachable!("every other operator is matched above"),
                }
            }
        };
        stack.push(value);
    }
    match stack.as_slice() {
        [value] => Ok(*value),
        _ => Err(Error::Internal(format!("constant expression leaves {} values", stack.len()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_abi::types::{ConstExpr, ConstOp};
    use rkyv::rancor;

    struct Ctx;
    impl ConstContext for Ctx {
        fn global(&self, index: u32) -> ValRaw {
            ValRaw::from_i32(100 + index as i32)
        }
        fn func_ref(&self, index: u32) -> usize {
            0x1000 + index as usize
        }
    }

    fn run(ops: Vec<ConstOp>) -> Result<ValRaw, Error> {
        let bytes = rkyv::to_bytes::<rancor::Error>(&ConstExpr { ops }).unwrap();
        let archived = rkyv::access::<ArchivedConstExpr, rancor::Error>(&bytes).unwrap();
        eval(archived, &Ctx)
    }

    #[test]
    fn evaluates_extended_constant_expressions() {
        use ConstOp::*;
        assert_eq!(run(vec![GlobalGet(2), I32Const(5), I32Sub, I32Const(3), I32Mul]).unwrap().i32(), 291);
        assert_eq!(run(vec![I64Const(i64::MAX), I64Const(1), I64Add]).unwrap().i64(), i64::MIN);
        assert_eq!(run(vec![RefFunc(7)]).unwrap().reference(), 0x1007);
        assert_eq!(run(vec![F64Const(0x7ff8_0000_0000_0001)]).unwrap().f64_bits(), 0x7ff8_0000_0000_0001);
        assert!(run(vec![I32Add]).is_err());
        assert!(run(vec![I32Const(1), I32Const(2)]).is_err());
    }
}

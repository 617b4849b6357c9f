//! `local.*` and `global.*`.
//!
//! Locals are entry-block stack slots (promoted to SSA by `mem2reg`). A
//! value written to a local the function never reads is pinned (see
//! [`super::parametric`]).
//! Globals live in 16-byte slots: a defined global inline in the vmctx, an
//! imported one wherever its owner keeps it, reached through a pointer in
//! the vmctx. An immutable global initialized with a constant is folded to
//! that constant; other immutable globals are loaded as invariant, since
//! they are written once at instantiation before any wasm code runs.

use super::{FuncTranslator, Invariant};
use crate::codegen::builder::Access;
use crate::error::{CompileError, Result};
use inkwell::values::{BasicValueEnum, PointerValue};
use kiln_abi::types::ConstOp;

impl<'ctx> FuncTranslator<'_, 'ctx> {
    pub(super) fn local_get(&mut self, index: u32) -> Result<()> {
        let value = match self.path.local(index) {
            Some(value) => value,
            None => {
                let (slot, ty) = self.local(index)?;
                let value = self.b.load(ty, slot, Access::Local)?;
                self.path.set_local(index, value);
                value
            }
        };
        self.push(value);
        Ok(())
    }

    pub(super) fn local_set(&mut self, index: u32) -> Result<()> {
        let value = self.pop()?;
        self.write_local(index, value)
    }

    pub(super) fn local_tee(&mut self, index: u32) -> Result<()> {
        let value = *self.peek_n(1)?.first().ok_or_else(|| CompileError::internal("empty stack"))?;
        self.write_local(index, value)
    }

    fn write_local(&mut self, index: u32, value: BasicValueEnum<'ctx>) -> Result<()> {
        self.path.set_local(index, value);
        self.b.store(self.local(index)?.0, value, Access::Local)
    }

    pub(super) fn global_get(&mut self, index: u32) -> Result<()> {
        let cx = self.cx;
        let value: BasicValueEnum = match cx.env.constant_global(index) {
            Some(ConstOp::I32Const(v)) => self.b.i32_const(v).into(),
            Some(ConstOp::I64Const(v)) => self.b.i64_const(v).into(),
            Some(ConstOp::F32Const(bits)) => self.b.float_from_bits(cx.types.f32, bits.into())?.into(),
            Some(ConstOp::F64Const(bits)) => self.b.float_from_bits(cx.types.f64, bits)?.into(),
            Some(ConstOp::V128Const(bits)) => self.v128_constant(bits).into(),
            _ => {
                let global = cx.env.globals[index as usize];
                let access = if global.mutable { Access::Global } else { Access::Invariant };
                let storage = self.global_storage(index)?;
                self.b.load(cx.val_type(global.content)?, storage, access)?
            }
        };
        self.push(value);
        Ok(())
    }

    pub(super) fn global_set(&mut self, index: u32) -> Result<()> {
        let value = self.pop()?;
        let storage = self.global_storage(index)?;
        self.b.store(storage, value, Access::Global)
    }

    fn local(&self, index: u32) -> Result<(PointerValue<'ctx>, inkwell::types::BasicTypeEnum<'ctx>)> {
        self.locals.get(index as usize).copied().ok_or_else(|| CompileError::internal("local index out of range"))
    }

    fn global_storage(&mut self, index: u32) -> Result<PointerValue<'ctx>> {
        let imported = self.cx.env.num_imported.globals;
        if index < imported {
            return Ok(self.invariant(Invariant::ImportedGlobal(index))?.into_pointer_value());
        }
        self.b.const_offset(self.vmctx, self.cx.offsets.defined_global(index - imported).into())
    }
}

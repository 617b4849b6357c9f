//! Reference instructions: `ref.null`, `ref.is_null`, `ref.func`,
//! `ref.as_non_null` (`br_on_null` and `br_on_non_null` branch, so they
//! live with the other branches in [`super::control`]).
//!
//! A reference is one pointer: a function reference is the address of a
//! `VMFuncRef`, an external reference the address of the host's value, and
//! null is the null pointer, whatever the heap type. `ref.func` is
//! therefore no load at all: function `i`'s `VMFuncRef` lives at a constant
//! offset in the instance's own vmctx (for an imported function, a copy of
//! the callee's, filled at instantiation).

use super::FuncTranslator;
use crate::error::Result;
use kiln_abi::TrapCode;

impl<'ctx> FuncTranslator<'_, 'ctx> {
    pub(super) fn ref_null(&mut self) -> Result<()> {
        self.push(self.cx.types.ptr.const_null());
        Ok(())
    }

    pub(super) fn ref_is_null(&mut self) -> Result<()> {
        let reference = self.pop_ptr()?;
        let is_null = self.b.is_null(reference)?;
        let result = self.b.zext(is_null, self.cx.types.i32)?;
        self.push(result);
        Ok(())
    }

    pub(super) fn ref_func(&mut self, function_index: u32) -> Result<()> {
        let offset = self.cx.offsets.func_ref(function_index);
        let reference = self.b.const_offset(self.vmctx, offset.into())?;
        self.push(reference);
        Ok(())
    }

    pub(super) fn ref_as_non_null(&mut self) -> Result<()> {
        let reference = self.pop_ptr()?;
        let is_null = self.b.is_null(reference)?;
        self.trap_if(is_null, TrapCode::NullReference)?;
        self.push(reference);
        Ok(())
    }
}

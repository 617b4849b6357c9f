//! `drop` and `select` (typed or not).
//!
//! A dropped value needs nothing: a load whose value is discarded still
//! traps when out of bounds, because its bounds check is a branch of its
//! own that stays when LLVM deletes the unused load (`crate::bounds`).

use super::FuncTranslator;
use crate::error::Result;
use inkwell::IntPredicate;

impl<'ctx> FuncTranslator<'_, 'ctx> {
    pub(super) fn drop_(&mut self) -> Result<()> {
        self.pop().map(drop)
    }

    /// `select` (and `select` with a type, whose operands may also be
    /// references): the first operand if the condition is nonzero, else
    /// the second. Both are already computed, so this is an LLVM `select`.
    pub(super) fn select(&mut self) -> Result<()> {
        let cond = self.pop_int()?;
        let otherwise = self.pop()?;
        let then = self.pop()?;
        let cond = self.b.icmp(IntPredicate::NE, cond, cond.get_type().const_zero())?;
        let result = self.b.select(cond, then, otherwise)?;
        self.push(result);
        Ok(())
    }
}

//! `drop` and `select` (typed or not), and pinning values wasm discards.
//!
//! # Loads whose value is discarded
//!
//! With guard regions an out-of-bounds load must fault and trap even when
//! its value is never used, but LLVM deletes loads whose result is unused —
//! and after inlining, also calls whose result is unused and that only
//! read memory. So every value wasm visibly discards is pinned with an
//! empty inline-asm use ([`FnBuilder::keep_alive`]), which keeps exactly
//! that computation (and what it depends on) alive, takes the value in the
//! register it is in anyway, and emits no instruction:
//!
//! * the operand of `drop`, whatever computed it — a call's result
//!   included, since the callee's load may be inlined into the caller and
//!   feed nothing but that result;
//! * a value written by `local.set` or `local.tee` to a local that no
//!   `local.get` of the function reads (found by a pre-scan of the body,
//!   see `FuncTranslator::scan_local_reads`).
//!
//! Constants and parameters are never pinned: there is nothing to keep.
//!
//! The remaining gap: a load is still removed when its value dies in a way
//! the translator does not see —
//!
//! * written to a local that is read somewhere, but overwritten before any
//!   read on this path;
//! * passed as an argument the callee never uses (once LLVM inlines the
//!   callee, or removes the dead argument of an internal function);
//! * consumed only by code whose outcome does not depend on it: `x * 0`,
//!   `x & 0`, `x - x`, a `select` or `if`/`br_if` whose condition or
//!   arms make the value irrelevant.
//!
//! Explicit bounds checks have no gap: the check is a branch to a trap,
//! which stays even when the load goes.
//!
//! [`FnBuilder::keep_alive`]: crate::codegen::builder::FnBuilder::keep_alive

use super::FuncTranslator;
use crate::error::Result;
use inkwell::IntPredicate;
use inkwell::values::{BasicValue, BasicValueEnum};
use kiln_abi::metadata::BoundsChecks;

impl<'ctx> FuncTranslator<'_, 'ctx> {
    pub(super) fn drop_(&mut self) -> Result<()> {
        let value = self.pop()?;
        self.pin_discarded(value)
    }

    /// With guard regions, keeps the computation of `value`, which wasm
    /// discards, from being deleted (see the module docs).
    pub(super) fn pin_discarded(&self, value: BasicValueEnum<'ctx>) -> Result<()> {
        if self.cx.bounds_checks == BoundsChecks::Guard && value.as_instruction_value().is_some() {
            self.b.keep_alive(value, self.cx.float_register)?;
        }
        Ok(())
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

//! `drop` and `select`.
//!
//! A dropped value is normally just forgotten, but with guard regions a
//! dropped *load* must still happen: an out-of-bounds address has to fault
//! and trap, and LLVM deletes loads whose result is unused. So a dropped
//! value computed by an instruction other than a call is kept alive with an
//! empty inline-asm use ([`FnBuilder::keep_alive`]), which pins exactly
//! that computation and nothing else. (A load whose result dies in another
//! way, e.g. in a local that is never read, can still be removed; explicit
//! bounds checks have no such gap.)
//!
//! [`FnBuilder::keep_alive`]: crate::codegen::builder::FnBuilder::keep_alive

use super::FuncTranslator;
use crate::error::Result;
use inkwell::IntPredicate;
use inkwell::values::{BasicValue, InstructionOpcode};
use kiln_abi::metadata::BoundsChecks;

impl FuncTranslator<'_, '_> {
    pub(super) fn drop_(&mut self) -> Result<()> {
        let value = self.pop()?;
        let computed = value.as_instruction_value().is_some_and(|i| i.get_opcode() != InstructionOpcode::Call);
        if computed && self.cx.bounds_checks == BoundsChecks::Guard {
            self.b.keep_alive(value)?;
        }
        Ok(())
    }

    /// `select`: the first operand if the condition is nonzero, else the
    /// second. Both are already computed, so this is an LLVM `select`.
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

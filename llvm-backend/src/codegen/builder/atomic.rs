//! Atomic instructions (the threads proposal): every one sequentially
//! consistent and naturally aligned, as wasm's atomics are. Generated
//! code has checked the alignment (and the bounds) before it reaches
//! one of these, so the alignment given to LLVM is a fact, and LLVM
//! selects a lock-free instruction rather than a call into libatomic.
//!
//! Atomic accesses carry no TBAA tag: they may alias anything, ordinary
//! linear-memory accesses included, and they are not marked for
//! `crate::bounds` (their check is explicit, before the alignment
//! check's trap, see `translate::atomics`).

use super::{FnBuilder, check};
use crate::error::{CompileError, Result};
use inkwell::AtomicOrdering::SequentiallyConsistent;
use inkwell::AtomicRMWBinOp;
use inkwell::types::IntType;
use inkwell::values::{BasicValue, InstructionValue, IntValue, PointerValue};

impl<'ctx> FnBuilder<'_, 'ctx> {
    /// A sequentially consistent load of an `ty` at `ptr`, aligned to its
    /// size.
    #[track_caller]
    pub fn atomic_load(&self, ty: IntType<'ctx>, ptr: PointerValue<'ctx>) -> Result<IntValue<'ctx>> {
        let value = check(self.b.build_load(ty, ptr, ""))?;
        let load = value.as_instruction_value().ok_or_else(|| CompileError::internal("load folded away"))?;
        make_atomic(load, ty)?;
        Ok(value.into_int_value())
    }

    /// A sequentially consistent store of `value` at `ptr`, aligned to its
    /// size.
    #[track_caller]
    pub fn atomic_store(&self, ptr: PointerValue<'ctx>, value: IntValue<'ctx>) -> Result<()> {
        let store = check(self.b.build_store(ptr, value))?;
        make_atomic(store, value.get_type())
    }

    /// A sequentially consistent read-modify-write of the integer at `ptr`;
    /// returns the value it held before.
    #[track_caller]
    pub fn atomic_rmw(&self, op: AtomicRMWBinOp, ptr: PointerValue<'ctx>, value: IntValue<'ctx>) -> Result<IntValue<'ctx>> {
        check(self.b.build_atomicrmw(op, ptr, value, SequentiallyConsistent))
    }

    /// A sequentially consistent compare-and-exchange at `ptr`: stores
    /// `replacement` if the integer there equals `expected`; returns the
    /// value it held before either way.
    #[track_caller]
    pub fn atomic_cmpxchg(
        &self,
        ptr: PointerValue<'ctx>,
        expected: IntValue<'ctx>,
        replacement: IntValue<'ctx>,
    ) -> Result<IntValue<'ctx>> {
        let pair = check(self.b.build_cmpxchg(ptr, expected, replacement, SequentiallyConsistent, SequentiallyConsistent))?;
        Ok(check(self.b.build_extract_value(pair, 0, ""))?.into_int_value())
    }

    /// A sequentially consistent fence (`atomic.fence`).
    #[track_caller]
    pub fn fence(&self) -> Result<()> {
        check(self.b.build_fence(SequentiallyConsistent, false, "")).map(drop)
    }
}

/// Makes a plain load or store of a `ty` atomic and naturally aligned.
#[track_caller]
fn make_atomic(access: InstructionValue<'_>, ty: IntType<'_>) -> Result<()> {
    let bytes = ty.get_bit_width() / 8;
    access.set_alignment(bytes).map_err(|e| CompileError::internal(format_args!("alignment: {e}")))?;
    access
        .set_atomic_ordering(SequentiallyConsistent)
        .map_err(|e| CompileError::internal(format_args!("atomic ordering: {e}")))
}

//! The threads proposal's instructions: atomic loads, stores,
//! read-modify-writes and compare-exchanges of every width,
//! `atomic.fence`, and `memory.atomic.wait32/64` and `memory.atomic.notify`.
//!
//! # Lowering
//!
//! Each access becomes one LLVM atomic instruction, sequentially
//! consistent (wasm's atomics are), on an integer of the access's width:
//! the narrow `_u` forms truncate their operands, access 8, 16 or 32 bits
//! and zero-extend what they read. Whether the memory is shared changes
//! nothing here: an atomic access of an unshared memory is just as
//! atomic, which costs little and is always correct.
//!
//! # Checks, in the specification's order
//!
//! 1. Alignment: the effective address (`address + offset`, whose low
//!    bits do not depend on a carry out of 64 bits) must be a multiple of
//!    the access size, else "unaligned atomic" (`TrapCode::HeapMisaligned`).
//! 2. Bounds: `address + offset + size` against the memory's current
//!    length, as `memory.fill` checks (in 64 bits; for a 64-bit memory
//!    written so that it cannot wrap).
//!
//! Both are explicit compares in the translated code, in every
//! bounds-check mode: an atomic access is never marked for
//! `crate::bounds`, so no pass hands its check to a guard region (a fault
//! would come before the alignment trap the spec orders first, and a
//! fault inside a read-modify-write loop is not worth reasoning about).
//! Once both passed, the memory's page-aligned base plus the aligned
//! effective address is naturally aligned, which the LLVM instructions
//! are told.
//!
//! # Wait and notify
//!
//! After the same checks, `memory.atomic.wait32/64` on a shared memory and
//! `memory.atomic.notify` call the runtime's parking table
//! (`memory_atomic_wait32`, `memory_atomic_wait64`,
//! `memory_atomic_notify`) with the address in the memory's reservation,
//! which is the key waiters and notifiers meet at: a shared memory never
//! moves, and every instance that imports it sees it at the same address.
//! Sharing is part of a memory's type, which an import must match
//! exactly, so it is known here: `wait` on an unshared memory traps with
//! "expected shared memory" (nothing could ever notify it), and `notify`
//! on one returns 0 (no thread can be waiting) without a call.

use super::FuncTranslator;
use crate::error::Result;
use inkwell::AtomicRMWBinOp;
use inkwell::IntPredicate;
use inkwell::values::{IntValue, PointerValue};
use kiln_abi::{Builtin, TrapCode, ValType};
use wasmparser::{MemArg, MemArgTarget};

/// The operation of an atomic read-modify-write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RmwOp {
    Add,
    Sub,
    And,
    Or,
    Xor,
    Xchg,
}

impl RmwOp {
    fn llvm(self) -> AtomicRMWBinOp {
        match self {
            RmwOp::Add => AtomicRMWBinOp::Add,
            RmwOp::Sub => AtomicRMWBinOp::Sub,
            RmwOp::And => AtomicRMWBinOp::And,
            RmwOp::Or => AtomicRMWBinOp::Or,
            RmwOp::Xor => AtomicRMWBinOp::Xor,
            RmwOp::Xchg => AtomicRMWBinOp::Xchg,
        }
    }
}

impl<'ctx> FuncTranslator<'_, 'ctx> {
    /// `ty.atomic.load{bits}_u` (`bits` is the type's width for the plain
    /// load).
    pub(super) fn atomic_load(&mut self, memarg: MemArg, ty: ValType, bits: u32) -> Result<()> {
        let access = self.cx.types.int(bits)?;
        let (_, at) = self.atomic_address(&memarg, bits)?;
        let value = self.b.atomic_load(access, at)?;
        let value = self.zero_extend_to(value, ty)?;
        self.push(value);
        Ok(())
    }

    /// `ty.atomic.store{bits}`.
    pub(super) fn atomic_store(&mut self, memarg: MemArg, bits: u32) -> Result<()> {
        let value = self.pop_narrowed(bits)?;
        let (_, at) = self.atomic_address(&memarg, bits)?;
        self.b.atomic_store(at, value)
    }

    /// `ty.atomic.rmw{bits}.op_u`: the old value, zero-extended.
    pub(super) fn atomic_rmw(&mut self, memarg: MemArg, ty: ValType, bits: u32, op: RmwOp) -> Result<()> {
        let value = self.pop_narrowed(bits)?;
        let (_, at) = self.atomic_address(&memarg, bits)?;
        let old = self.b.atomic_rmw(op.llvm(), at, value)?;
        let old = self.zero_extend_to(old, ty)?;
        self.push(old);
        Ok(())
    }

    /// `ty.atomic.rmw{bits}.cmpxchg_u`: both operands wrapped to the
    /// access's width, the old value zero-extended.
    pub(super) fn atomic_cmpxchg(&mut self, memarg: MemArg, ty: ValType, bits: u32) -> Result<()> {
        let replacement = self.pop_narrowed(bits)?;
        let expected = self.pop_narrowed(bits)?;
        let (_, at) = self.atomic_address(&memarg, bits)?;
        let old = self.b.atomic_cmpxchg(at, expected, replacement)?;
        let old = self.zero_extend_to(old, ty)?;
        self.push(old);
        Ok(())
    }

    /// `atomic.fence`.
    pub(super) fn atomic_fence(&mut self) -> Result<()> {
        self.b.fence()
    }

    /// `memory.atomic.wait32` (`bits` 32) or `memory.atomic.wait64`.
    pub(super) fn atomic_wait(&mut self, memarg: MemArg, bits: u32) -> Result<()> {
        let timeout = self.pop_int()?;
        let expected = self.pop_int()?;
        let (memory, at) = self.atomic_address(&memarg, bits)?;
        if !self.is_shared(memory) {
            self.push(self.b.i32_const(0));
            return self.trap(TrapCode::ExpectedSharedMemory);
        }
        let builtin = if bits == 32 { Builtin::memory_atomic_wait32 } else { Builtin::memory_atomic_wait64 };
        let args = [self.vmctx.into(), at.into(), expected.into(), timeout.into()];
        let result = self.call_int_builtin(builtin, &args)?;
        self.push(result);
        Ok(())
    }

    /// `memory.atomic.notify`: the number of waiters woken.
    pub(super) fn atomic_notify(&mut self, memarg: MemArg) -> Result<()> {
        let count = self.pop_int()?;
        let (memory, at) = self.atomic_address(&memarg, 32)?;
        if !self.is_shared(memory) {
            self.push(self.b.i32_const(0));
            return Ok(());
        }
        let args = [self.vmctx.into(), at.into(), count.into()];
        let woken = self.call_int_builtin(Builtin::memory_atomic_notify, &args)?;
        self.push(woken);
        Ok(())
    }

    /// Whether memory `memory` is shared.
    fn is_shared(&self, memory: u32) -> bool {
        self.cx.env.memories.get(memory as usize).is_some_and(|m| m.shared)
    }

    /// Pops an integer operand and wraps it to `bits`.
    fn pop_narrowed(&mut self, bits: u32) -> Result<IntValue<'ctx>> {
        let value = self.pop_int()?;
        let narrow = self.cx.types.int(bits)?;
        if value.get_type() == narrow { Ok(value) } else { self.b.trunc(value, narrow) }
    }

    /// Zero-extends a value read by an access to the instruction's type.
    fn zero_extend_to(&mut self, value: IntValue<'ctx>, ty: ValType) -> Result<IntValue<'ctx>> {
        let wide = self.cx.val_type(ty)?.into_int_type();
        self.b.zext_or_same(value, wide)
    }

    /// Pops the address operand of an access of `bits` bits, checks its
    /// alignment and then its bounds (see the module docs), and returns
    /// the memory and the access's pointer.
    fn atomic_address(&mut self, memarg: &MemArg, bits: u32) -> Result<(u32, PointerValue<'ctx>)> {
        let memory = match memarg.target {
            MemArgTarget::Memory(memory) => memory,
            MemArgTarget::Array(_) => return Err(self.unsupported("GC")),
        };
        let bytes = u64::from(bits / 8);
        let address = self.pop_int()?;
        let i64_type = self.cx.types.i64;
        let address = self.b.zext_or_same(address, i64_type)?;
        // Wraps only for a 64-bit memory, where the bounds check then fails.
        let effective = self.b.int_add(address, i64_type.const_int(memarg.offset, false))?;
        if bytes > 1 {
            let low = self.b.and(effective, i64_type.const_int(bytes - 1, false))?;
            let misaligned = self.b.icmp(IntPredicate::NE, low, i64_type.const_zero())?;
            self.trap_if(misaligned, TrapCode::HeapMisaligned)?;
        }
        // `offset + size` past 2^64 is past any memory (a 32-bit memory's
        // offset is below 2^32).
        let span = i64_type.const_int(memarg.offset.saturating_add(bytes), false);
        self.check_memory_range(memory, address, span)?;
        Ok((memory, self.heap_pointer(memory, effective)?))
    }
}

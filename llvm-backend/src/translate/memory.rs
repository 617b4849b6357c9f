//! Linear-memory loads and stores, `memory.size`, `memory.grow`, and the
//! bulk-memory instructions `memory.copy`, `memory.fill`, `memory.init`,
//! `data.drop`.
//!
//! # Addresses and bounds
//!
//! An access is `base + zext(addr) + offset`, computed in 64 bits so it
//! cannot wrap. The base is loaded once per function (the memory never
//! moves; see `Invariant::MemoryBase`).
//!
//! Every instruction names its memory (multi-memory; memory 0 when the
//! text leaves it out), and every memory is treated alike: its own base,
//! its own length, its own guard region. Memory 0 costs nothing more than
//! in a module with one memory: it is reached at the same VM context
//! offsets, so its code is the same. The access mark carries the memory
//! index, and every check reads that memory's length, so a fact about one
//! memory never stands for another (see [`crate::bounds`]).
//!
//! Every access is translated unchecked but marked
//! (`FnBuilder::mark_access`); [`crate::bounds::insert_checks`] gives each
//! one its explicit check against the memory's current length once the
//! passes that want loops exactly as wasm wrote them have run, in every
//! bounds-check mode (see [`crate::bounds`] for why, and for what becomes
//! of the checks).
//!
//! Accesses are byte-aligned (wasm's alignment immediate is only a hint)
//! and never volatile, so LLVM may combine, hoist and vectorize them.
//!
//! # 64-bit memories
//!
//! A memory64 address is an `i64`, used as it is (`base + address +
//! offset`, with an offset up to 2^64 - 1); its check
//! ([`crate::bounds::insert_checks`]) is written so that `address +
//! offset + width` cannot wrap, and it is never handed to a guard region.
//! `memory.size` and `memory.grow` take and return `i64`s; the bulk
//! instructions take each operand in its memory's index type (a length in
//! the smaller of the two for `memory.copy`) and check their ranges
//! without overflow. Code for 32-bit memories is exactly as before.
//!
//! # Bulk memory
//!
//! `memory.copy` and `memory.fill` are checked explicitly in both modes —
//! `dst + len` (and `src + len`) against the current length, in 64 bits —
//! and only then become one `llvm.memmove` / `llvm.memset`. The check must
//! come first: a failing bulk operation traps without writing anything,
//! and the intrinsic may become a call into libc, where a fault cannot be
//! claimed as a trap and would kill the process. `memory.init` and
//! `data.drop` need the data segments, which only the runtime has, so they
//! call the `memory_init` (checked the same way, in Rust) and `data_drop`
//! builtins.

use super::conversion::Sign;
use super::{FuncTranslator, Invariant};
use crate::codegen::builder::Access;
use crate::error::{CompileError, Result};
use inkwell::IntPredicate;
use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicValue, BasicValueEnum, IntValue, PointerValue};
use kiln_abi::{Builtin, TrapCode, ValType};
use wasmparser::{MemArg, MemArgTarget};

impl<'ctx> FuncTranslator<'_, 'ctx> {
    /// A load of a `ty`; `narrow` gives the bits actually read and how they
    /// are extended (`i64.load8_s` reads 8 bits, sign-extended).
    pub(super) fn load(&mut self, memarg: MemArg, ty: ValType, narrow: Option<(u32, Sign)>) -> Result<()> {
        let result_type = self.cx.val_type(ty)?;
        let access_type = match narrow {
            Some((bits, _)) => self.cx.types.int(bits)?.into(),
            None => result_type,
        };
        let value = self.heap_load(&memarg, access_type)?;
        let result = match narrow {
            Some((_, Sign::Signed)) => self.b.sext(value.into_int_value(), result_type.into_int_type())?.into(),
            Some((_, Sign::Unsigned)) => self.b.zext(value.into_int_value(), result_type.into_int_type())?.into(),
            None => value,
        };
        self.push(result);
        Ok(())
    }

    /// A store of the value on top of the stack; `narrow_bits` stores only
    /// the low bits (`i64.store16`).
    pub(super) fn store(&mut self, memarg: MemArg, narrow_bits: Option<u32>) -> Result<()> {
        let value = self.pop()?;
        let value = match narrow_bits {
            Some(bits) => self.b.trunc(value.into_int_value(), self.cx.types.int(bits)?)?.into(),
            None => value,
        };
        self.heap_store(&memarg, value)
    }

    pub(super) fn memory_size(&mut self, memory: u32) -> Result<()> {
        let length = self.memory_length(memory)?;
        let log2 = self.cx.env.memories.get(memory as usize).map_or(16, |m| m.page_size_log2);
        let pages = self.b.shr(length, length.get_type().const_int(log2.into(), false), false)?;
        let result = self.b.trunc_or_same(pages, self.index_type(memory))?;
        self.push(result);
        Ok(())
    }

    pub(super) fn memory_grow(&mut self, memory: u32) -> Result<()> {
        let delta = self.pop_int()?;
        let delta = self.b.zext_or_same(delta, self.cx.types.i64)?;
        let index = self.b.i32_const(memory as i32);
        let args = [self.vmctx.into(), index.into(), delta.into()];
        let previous = self.call_int_builtin(Builtin::memory_grow, &args)?;
        let result = self.b.trunc_or_same(previous, self.index_type(memory))?;
        self.push(result);
        Ok(())
    }

    /// Whether memory `memory` is a 64-bit memory (memory64).
    pub(super) fn is_memory64(&self, memory: u32) -> bool {
        self.cx.env.memories.get(memory as usize).is_some_and(|m| m.memory64)
    }

    /// The type of memory `memory`'s addresses and sizes in pages.
    fn index_type(&self, memory: u32) -> inkwell::types::IntType<'ctx> {
        if self.is_memory64(memory) { self.cx.types.i64 } else { self.cx.types.i32 }
    }

    /// `memory.copy`: checks both ranges, then one `memmove` (the ranges
    /// may overlap).
    pub(super) fn memory_copy(&mut self, dst_memory: u32, src_memory: u32) -> Result<()> {
        let len = self.pop_u32_as_i64()?;
        let src = self.pop_u32_as_i64()?;
        let dst = self.pop_u32_as_i64()?;
        self.check_memory_range(src_memory, src, len)?;
        self.check_memory_range(dst_memory, dst, len)?;
        let from = self.heap_pointer(src_memory, src)?;
        let to = self.heap_pointer(dst_memory, dst)?;
        self.b.memmove(to, from, len, 1, Access::Heap)
    }

    /// `memory.fill`: checks the range, then one `memset` of the value's
    /// low byte.
    pub(super) fn memory_fill(&mut self, memory: u32) -> Result<()> {
        let len = self.pop_u32_as_i64()?;
        let value = self.pop_int()?;
        let dst = self.pop_u32_as_i64()?;
        self.check_memory_range(memory, dst, len)?;
        let byte = self.b.trunc(value, self.cx.types.i8)?;
        let to = self.heap_pointer(memory, dst)?;
        self.b.memset(to, byte, len, 1, Access::Heap)
    }

    /// `memory.init`: the `memory_init` builtin, which checks the ranges.
    pub(super) fn memory_init(&mut self, data: u32, memory: u32) -> Result<()> {
        let len = self.pop_u32_as_i64()?;
        let src = self.pop_u32_as_i64()?;
        let dst = self.pop_u32_as_i64()?;
        let args = [
            self.vmctx.into(),
            self.b.i32_const(memory as i32).into(),
            self.b.i32_const(data as i32).into(),
            dst.into(),
            src.into(),
            len.into(),
        ];
        self.call_fallible_builtin(Builtin::memory_init, &args)
    }

    pub(super) fn data_drop(&mut self, data: u32) -> Result<()> {
        let args = [self.vmctx.into(), self.b.i32_const(data as i32).into()];
        self.call_void_builtin(Builtin::data_drop, &args)
    }

    /// Traps with "out of bounds memory access" unless `start + len` (both
    /// `i64` below 2^32, or any `i64` for a 64-bit memory) is within memory
    /// `memory`'s current length.
    pub(super) fn check_memory_range(&mut self, memory: u32, start: IntValue<'ctx>, len: IntValue<'ctx>) -> Result<()> {
        if self.is_memory64(memory) {
            return self.check_memory64_range(memory, start, len);
        }
        let end = self.b.int_add(start, len)?;
        let length = self.memory_length(memory)?;
        let length = self.b.zext_or_same(length, self.cx.types.i64)?;
        let out_of_bounds = self.b.icmp(IntPredicate::UGT, end, length)?;
        self.trap_if(out_of_bounds, TrapCode::MemoryOutOfBounds)
    }

    /// [`Self::check_memory_range`] for a 64-bit memory, where `start +
    /// len` may wrap: `len > length || start > length - len`.
    fn check_memory64_range(&mut self, memory: u32, start: IntValue<'ctx>, len: IntValue<'ctx>) -> Result<()> {
        let length = self.memory_length(memory)?;
        let length = self.b.zext_or_same(length, self.cx.types.i64)?;
        let too_long = self.b.icmp(IntPredicate::UGT, len, length)?;
        let room = self.b.int_sub(length, len)?;
        let too_far = self.b.icmp(IntPredicate::UGT, start, room)?;
        let out_of_bounds = self.b.or(too_long, too_far)?;
        self.trap_if(out_of_bounds, TrapCode::MemoryOutOfBounds)
    }

    /// `base + index` in memory `memory`, for an `i64` index below 2^32 (any
    /// in-bounds index of a 64-bit memory).
    pub(super) fn heap_pointer(&mut self, memory: u32, index: IntValue<'ctx>) -> Result<PointerValue<'ctx>> {
        let base = self.invariant(Invariant::MemoryBase(memory))?.into_pointer_value();
        self.b.byte_offset(base, index)
    }

    /// Pops the address operand and loads a `ty` from it (see
    /// [`Self::heap_address`]).
    pub(super) fn heap_load(&mut self, memarg: &MemArg, ty: BasicTypeEnum<'ctx>) -> Result<BasicValueEnum<'ctx>> {
        let (memory, address) = self.heap_address(memarg)?;
        let value = self.b.load(ty, address, Access::Heap)?;
        let load = value.as_instruction_value().ok_or_else(|| CompileError::internal("a load folded away"))?;
        self.b.mark_access(load, memory)?;
        Ok(value)
    }

    /// Pops the address operand and stores `value` there (see
    /// [`Self::heap_address`]).
    pub(super) fn heap_store(&mut self, memarg: &MemArg, value: BasicValueEnum<'ctx>) -> Result<()> {
        let (memory, address) = self.heap_address(memarg)?;
        let store = self.b.store_instruction(address, value, Access::Heap)?;
        self.b.mark_access(store, memory)
    }

    /// Pops the address operand and returns which memory an access goes to
    /// and where: `base + zext(address) + offset`, computed in 64 bits so
    /// it cannot wrap (`base + address + offset` for a 64-bit memory, where
    /// it may: the check does not). The access gets its bounds check later, from
    /// [`crate::bounds::insert_checks`], which reads the address and size
    /// back from the access itself (the mark `FnBuilder::mark_access`
    /// puts on it names the memory).
    fn heap_address(&mut self, memarg: &MemArg) -> Result<(u32, PointerValue<'ctx>)> {
        let memory = match memarg.target {
            MemArgTarget::Memory(memory) => memory,
            MemArgTarget::Array(_) => return Err(self.unsupported("GC")),
        };
        let address = self.pop_int()?;
        if address.get_type() == self.cx.types.i32 {
            // The access follows at once; code after it runs only if it
            // succeeded.
            self.path.accessed(address);
        }
        let index = self.b.zext_or_same(address, self.cx.types.i64)?;
        let base = self.invariant(Invariant::MemoryBase(memory))?.into_pointer_value();
        let at = self.b.byte_offset(base, index)?;
        Ok((memory, self.b.const_offset(at, memarg.offset)?))
    }

    /// The current length in bytes of memory `index`, as a pointer-sized
    /// integer.
    fn memory_length(&mut self, index: u32) -> Result<IntValue<'ctx>> {
        let cx = self.cx;
        let o = &cx.offsets;
        let imported = cx.env.num_imported.memories;
        let (definition, offset) = if index < imported {
            (self.invariant(Invariant::ImportedMemory(index))?.into_pointer_value(), 0)
        } else {
            (self.vmctx, o.defined_memory(index - imported))
        };
        let field = offset + o.memory_definition_current_length();
        self.b.load_intptr_field(definition, field, Access::MemoryLength)
    }
}

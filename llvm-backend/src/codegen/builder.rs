//! The one place that talks to inkwell's instruction builder.
//!
//! Everything that emits instructions goes through [`FnBuilder`], for three
//! reasons:
//!
//! * inkwell returns a `BuilderError` from every call (it only fails when
//!   kiln misuses it, e.g. builds without a position). Here each one becomes
//!   a [`CompileError::Internal`] naming the *caller's* source line
//!   (`#[track_caller]`), so the lowering code reads as a straight line of
//!   `?`s and a bug is reported, never a panic.
//! * GEPs are `unsafe` in inkwell. The only ones kiln needs are byte offsets
//!   from a pointer, and they live here, behind [`FnBuilder::byte_offset`]
//!   and the typed VM-context helpers.
//! * Every load and store says what it touches ([`Access`]), and this
//!   module turns that into alignment, TBAA tags and `!invariant.load`.
//!   That is how LLVM learns that a store to linear memory cannot change
//!   a memory's base pointer or a global, so it can keep those in
//!   registers and hoist them out of loops.

use crate::error::{CompileError, Result};
use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::basic_block::BasicBlock;
use inkwell::builder::{Builder, BuilderError};
use inkwell::context::Context;
use inkwell::intrinsics::Intrinsic;
use inkwell::module::Module;
use inkwell::types::{
    BasicType, BasicTypeEnum, FloatMathType, FloatType, FunctionType, IntMathType, IntType, PointerType, VectorType,
};
use inkwell::values::{
    BasicMetadataValueEnum, BasicValue, BasicValueEnum, CallSiteValue, FloatMathValue, FloatValue, FunctionValue,
    InstructionValue, IntMathValue, IntValue, MetadataValue, PhiValue, PointerValue, VectorValue,
};
use inkwell::{AddressSpace, FloatPredicate, IntPredicate};
use std::cell::Cell;
use kiln_abi::VAL_RAW_SIZE;

mod atomic;

/// The call instruction of a memory intrinsic, which inkwell returns as a
/// pointer value.
#[track_caller]
fn intrinsic_call(call: PointerValue<'_>) -> Result<InstructionValue<'_>> {
    call.as_instruction().ok_or_else(|| CompileError::internal("memory intrinsic folded away"))
}

/// A builder result as kiln's error.
#[track_caller]
pub(crate) fn check<T>(result: Result<T, BuilderError>) -> Result<T> {
    result.map_err(|e| CompileError::internal(format_args!("LLVM builder: {e}")))
}

/// The LLVM types kiln uses, for one context and target.
#[derive(Clone, Copy)]
pub(crate) struct Types<'ctx> {
    pub context: &'ctx Context,
    pub i8: IntType<'ctx>,
    pub i32: IntType<'ctx>,
    pub i64: IntType<'ctx>,
    pub f32: FloatType<'ctx>,
    pub f64: FloatType<'ctx>,
    pub ptr: PointerType<'ctx>,
    /// An integer as wide as a pointer of the target.
    pub intptr: IntType<'ctx>,
    /// A wasm `v128` wherever it is stored or passed: `<2 x i64>`. Lane
    /// operations bitcast to their own shape (see `translate::simd`).
    pub v128: VectorType<'ctx>,
}

impl<'ctx> Types<'ctx> {
    pub fn new(context: &'ctx Context, pointer_bytes: u32) -> Types<'ctx> {
        Types {
            context,
            i8: context.i8_type(),
            i32: context.i32_type(),
            i64: context.i64_type(),
            f32: context.f32_type(),
            f64: context.f64_type(),
            ptr: context.ptr_type(AddressSpace::default()),
            intptr: if pointer_bytes == 4 { context.i32_type() } else { context.i64_type() },
            v128: context.i64_type().vec_type(2),
        }
    }

    /// The integer type of `bits` bits (8, 16, 32 or 64).
    #[track_caller]
    pub fn int(&self, bits: u32) -> Result<IntType<'ctx>> {
        match bits {
            8 => Ok(self.i8),
            16 => Ok(self.context.i16_type()),
            32 => Ok(self.i32),
            64 => Ok(self.i64),
            _ => Err(CompileError::internal(format_args!("no {bits}-bit integers in wasm"))),
        }
    }

    /// The function type for `params` returning `result` (or void).
    pub fn fn_type(&self, params: &[BasicTypeEnum<'ctx>], result: Option<BasicTypeEnum<'ctx>>) -> FunctionType<'ctx> {
        let params: Vec<_> = params.iter().map(|&t| t.into()).collect();
        match result {
            None => self.context.void_type().fn_type(&params, false),
            Some(ty) => ty.fn_type(&params, false),
        }
    }

    /// An enum attribute such as `noreturn`.
    pub fn attribute(&self, name: &str) -> Attribute {
        self.int_attribute(name, 0)
    }

    /// An enum attribute with a value, such as `align 16`.
    pub fn int_attribute(&self, name: &str, value: u64) -> Attribute {
        self.context.create_enum_attribute(Attribute::get_named_enum_kind_id(name), value)
    }
}

/// What a load or store touches. Each kind is its own TBAA type, so LLVM
/// knows that accesses of different kinds never alias.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// Linear memory. Wasm alignment is only a hint: byte-aligned.
    Heap,
    /// A runtime-data field that never changes while the instance lives:
    /// memory bases, signature ids, imports, the builtin table, `VMFuncRef`
    /// contents. Marked `!invariant.load` so LLVM may hoist and merge it.
    Invariant,
    /// A memory's `current_length`, changed by `memory.grow`.
    MemoryLength,
    /// A table definition's fields (`base`, `current_elements`), changed by
    /// `table.grow`.
    Table,
    /// A table's elements, changed by `table.set` and the bulk table
    /// operations (which never touch a definition).
    TableElement,
    /// A global's storage.
    Global,
    /// The store context's stack limit.
    StackLimit,
    /// An untyped `ValRaw` slot: a trampoline's `values` array or a
    /// multi-value return area (the same layout).
    ValRaw,
    /// A stack slot of the function itself (wasm locals); no tag needed.
    Local,
}

/// The metadata kind that marks a linear-memory access as one that needs a
/// bounds check: `!{i32 memory}` (see `crate::bounds::insert_checks`). A
/// marked access is `volatile` until its check is inserted.
pub(crate) const ACCESS: &str = "kiln.access";

/// The metadata kind that marks a linear-memory bounds check: the `icmp`
/// whose `true` result traps with "out of bounds memory access", in the
/// form `icmp ugt (add (zext i32 %address), END), %length` that
/// [`FnBuilder::bounds_check`] builds. kiln's own passes
/// (`crate::bounds`) find the checks by it.
pub(crate) const BOUNDS_CHECK: &str = "kiln.bounds";

/// TBAA access tags for each [`Access`] kind, created once per module.
#[derive(Clone, Copy)]
pub(crate) struct Tags<'ctx> {
    tbaa_kind: u32,
    invariant_kind: u32,
    bounds_kind: u32,
    access_kind: u32,
    empty: MetadataValue<'ctx>,
    heap: MetadataValue<'ctx>,
    invariant: MetadataValue<'ctx>,
    memory_length: MetadataValue<'ctx>,
    table: MetadataValue<'ctx>,
    table_element: MetadataValue<'ctx>,
    global: MetadataValue<'ctx>,
    stack_limit: MetadataValue<'ctx>,
    val_raw: MetadataValue<'ctx>,
}

impl<'ctx> Tags<'ctx> {
    pub fn new(types: &Types<'ctx>) -> Tags<'ctx> {
        let cx = types.context;
        let zero = types.i64.const_zero().into();
        let root = cx.metadata_node(&[cx.metadata_string("kiln tbaa").into()]);
        let tag = |name: &str| {
            let ty = cx.metadata_node(&[cx.metadata_string(name).into(), root.into(), zero]);
            cx.metadata_node(&[ty.into(), ty.into(), zero])
        };
        Tags {
            tbaa_kind: cx.get_kind_id("tbaa"),
            invariant_kind: cx.get_kind_id("invariant.load"),
            bounds_kind: cx.get_kind_id(BOUNDS_CHECK),
            access_kind: cx.get_kind_id(ACCESS),
            empty: cx.metadata_node(&[]),
            heap: tag("wasm memory"),
            invariant: tag("vm invariant"),
            memory_length: tag("memory length"),
            table: tag("table"),
            table_element: tag("table element"),
            global: tag("global"),
            stack_limit: tag("stack limit"),
            val_raw: tag("val raw"),
        }
    }

    /// The TBAA tag of linear-memory accesses.
    pub fn heap_tag(&self) -> MetadataValue<'ctx> {
        self.heap
    }

    fn tag(&self, access: Access) -> Option<MetadataValue<'ctx>> {
        match access {
            Access::Heap => Some(self.heap),
            Access::Invariant => Some(self.invariant),
            Access::MemoryLength => Some(self.memory_length),
            Access::Table => Some(self.table),
            Access::TableElement => Some(self.table_element),
            Access::Global => Some(self.global),
            Access::StackLimit => Some(self.stack_limit),
            Access::ValRaw => Some(self.val_raw),
            Access::Local => None,
        }
    }
}

/// A lane-wise conversion ([`FnBuilder::lanes_cast`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LaneCast {
    SignExtend,
    ZeroExtend,
    Truncate,
    FloatToUnsigned,
    SignedToFloat,
    UnsignedToFloat,
    FloatExtend,
    FloatTruncate,
}

/// An instruction builder for one module, with typed, fallible helpers.
pub(crate) struct FnBuilder<'a, 'ctx> {
    b: Builder<'ctx>,
    pub types: Types<'ctx>,
    tags: Tags<'ctx>,
    module: &'a Module<'ctx>,
    /// The landing pad calls that may throw unwind to, inside a `try`.
    unwind: Cell<Option<BasicBlock<'ctx>>>,
}

macro_rules! binary_ops {
    ($($name:ident => $inner:ident: $bound:ident;)*) => {
        $(
            #[track_caller]
            pub fn $name<T: $bound<'ctx>>(&self, lhs: T, rhs: T) -> Result<T> {
                check(self.b.$inner(lhs, rhs, ""))
            }
        )*
    };
}

macro_rules! int_casts {
    ($($name:ident => $inner:ident;)*) => {
        $(
            #[track_caller]
            pub fn $name(&self, value: IntValue<'ctx>, ty: IntType<'ctx>) -> Result<IntValue<'ctx>> {
                check(self.b.$inner(value, ty, ""))
            }
        )*
    };
}

impl<'a, 'ctx> FnBuilder<'a, 'ctx> {
    pub fn new(types: Types<'ctx>, tags: Tags<'ctx>, module: &'a Module<'ctx>) -> FnBuilder<'a, 'ctx> {
        FnBuilder { b: types.context.create_builder(), types, tags, module, unwind: Cell::new(None) }
    }

    /// The module this builder emits into.
    pub fn module(&self) -> &'a Module<'ctx> {
        self.module
    }

    // ---- position and blocks ----

    pub fn position_at_end(&self, block: BasicBlock<'ctx>) {
        self.b.position_at_end(block);
    }

    pub fn position_before(&self, instruction: &InstructionValue<'ctx>) {
        self.b.position_before(instruction);
    }

    /// The block instructions are being appended to.
    #[track_caller]
    pub fn current_block(&self) -> Result<BasicBlock<'ctx>> {
        self.b.get_insert_block().ok_or_else(|| CompileError::internal("builder has no insertion block"))
    }

    /// A new block at the end of the current function.
    #[track_caller]
    pub fn append_block(&self, name: &str) -> Result<BasicBlock<'ctx>> {
        let function =
            self.current_block()?.get_parent().ok_or_else(|| CompileError::internal("block without function"))?;
        Ok(self.types.context.append_basic_block(function, name))
    }

    // ---- constants ----

    pub fn i32_const(&self, value: i32) -> IntValue<'ctx> {
        self.types.i32.const_int(value as u32 as u64, false)
    }

    pub fn i64_const(&self, value: i64) -> IntValue<'ctx> {
        self.types.i64.const_int(value as u64, false)
    }

    /// A float constant with exactly these bits (NaN payloads included,
    /// which a conversion through `f64` would not preserve).
    #[track_caller]
    pub fn float_from_bits(&self, ty: FloatType<'ctx>, bits: u64) -> Result<FloatValue<'ctx>> {
        let int = self.types.int(self.float_bits(ty))?.const_int(bits, false);
        Ok(self.bit_cast(int.into(), ty.into())?.into_float_value())
    }

    /// Width in bits of a float type kiln uses.
    pub fn float_bits(&self, ty: FloatType<'ctx>) -> u32 {
        if ty == self.types.f32 { 32 } else { 64 }
    }

    // ---- arithmetic ----

    binary_ops! {
        int_add => build_int_add: IntMathValue;
        int_nuw_add => build_int_nuw_add: IntMathValue;
        int_sub => build_int_sub: IntMathValue;
        int_mul => build_int_mul: IntMathValue;
        and => build_and: IntMathValue;
        or => build_or: IntMathValue;
        xor => build_xor: IntMathValue;
        shl => build_left_shift: IntMathValue;
        sdiv => build_int_signed_div: IntMathValue;
        udiv => build_int_unsigned_div: IntMathValue;
        srem => build_int_signed_rem: IntMathValue;
        urem => build_int_unsigned_rem: IntMathValue;
        float_add => build_float_add: FloatMathValue;
        float_sub => build_float_sub: FloatMathValue;
        float_mul => build_float_mul: FloatMathValue;
        float_div => build_float_div: FloatMathValue;
    }

    /// Shift right, arithmetic (`signed`) or logical.
    #[track_caller]
    pub fn shr(&self, lhs: IntValue<'ctx>, rhs: IntValue<'ctx>, signed: bool) -> Result<IntValue<'ctx>> {
        check(self.b.build_right_shift(lhs, rhs, signed, ""))
    }

    #[track_caller]
    pub fn float_neg(&self, value: FloatValue<'ctx>) -> Result<FloatValue<'ctx>> {
        check(self.b.build_float_neg(value, ""))
    }

    #[track_caller]
    pub fn icmp(&self, pred: IntPredicate, lhs: IntValue<'ctx>, rhs: IntValue<'ctx>) -> Result<IntValue<'ctx>> {
        check(self.b.build_int_compare(pred, lhs, rhs, ""))
    }

    #[track_caller]
    pub fn fcmp<T: FloatMathValue<'ctx>>(
        &self,
        pred: FloatPredicate,
        lhs: T,
        rhs: T,
    ) -> Result<<<T::BaseType as FloatMathType<'ctx>>::MathConvType as IntMathType<'ctx>>::ValueType> {
        check(self.b.build_float_compare(pred, lhs, rhs, ""))
    }

    #[track_caller]
    pub fn select<C: IntMathValue<'ctx>, V: BasicValue<'ctx>>(
        &self,
        cond: C,
        then: V,
        otherwise: V,
    ) -> Result<BasicValueEnum<'ctx>> {
        check(self.b.build_select(cond, then, otherwise, ""))
    }

    // ---- conversions ----

    int_casts! {
        zext => build_int_z_extend;
        sext => build_int_s_extend;
        trunc => build_int_truncate;
        zext_or_same => build_int_z_extend_or_bit_cast;
        trunc_or_same => build_int_truncate_or_bit_cast;
    }

    #[track_caller]
    pub fn bit_cast(&self, value: BasicValueEnum<'ctx>, ty: BasicTypeEnum<'ctx>) -> Result<BasicValueEnum<'ctx>> {
        if let Some(folded) = super::fold::bitcast_constant(value, ty) {
            return Ok(folded);
        }
        check(self.b.build_bit_cast(value, ty, ""))
    }

    /// `fptosi` / `fptoui`; the result is poison out of range, so callers
    /// check the range first.
    #[track_caller]
    pub fn float_to_int(&self, value: FloatValue<'ctx>, ty: IntType<'ctx>, signed: bool) -> Result<IntValue<'ctx>> {
        check(if signed {
            self.b.build_float_to_signed_int(value, ty, "")
        } else {
            self.b.build_float_to_unsigned_int(value, ty, "")
        })
    }

    #[track_caller]
    pub fn int_to_float(&self, value: IntValue<'ctx>, ty: FloatType<'ctx>, signed: bool) -> Result<FloatValue<'ctx>> {
        check(if signed {
            self.b.build_signed_int_to_float(value, ty, "")
        } else {
            self.b.build_unsigned_int_to_float(value, ty, "")
        })
    }

    /// `fpext` or `fptrunc` to `ty`.
    #[track_caller]
    pub fn float_cast(&self, value: FloatValue<'ctx>, ty: FloatType<'ctx>) -> Result<FloatValue<'ctx>> {
        check(if self.float_bits(ty) > self.float_bits(value.get_type()) {
            self.b.build_float_ext(value, ty, "")
        } else {
            self.b.build_float_trunc(value, ty, "")
        })
    }

    #[track_caller]
    pub fn ptr_to_int(&self, value: PointerValue<'ctx>) -> Result<IntValue<'ctx>> {
        check(self.b.build_ptr_to_int(value, self.types.intptr, ""))
    }

    #[track_caller]
    pub fn is_null(&self, value: PointerValue<'ctx>) -> Result<IntValue<'ctx>> {
        check(self.b.build_is_null(value, ""))
    }

    #[track_caller]
    pub fn is_not_null(&self, value: PointerValue<'ctx>) -> Result<IntValue<'ctx>> {
        check(self.b.build_is_not_null(value, ""))
    }

    // ---- memory ----

    /// `ptr + offset` bytes.
    #[track_caller]
    pub fn byte_offset(&self, ptr: PointerValue<'ctx>, offset: IntValue<'ctx>) -> Result<PointerValue<'ctx>> {
        // SAFETY: an `i8` GEP only computes an address. Every pointer kiln
        // offsets is the start of one allocation that contains the result:
        // a VM context or runtime struct (offsets from `VMOffsets`), a
        // `ValRaw` array, a table's elements after an index check, or a
        // linear memory's reservation, which covers every 32-bit address
        // plus 32-bit offset (`GUARD_RESERVATION`) or is checked first.
        check(unsafe { self.b.build_in_bounds_gep(self.types.i8, ptr, &[offset], "") })
    }

    /// `ptr + offset` for a constant offset.
    #[track_caller]
    pub fn const_offset(&self, ptr: PointerValue<'ctx>, offset: u64) -> Result<PointerValue<'ctx>> {
        if offset == 0 {
            return Ok(ptr);
        }
        self.byte_offset(ptr, self.types.intptr.const_int(offset, false))
    }

    /// Loads a `ty` at `ptr`.
    #[track_caller]
    pub fn load(
        &self,
        ty: BasicTypeEnum<'ctx>,
        ptr: PointerValue<'ctx>,
        access: Access,
    ) -> Result<BasicValueEnum<'ctx>> {
        let value = check(self.b.build_load(ty, ptr, ""))?;
        let instruction = value.as_instruction_value().ok_or_else(|| CompileError::internal("load folded away"))?;
        self.annotate(instruction, access)?;
        if access == Access::Invariant {
            self.set_metadata(instruction, self.tags.empty, self.tags.invariant_kind)?;
        }
        Ok(value)
    }

    /// Stores `value` at `ptr`.
    #[track_caller]
    pub fn store(&self, ptr: PointerValue<'ctx>, value: BasicValueEnum<'ctx>, access: Access) -> Result<()> {
        self.store_instruction(ptr, value, access).map(drop)
    }

    /// Stores `value` at `ptr` and returns the store.
    #[track_caller]
    pub fn store_instruction(
        &self,
        ptr: PointerValue<'ctx>,
        value: BasicValueEnum<'ctx>,
        access: Access,
    ) -> Result<InstructionValue<'ctx>> {
        let instruction = check(self.b.build_store(ptr, value))?;
        self.annotate(instruction, access)?;
        Ok(instruction)
    }

    /// Marks `access`, a load or store of linear memory `memory`, as one
    /// that needs a bounds check ([`ACCESS`]), and makes it `volatile`
    /// until the check is there: no pass may delete it before (CFG
    /// simplification deletes a load whose value only fed a branch it
    /// folded, and its trap would go with it).
    pub fn mark_access(&self, access: InstructionValue<'ctx>, memory: u32) -> Result<()> {
        access.set_volatile(true).map_err(|e| CompileError::internal(format_args!("volatile: {e}")))?;
        let mark = self.types.context.metadata_node(&[self.types.i32.const_int(memory.into(), false).into()]);
        self.set_metadata(access, mark, self.tags.access_kind)
    }

    /// Loads a `ty` at `base + offset`.
    #[track_caller]
    pub fn load_field(
        &self,
        base: PointerValue<'ctx>,
        offset: u32,
        ty: BasicTypeEnum<'ctx>,
        access: Access,
    ) -> Result<BasicValueEnum<'ctx>> {
        self.load(ty, self.const_offset(base, offset.into())?, access)
    }

    /// Loads the pointer at `base + offset`.
    #[track_caller]
    pub fn load_ptr_field(&self, base: PointerValue<'ctx>, offset: u32, access: Access) -> Result<PointerValue<'ctx>> {
        Ok(self.load_field(base, offset, self.types.ptr.into(), access)?.into_pointer_value())
    }

    /// Loads the pointer-sized integer at `base + offset`.
    #[track_caller]
    pub fn load_intptr_field(&self, base: PointerValue<'ctx>, offset: u32, access: Access) -> Result<IntValue<'ctx>> {
        Ok(self.load_field(base, offset, self.types.intptr.into(), access)?.into_int_value())
    }

    #[track_caller]
    fn annotate(&self, instruction: InstructionValue<'ctx>, access: Access) -> Result<()> {
        if access == Access::Heap {
            instruction.set_alignment(1).map_err(|e| CompileError::internal(format_args!("alignment: {e}")))?;
        }
        self.set_tbaa(instruction, access)
    }

    /// `index + end > length`, marked as a bounds check ([`BOUNDS_CHECK`]):
    /// whether an access of the bytes `[index + end - size, index + end)`
    /// of a memory `length` bytes long is out of bounds. `index` is the
    /// zero-extended wasm `i32` address; `end` (the access's static offset
    /// plus its size) and `length` are `i64`.
    #[track_caller]
    pub fn bounds_check(&self, index: IntValue<'ctx>, end: u64, length: IntValue<'ctx>) -> Result<IntValue<'ctx>> {
        let last = check(self.b.build_int_nuw_add(index, self.types.i64.const_int(end, false), ""))?;
        let out_of_bounds = self.icmp(IntPredicate::UGT, last, length)?;
        // Constant operands fold to a constant, which needs no mark.
        if let Some(instruction) = out_of_bounds.as_instruction() {
            self.set_metadata(instruction, self.tags.empty, self.tags.bounds_kind)?;
        }
        Ok(out_of_bounds)
    }

    /// [`Self::bounds_check`] for an access of a 64-bit memory, whose `i64`
    /// `index` is any value, so `index + end` may wrap: `end > length ||
    /// index > length - end`, each comparison marked. A 64-bit memory is
    /// shorter than 2^63 bytes (`kiln_abi::WASM64_MEMORY_LIMIT_PAGES`), so
    /// an `end` of 2^63 or more is always out of bounds, and every `end`
    /// compared is a non-negative `i64`, as the passes that read checks
    /// back take it to be.
    #[track_caller]
    pub fn bounds_check64(&self, index: IntValue<'ctx>, end: u64, length: IntValue<'ctx>) -> Result<IntValue<'ctx>> {
        if end >= 1 << 63 {
            return Ok(self.types.context.bool_type().const_all_ones());
        }
        let end = self.types.i64.const_int(end, false);
        let too_long = self.icmp(IntPredicate::UGT, end, length)?;
        let room = self.int_sub(length, end)?;
        let too_far = self.icmp(IntPredicate::UGT, index, room)?;
        for compare in [too_long, too_far] {
            if let Some(instruction) = compare.as_instruction() {
                self.set_metadata(instruction, self.tags.empty, self.tags.bounds_kind)?;
            }
        }
        self.or(too_long, too_far)
    }

    /// Tags `instruction` with the TBAA type of `access`.
    #[track_caller]
    fn set_tbaa(&self, instruction: InstructionValue<'ctx>, access: Access) -> Result<()> {
        match self.tags.tag(access) {
            Some(tag) => self.set_metadata(instruction, tag, self.tags.tbaa_kind),
            None => Ok(()),
        }
    }

    #[track_caller]
    fn set_metadata(&self, instruction: InstructionValue<'ctx>, md: MetadataValue<'ctx>, kind: u32) -> Result<()> {
        instruction.set_metadata(md, kind).map_err(|e| CompileError::internal(format_args!("metadata: {e}")))
    }

    /// Copies `len` bytes from `src` to `dst`, which may overlap, with
    /// `llvm.memmove`. Both ranges must already be checked to be in
    /// bounds: the call may end up in libc, where a fault is not a trap.
    #[track_caller]
    pub fn memmove(
        &self,
        dst: PointerValue<'ctx>,
        src: PointerValue<'ctx>,
        len: IntValue<'ctx>,
        align: u32,
        access: Access,
    ) -> Result<()> {
        let call = check(self.b.build_memmove(dst, align, src, align, len))?;
        self.set_tbaa(intrinsic_call(call)?, access)
    }

    /// Sets `len` bytes at `dst` to the `i8` `value` with `llvm.memset`;
    /// the range must already be checked (see [`Self::memmove`]).
    #[track_caller]
    pub fn memset(
        &self,
        dst: PointerValue<'ctx>,
        value: IntValue<'ctx>,
        len: IntValue<'ctx>,
        align: u32,
        access: Access,
    ) -> Result<()> {
        let call = check(self.b.build_memset(dst, align, value, len))?;
        self.set_tbaa(intrinsic_call(call)?, access)
    }

    /// A stack slot in the current block (callers position at the entry
    /// block, where `mem2reg` can promote it).
    #[track_caller]
    pub fn alloca(&self, ty: BasicTypeEnum<'ctx>, name: &str) -> Result<PointerValue<'ctx>> {
        check(self.b.build_alloca(ty, name))
    }

    /// Loads one value per type from consecutive `ValRaw` slots at `slots`.
    #[track_caller]
    pub fn load_slots(
        &self,
        slots: PointerValue<'ctx>,
        types: &[BasicTypeEnum<'ctx>],
    ) -> Result<Vec<BasicValueEnum<'ctx>>> {
        let mut values = Vec::with_capacity(types.len());
        for (i, &ty) in types.iter().enumerate() {
            values.push(self.load(
                ty,
                self.const_offset(slots, i as u64 * u64::from(VAL_RAW_SIZE))?,
                Access::ValRaw,
            )?);
        }
        Ok(values)
    }

    /// Stores `values` into consecutive `ValRaw` slots at `slots`.
    #[track_caller]
    pub fn store_slots(&self, slots: PointerValue<'ctx>, values: &[BasicValueEnum<'ctx>]) -> Result<()> {
        for (i, &value) in values.iter().enumerate() {
            self.store(self.const_offset(slots, i as u64 * u64::from(VAL_RAW_SIZE))?, value, Access::ValRaw)?;
        }
        Ok(())
    }

    /// Marks the start of the lifetime of the `bytes`-byte stack slot
    /// `slot`, so code generation may share its storage with slots whose
    /// lifetimes do not overlap.
    #[track_caller]
    pub fn lifetime_start(&self, slot: PointerValue<'ctx>, bytes: u32) -> Result<()> {
        self.lifetime_marker("llvm.lifetime.start", slot, bytes)
    }

    /// Marks the end of the lifetime of a slot (see [`Self::lifetime_start`]).
    #[track_caller]
    pub fn lifetime_end(&self, slot: PointerValue<'ctx>, bytes: u32) -> Result<()> {
        self.lifetime_marker("llvm.lifetime.end", slot, bytes)
    }

    #[track_caller]
    fn lifetime_marker(&self, name: &str, slot: PointerValue<'ctx>, bytes: u32) -> Result<()> {
        let intrinsic = self.intrinsic(name, &[self.types.ptr.into()])?;
        let size = self.types.i64.const_int(u64::from(bytes), false);
        check(self.b.build_direct_call(intrinsic, &[size.into(), slot.into()], "")).map(drop)
    }

    /// A stack slot of `bytes` bytes aligned to `align`.
    #[track_caller]
    pub fn alloca_bytes(&self, bytes: u32, align: u32, name: &str) -> Result<PointerValue<'ctx>> {
        let slot = self.alloca(self.types.i8.array_type(bytes).into(), name)?;
        let instruction = slot.as_instruction().ok_or_else(|| CompileError::internal("alloca folded away"))?;
        instruction.set_alignment(align).map_err(|e| CompileError::internal(format_args!("alignment: {e}")))?;
        Ok(slot)
    }

    // ---- calls ----

    #[track_caller]
    pub fn call(&self, function: FunctionValue<'ctx>, args: &[BasicValueEnum<'ctx>]) -> Result<CallSiteValue<'ctx>> {
        let args: Vec<BasicMetadataValueEnum> = args.iter().map(|&a| a.into()).collect();
        check(self.b.build_direct_call(function, &args, ""))
    }

    #[track_caller]
    pub fn call_indirect(
        &self,
        ty: FunctionType<'ctx>,
        callee: PointerValue<'ctx>,
        args: &[BasicValueEnum<'ctx>],
    ) -> Result<CallSiteValue<'ctx>> {
        let args: Vec<BasicMetadataValueEnum> = args.iter().map(|&a| a.into()).collect();
        check(self.b.build_indirect_call(ty, callee, &args, ""))
    }

    /// Makes `pad` the landing pad of the calls [`Self::call_may_throw`]
    /// emits from now on (`None`: they are plain calls); returns the
    /// previous one.
    pub fn set_unwind(&self, pad: Option<BasicBlock<'ctx>>) -> Option<BasicBlock<'ctx>> {
        self.unwind.replace(pad)
    }

    /// A call that may unwind (a wasm call, `throw_ref`): inside a `try`,
    /// an `invoke` whose normal edge goes to a new block, where the builder
    /// continues; elsewhere a plain call. `callee` is a function or, with
    /// its type, a pointer.
    #[track_caller]
    pub fn call_may_throw(
        &self,
        callee: Result<FunctionValue<'ctx>, (FunctionType<'ctx>, PointerValue<'ctx>)>,
        args: &[BasicValueEnum<'ctx>],
    ) -> Result<CallSiteValue<'ctx>> {
        let Some(pad) = self.unwind.get() else {
            return match callee {
                Ok(function) => self.call(function, args),
                Err((ty, pointer)) => self.call_indirect(ty, pointer, args),
            };
        };
        let cont = self.append_block("invoke.cont")?;
        let call = match callee {
            Ok(function) => check(self.b.build_invoke(function, args, cont, pad, "")),
            Err((ty, pointer)) => check(self.b.build_indirect_invoke(ty, pointer, args, cont, pad, "")),
        }?;
        self.position_at_end(cont);
        Ok(call)
    }

    /// The `landingpad` that starts a landing pad block (a cleanup: kiln's
    /// landing pads look at every exception themselves), returning the
    /// exception pointer the unwinder passes.
    #[track_caller]
    pub fn landing_pad(&self, personality: FunctionValue<'ctx>) -> Result<PointerValue<'ctx>> {
        let ty = self.types.context.struct_type(&[self.types.ptr.into(), self.types.i32.into()], false);
        let pad = check(self.b.build_landing_pad(ty, personality, &[], true, "pad"))?;
        let exn = check(self.b.build_extract_value(pad.into_struct_value(), 0, "exn"))?;
        Ok(exn.into_pointer_value())
    }

    /// The declaration of intrinsic `name` overloaded on `types`.
    #[track_caller]
    pub fn intrinsic(&self, name: &str, types: &[BasicTypeEnum<'ctx>]) -> Result<FunctionValue<'ctx>> {
        Intrinsic::find(name)
            .and_then(|i| i.get_declaration(self.module, types))
            .ok_or_else(|| CompileError::internal(format_args!("LLVM has no intrinsic {name}")))
    }

    /// Calls an intrinsic that returns a value.
    #[track_caller]
    pub fn call_intrinsic(
        &self,
        name: &str,
        types: &[BasicTypeEnum<'ctx>],
        args: &[BasicMetadataValueEnum<'ctx>],
    ) -> Result<BasicValueEnum<'ctx>> {
        let call = check(self.b.build_direct_call(self.intrinsic(name, types)?, args, ""))?;
        call.try_as_basic_value().basic().ok_or_else(|| CompileError::internal(format_args!("{name} returned void")))
    }

    /// The value a call returned, if its function returns one.
    pub fn call_result(&self, call: CallSiteValue<'ctx>) -> Option<BasicValueEnum<'ctx>> {
        call.try_as_basic_value().basic()
    }

    // ---- vectors ----

    /// Lane-wise integer comparison, one `i1` per lane.
    #[track_caller]
    pub fn lanes_icmp(
        &self,
        pred: IntPredicate,
        lhs: VectorValue<'ctx>,
        rhs: VectorValue<'ctx>,
    ) -> Result<VectorValue<'ctx>> {
        check(self.b.build_int_compare(pred, lhs, rhs, ""))
    }

    /// Lane-wise shift right, arithmetic (`signed`) or logical.
    #[track_caller]
    pub fn lanes_shr(&self, lhs: VectorValue<'ctx>, rhs: VectorValue<'ctx>, signed: bool) -> Result<VectorValue<'ctx>> {
        check(self.b.build_right_shift(lhs, rhs, signed, ""))
    }

    /// Bitwise complement of every lane.
    #[track_caller]
    pub fn lanes_not(&self, value: VectorValue<'ctx>) -> Result<VectorValue<'ctx>> {
        check(self.b.build_not(value, ""))
    }

    /// Lane-wise float negation (a sign-bit flip).
    #[track_caller]
    pub fn lanes_fneg(&self, value: VectorValue<'ctx>) -> Result<VectorValue<'ctx>> {
        check(self.b.build_float_neg(value, ""))
    }

    /// Converts every lane of `value` to the lanes of `ty` (same lane
    /// count). Float-to-int casts are poison out of range: callers clamp
    /// first.
    #[track_caller]
    pub fn lanes_cast(
        &self,
        value: VectorValue<'ctx>,
        ty: VectorType<'ctx>,
        cast: LaneCast,
    ) -> Result<VectorValue<'ctx>> {
        let b = &self.b;
        check(match cast {
            LaneCast::SignExtend => b.build_int_s_extend(value, ty, ""),
            LaneCast::ZeroExtend => b.build_int_z_extend(value, ty, ""),
            LaneCast::Truncate => b.build_int_truncate(value, ty, ""),
            LaneCast::FloatToUnsigned => b.build_float_to_unsigned_int(value, ty, ""),
            LaneCast::SignedToFloat => b.build_signed_int_to_float(value, ty, ""),
            LaneCast::UnsignedToFloat => b.build_unsigned_int_to_float(value, ty, ""),
            LaneCast::FloatExtend => b.build_float_ext(value, ty, ""),
            LaneCast::FloatTruncate => b.build_float_trunc(value, ty, ""),
        })
    }

    /// Lane `lane` of `vector`.
    #[track_caller]
    pub fn extract_lane(&self, vector: VectorValue<'ctx>, lane: u32) -> Result<BasicValueEnum<'ctx>> {
        check(self.b.build_extract_element(vector, self.i32_const(lane as i32), ""))
    }

    /// `vector` with lane `lane` replaced by `value`.
    #[track_caller]
    pub fn insert_lane(
        &self,
        vector: VectorValue<'ctx>,
        value: BasicValueEnum<'ctx>,
        lane: u32,
    ) -> Result<VectorValue<'ctx>> {
        check(self.b.build_insert_element(vector, value, self.i32_const(lane as i32), ""))
    }

    /// `shufflevector`: lane `i` of the result is lane `mask[i]` of the
    /// concatenation of `lhs` and `rhs`.
    #[track_caller]
    pub fn shuffle(&self, lhs: VectorValue<'ctx>, rhs: VectorValue<'ctx>, mask: &[u32]) -> Result<VectorValue<'ctx>> {
        let mask: Vec<IntValue> = mask.iter().map(|&i| self.i32_const(i as i32)).collect();
        check(self.b.build_shuffle_vector(lhs, rhs, VectorType::const_vector(&mask), ""))
    }

    /// A vector of `lanes` copies of the scalar `value`.
    #[track_caller]
    pub fn splat(&self, value: BasicValueEnum<'ctx>, lanes: u32) -> Result<VectorValue<'ctx>> {
        let ty = match value {
            BasicValueEnum::IntValue(v) => v.get_type().vec_type(lanes),
            BasicValueEnum::FloatValue(v) => v.get_type().vec_type(lanes),
            other => return Err(CompileError::internal(format_args!("splat of {other:?}"))),
        };
        let single = self.insert_lane(ty.get_poison(), value, 0)?;
        self.shuffle(single, ty.get_poison(), &vec![0; lanes as usize])
    }

    // ---- control flow ----

    #[track_caller]
    pub fn br(&self, target: BasicBlock<'ctx>) -> Result<()> {
        check(self.b.build_unconditional_branch(target)).map(drop)
    }

    #[track_caller]
    pub fn cond_br(&self, cond: IntValue<'ctx>, then: BasicBlock<'ctx>, otherwise: BasicBlock<'ctx>) -> Result<()> {
        check(self.b.build_conditional_branch(cond, then, otherwise)).map(drop)
    }

    /// A conditional branch that goes to `then` nearly always (`prof`
    /// weights 2000 : 1), for a test that picks a fast path.
    #[track_caller]
    pub fn cond_br_likely(&self, cond: IntValue<'ctx>, then: BasicBlock<'ctx>, otherwise: BasicBlock<'ctx>) -> Result<()> {
        self.cond_br_hinted(cond, then, otherwise, Some(true))
    }

    /// A conditional branch whose condition is likely true (`Some(true)`),
    /// likely false (`Some(false)`) or not known to be either (`None`):
    /// branch weights of 2000 to 1, what clang gives `__builtin_expect`.
    #[track_caller]
    pub fn cond_br_hinted(
        &self,
        cond: IntValue<'ctx>,
        then: BasicBlock<'ctx>,
        otherwise: BasicBlock<'ctx>,
        likely: Option<bool>,
    ) -> Result<()> {
        let branch = check(self.b.build_conditional_branch(cond, then, otherwise))?;
        let Some(likely) = likely else { return Ok(()) };
        let (then_weight, otherwise_weight) = if likely { (2000, 1) } else { (1, 2000) };
        let context = self.types.context;
        let weights = context.metadata_node(&[
            context.metadata_string("branch_weights").into(),
            self.types.i32.const_int(then_weight, false).into(),
            self.types.i32.const_int(otherwise_weight, false).into(),
        ]);
        self.set_metadata(branch, weights, context.get_kind_id("prof"))
    }

    /// Raises trap `code`: calls the `raise_trap` builtin (found at
    /// `slot` of the builtin table, whose address is at `builtins` of
    /// `vmctx`) and ends the block, which must be cold. The table is loaded
    /// here rather than in the entry block, so that the fast path needs no
    /// register for it.
    pub fn raise_trap(&self, vmctx: PointerValue<'ctx>, builtins: u32, slot: u32, code: u32) -> Result<()> {
        let table = self.load_ptr_field(vmctx, builtins, Access::Invariant)?;
        let callee = self.load_ptr_field(table, slot, Access::Invariant)?;
        let ty = self.types.fn_type(&[self.types.ptr.into(), self.types.i32.into()], None);
        let call = self.call_indirect(ty, callee, &[vmctx.into(), self.types.i32.const_int(code.into(), false).into()])?;
        for attribute in ["nounwind", "noreturn", "cold"] {
            call.add_attribute(AttributeLoc::Function, self.types.attribute(attribute));
        }
        self.unreachable()
    }

    #[track_caller]
    pub fn switch(
        &self,
        value: IntValue<'ctx>,
        default: BasicBlock<'ctx>,
        cases: &[(IntValue<'ctx>, BasicBlock<'ctx>)],
    ) -> Result<()> {
        check(self.b.build_switch(value, default, cases)).map(drop)
    }

    #[track_caller]
    pub fn unreachable(&self) -> Result<()> {
        check(self.b.build_unreachable()).map(drop)
    }

    #[track_caller]
    pub fn phi(&self, ty: BasicTypeEnum<'ctx>) -> Result<PhiValue<'ctx>> {
        check(self.b.build_phi(ty, ""))
    }

    /// Returns from the function, with `value` or nothing.
    #[track_caller]
    pub fn ret(&self, value: Option<BasicValueEnum<'ctx>>) -> Result<()> {
        check(self.b.build_return(value.as_ref().map(|v| v as &dyn BasicValue))).map(drop)
    }
}

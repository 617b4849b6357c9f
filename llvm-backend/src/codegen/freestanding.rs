//! What a C library would provide, for targets where a kiln library may
//! not import anything.
//!
//! A Windows DLL from kiln links no C runtime (no SDK is needed to build
//! it, and it has no import table at all), yet code generation still
//! calls a few functions by name:
//!
//! * `memcpy`, `memmove` and `memset`, for `llvm.memcpy`/`memmove`/
//!   `memset` of unknown length (bulk memory, table copies);
//! * `__chkstk`, the Win64 stack probe, before allocating a frame larger
//!   than a page: Windows commits stack pages one at a time as a guard
//!   page is touched, so a frame must be touched page by page, top down.
//!
//! This module defines them in the module itself. They are never exported
//! (the linker exports only kiln's two symbols), so they cannot clash
//! with the host's C runtime. The memory functions are plain byte loops
//! marked `no-builtins`, so LLVM never turns them back into calls of
//! themselves; `__chkstk` is module-level assembly, since it has its own
//! convention (size in `rax`, every register preserved, the stack pointer
//! left alone), as in compiler-rt.

use super::builder::{Access, FnBuilder, Tags, Types};
use crate::error::{CompileError, Result};
use inkwell::IntPredicate;
use inkwell::attributes::AttributeLoc;
use inkwell::module::{Linkage, Module};
use inkwell::types::FunctionType;
use inkwell::values::{BasicValueEnum, FunctionValue, IntValue, PointerValue};

/// The Win64 stack probe: touches every page from the current stack
/// pointer down to `rsp - rax`.
const CHKSTK_X86_64: &str = "\
.text
.globl __chkstk
.p2align 4
__chkstk:
  pushq %rcx
  pushq %rax
  cmpq $0x1000, %rax
  leaq 24(%rsp), %rcx
  jb 1f
2:
  subq $0x1000, %rcx
  testq %rcx, (%rcx)
  subq $0x1000, %rax
  cmpq $0x1000, %rax
  ja 2b
1:
  subq %rax, %rcx
  testq %rcx, (%rcx)
  popq %rax
  popq %rcx
  retq
";

/// Defines `memcpy`, `memmove`, `memset` and `__chkstk` in `module`.
pub(super) fn emit<'ctx>(module: &Module<'ctx>, types: Types<'ctx>) -> Result<()> {
    let b = FnBuilder::new(types, Tags::new(&types), module);
    let (ptr, int) = (types.ptr.into(), types.intptr.into());
    let copy_type = types.ptr.fn_type(&[ptr, ptr, int], false);
    let one = types.intptr.const_int(1, false);
    let copy_byte = |dst: PointerValue<'ctx>, src: PointerValue<'ctx>, at: IntValue<'ctx>| {
        let byte = b.load(types.i8.into(), b.byte_offset(src, at)?, Access::Local)?;
        b.store(b.byte_offset(dst, at)?, byte, Access::Local)
    };

    let memcpy = define(&b, module, "memcpy", copy_type)?;
    let (dst, src, len) = (pointer(memcpy, 0)?, pointer(memcpy, 1)?, integer(memcpy, 2)?);
    byte_loop(&b, len, |i| copy_byte(dst, src, i))?;
    b.ret(Some(dst.into()))?;

    let memmove = define(&b, module, "memmove", copy_type)?;
    let (dst, src, len) = (pointer(memmove, 0)?, pointer(memmove, 1)?, integer(memmove, 2)?);
    // Forward unless `dst` lies inside `(src, src + len)`: there a forward
    // copy would overwrite bytes before reading them.
    let distance = b.int_sub(b.ptr_to_int(dst)?, b.ptr_to_int(src)?)?;
    let forward = b.icmp(IntPredicate::UGE, distance, len)?;
    let (forward_block, backward_block) = (b.append_block("forward")?, b.append_block("backward")?);
    b.cond_br(forward, forward_block, backward_block)?;
    b.position_at_end(forward_block);
    byte_loop(&b, len, |i| copy_byte(dst, src, i))?;
    b.ret(Some(dst.into()))?;
    b.position_at_end(backward_block);
    byte_loop(&b, len, |i| copy_byte(dst, src, b.int_sub(b.int_sub(len, i)?, one)?))?;
    b.ret(Some(dst.into()))?;

    let memset = define(&b, module, "memset", types.ptr.fn_type(&[ptr, types.i32.into(), int], false))?;
    let (dst, value, len) = (pointer(memset, 0)?, integer(memset, 1)?, integer(memset, 2)?);
    let byte = b.trunc(value, types.i8)?;
    byte_loop(&b, len, |i| b.store(b.byte_offset(dst, i)?, byte.into(), Access::Local))?;
    b.ret(Some(dst.into()))?;

    module.set_inline_assembly(CHKSTK_X86_64);
    Ok(())
}

/// Adds the external function `name` and positions `b` in its entry block.
fn define<'ctx>(
    b: &FnBuilder<'_, 'ctx>,
    module: &Module<'ctx>,
    name: &str,
    ty: FunctionType<'ctx>,
) -> Result<FunctionValue<'ctx>> {
    let function = module.add_function(name, ty, Some(Linkage::External));
    function.add_attribute(AttributeLoc::Function, b.types.attribute("nounwind"));
    function.add_attribute(AttributeLoc::Function, b.types.context.create_string_attribute("no-builtins", ""));
    b.position_at_end(b.types.context.append_basic_block(function, "entry"));
    Ok(function)
}

fn pointer<'ctx>(function: FunctionValue<'ctx>, index: u32) -> Result<PointerValue<'ctx>> {
    match function.get_nth_param(index) {
        Some(BasicValueEnum::PointerValue(p)) => Ok(p),
        _ => Err(CompileError::internal(format_args!("parameter {index} is not a pointer"))),
    }
}

fn integer<'ctx>(function: FunctionValue<'ctx>, index: u32) -> Result<IntValue<'ctx>> {
    match function.get_nth_param(index) {
        Some(BasicValueEnum::IntValue(i)) => Ok(i),
        _ => Err(CompileError::internal(format_args!("parameter {index} is not an integer"))),
    }
}

/// Runs `body(i)` for `i` in `0..len` and leaves `b` after the loop.
fn byte_loop<'ctx>(
    b: &FnBuilder<'_, 'ctx>,
    len: IntValue<'ctx>,
    body: impl Fn(IntValue<'ctx>) -> Result<()>,
) -> Result<()> {
    let zero = b.types.intptr.const_zero();
    let (header, loop_block, done) = (b.current_block()?, b.append_block("loop")?, b.append_block("done")?);
    b.cond_br(b.icmp(IntPredicate::EQ, len, zero)?, done, loop_block)?;
    b.position_at_end(loop_block);
    let i = b.phi(b.types.intptr.into())?;
    let index = i.as_basic_value().into_int_value();
    body(index)?;
    let next = b.int_add(index, b.types.intptr.const_int(1, false))?;
    i.add_incoming(&[(&zero, header), (&next, b.current_block()?)]);
    b.cond_br(b.icmp(IntPredicate::EQ, next, len)?, done, loop_block)?;
    b.position_at_end(done);
    Ok(())
}

//! Trampolines and the exported function table.
//!
//! The runtime never calls a wasm function by its native signature: it
//! does not know the signature at compile time of the runtime. Instead,
//! per module type, kiln emits
//!
//! * an **array-call trampoline**
//!   `void(ptr callee_vmctx, ptr caller_vmctx, ptr wasm_call, ptr values)`:
//!   reads the parameters from `values`, an array of 16-byte `ValRaw`
//!   slots (each value little-endian from its slot's start), calls
//!   `wasm_call` with the native signature and leaves the results in the
//!   slots from slot 0. The caller sizes the array for max(params,
//!   results). A single result comes back in a register and is stored
//!   into slot 0; with several, `values` itself is the callee's return
//!   area (same layout), so the callee stores them in place;
//! * a **wasm-to-host trampoline** with the native wasm signature, whose
//!   first argument is a host function context instead of a vmctx: it
//!   spills the arguments into a `ValRaw` array on its stack, calls the
//!   host's `array_call(host_ctx, caller_vmctx, values, len: usize) -> i32`
//!   and, when that returns a nonzero trap code, raises the trap through
//!   the *caller's* builtin table; otherwise it returns the result the
//!   host left in the array, or copies several into the return area its
//!   caller passed (the host's array also carries the parameters and may
//!   have more slots than the area).
//!
//! The library exports one symbol the runtime looks up: a constant array of
//! pointers to the escaping functions and all trampolines, in the order
//! [`super::function_table`] chose and recorded in the metadata.
//! Everything it points to has internal linkage. For a static archive the
//! table ends with the addresses of two symbols the linker defines at the
//! bounds of the code section ([`symbols::CODE_START`], [`symbols::CODE_END`]),
//! which tell the runtime where a statically linked module's code lies.

use super::builder::{Access, FnBuilder};
use super::{Callee, ModuleCx, TableEntry};
use crate::error::{CompileError, Result};
use inkwell::attributes::AttributeLoc;
use inkwell::module::Linkage;
use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicValueEnum, FunctionValue, PointerValue};
use inkwell::{GlobalVisibility, IntPredicate};
use kiln_abi::{Builtin, VAL_RAW_SIZE, symbols};

/// Emits every trampoline the table needs and the table itself.
pub(super) fn emit(
    cx: &ModuleCx,
    table: &[TableEntry],
    symbol_prefix: Option<&str>,
    static_library: bool,
) -> Result<()> {
    let mut pointers = table
        .iter()
        .map(|entry| {
            let function = match *entry {
                TableEntry::Function(index) => cx.functions[index as usize]
                    .ok_or_else(|| CompileError::internal(format_args!("function {index} is not defined")))?,
                TableEntry::ArrayCall(ty) => array_call(cx, ty)?,
                TableEntry::WasmToHost(ty) => wasm_to_host(cx, ty)?,
            };
            Ok(function.as_global_value().as_pointer_value())
        })
        .collect::<Result<Vec<PointerValue>>>()?;
    if static_library {
        for name in [symbols::CODE_START, symbols::CODE_END] {
            let marker = cx.module.add_global(cx.types.context.i8_type(), None, name);
            marker.set_linkage(Linkage::External);
            pointers.push(marker.as_pointer_value());
        }
    }
    let array = cx.types.ptr.array_type(pointers.len() as u32);
    let global = cx.module.add_global(array, None, &symbols::functions_symbol(symbol_prefix));
    global.set_initializer(&cx.types.ptr.const_array(&pointers));
    global.set_constant(true);
    global.set_linkage(Linkage::External);
    global.set_visibility(GlobalVisibility::Default);
    global.set_alignment(cx.offsets.ptr_size().bytes());
    Ok(())
}

/// Declares an internal trampoline and positions a builder in its body.
fn begin<'a, 'ctx>(
    cx: &'a ModuleCx<'a, 'ctx>,
    name: &str,
    ty: inkwell::types::FunctionType<'ctx>,
) -> (FunctionValue<'ctx>, FnBuilder<'a, 'ctx>) {
    let function = cx.module.add_function(name, ty, Some(Linkage::Internal));
    if !cx.may_unwind {
        function.add_attribute(AttributeLoc::Function, cx.types.attribute("nounwind"));
    }
    let b = FnBuilder::new(cx.types, cx.tags, cx.module);
    b.position_at_end(cx.types.context.append_basic_block(function, "entry"));
    (function, b)
}

fn param<'ctx>(function: FunctionValue<'ctx>, index: u32) -> Result<BasicValueEnum<'ctx>> {
    function.get_nth_param(index).ok_or_else(|| CompileError::internal(format_args!("missing parameter {index}")))
}

/// The value types of a module type, as LLVM types.
fn value_types<'ctx>(cx: &ModuleCx<'_, 'ctx>, types: &[kiln_abi::ValType]) -> Result<Vec<BasicTypeEnum<'ctx>>> {
    types.iter().map(|&t| cx.val_type(t)).collect()
}

fn array_call<'ctx>(cx: &ModuleCx<'_, 'ctx>, type_index: u32) -> Result<FunctionValue<'ctx>> {
    let signature = &cx.env.meta.types[type_index as usize].ty;
    let ptr = cx.types.ptr.into();
    let ty = cx.types.fn_type(&[ptr, ptr, ptr, ptr], None);
    let (function, b) = begin(cx, &symbols::array_call_trampoline(type_index), ty);
    let values = param(function, 3)?.into_pointer_value();
    let mut args = vec![param(function, 0)?, param(function, 1)?];
    args.extend(b.load_slots(values, &value_types(cx, &signature.params)?)?);
    let callee = Callee::Indirect(param(function, 2)?.into_pointer_value());
    let area = kiln_abi::uses_return_area(signature.results.len()).then_some(values);
    let call = cx.call_wasm(&b, type_index, callee, &args, area)?;
    if area.is_none() {
        b.store_slots(values, &Vec::from_iter(b.call_result(call)))?;
    }
    b.ret(None)?;
    Ok(function)
}

fn wasm_to_host<'ctx>(cx: &ModuleCx<'_, 'ctx>, type_index: u32) -> Result<FunctionValue<'ctx>> {
    let signature = &cx.env.meta.types[type_index as usize].ty;
    let (function, b) = begin(cx, &symbols::wasm_to_host_trampoline(type_index), cx.signatures[type_index as usize]);
    super::mark_return_area(&cx.types, function, signature);
    let host_ctx = param(function, 0)?.into_pointer_value();
    let caller_vmctx = param(function, 1)?.into_pointer_value();
    let slots = signature.params.len().max(signature.results.len()).max(1) as u32;
    let values = b.alloca_bytes(slots * VAL_RAW_SIZE, VAL_RAW_SIZE, "values")?;
    let args = (0..signature.params.len() as u32).map(|i| param(function, i + 2)).collect::<Result<Vec<_>>>()?;
    b.store_slots(values, &args)?;

    let ptr = cx.types.ptr.into();
    let host_ty = cx.types.fn_type(&[ptr, ptr, ptr, cx.types.intptr.into()], Some(cx.types.i32.into()));
    let host_fn = b.load_ptr_field(host_ctx, cx.offsets.host_func_context_array_call(), Access::Invariant)?;
    let len = cx.types.intptr.const_int(u64::from(slots), false);
    let call = b.call_indirect(host_ty, host_fn, &[host_ctx.into(), caller_vmctx.into(), values.into(), len.into()])?;
    let code = b.call_result(call).ok_or_else(|| CompileError::internal("host call returned nothing"))?;
    let code = code.into_int_value();
    let failed = b.icmp(IntPredicate::NE, code, cx.types.i32.const_zero())?;
    let trap = cx.types.context.append_basic_block(function, "trap");
    let done = cx.types.context.append_basic_block(function, "done");
    b.cond_br(failed, trap, done)?;

    b.position_at_end(trap);
    let builtins = b.load_ptr_field(caller_vmctx, cx.offsets.builtins(), Access::Invariant)?;
    cx.call_builtin(&b, builtins, Builtin::raise_trap, &[caller_vmctx.into(), code.into()])?;

    b.position_at_end(done);
    let results = b.load_slots(values, &value_types(cx, &signature.results)?)?;
    match results.as_slice() {
        [] => b.ret(None)?,
        [single] => b.ret(Some(*single))?,
        several => {
            let area = param(function, function.count_params() - 1)?.into_pointer_value();
            b.store_slots(area, several)?;
            b.ret(None)?;
        }
    }
    Ok(function)
}

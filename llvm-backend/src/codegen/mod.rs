//! Building the LLVM module for a wasm module.
//!
//! The module holds, besides one internal function per defined wasm
//! function (see [`crate::translate`]), the per-signature trampolines and
//! the exported function table ([`trampolines`]). This file owns the
//! module-wide facts every function needs: LLVM types, TBAA tags, the VM
//! context layout for the target's pointer size, each signature's native
//! function type, and the declarations of all defined functions (made up
//! front so calls can refer to functions not yet translated).
//!
//! # Calling convention
//!
//! A wasm function of type `[p...] -> [r...]` is, in the target's C calling
//! convention, the native function
//!
//! * `(ptr vmctx, ptr caller_vmctx, p...) -> void` with no result,
//! * `(ptr vmctx, ptr caller_vmctx, p...) -> r` with one result, and
//! * `(ptr vmctx, ptr caller_vmctx, p..., ptr results) -> void` with
//!   several: `results` points to a *return area* the caller provides,
//!   16-byte aligned, one 16-byte slot per result, result `i` stored
//!   little-endian from the start of slot `i` — the layout of a `ValRaw`
//!   array (`kiln_abi::VAL_RAW_SIZE`, `kiln_abi::RETURN_AREA_ALIGN`).
//!
//! Every kiln-compiled object derives the signature from the wasm type
//! alone, so they all agree. Several results never come back as an LLVM
//! struct: the C convention decides where a struct's fields travel, and on
//! x86-64 a third float result would come back in the x87 `ST0`, whose
//! loads quiet signalling NaNs (a wasm result must keep every bit).
//! Through memory, each result is a plain store and load.
//!
//! Callers ([`crate::translate`]) allocate the area in their entry block,
//! bracket the call with lifetime markers (so non-overlapping areas share
//! stack) and load the results right after the call; once LLVM inlines the
//! callee, SROA turns the stores and loads back into SSA values and the
//! area disappears. The array-call trampoline passes its `values` array as
//! the area, so the callee writes the results straight where the runtime
//! reads them; the wasm-to-host trampoline copies the host's results into
//! the area it was given. The area parameter is `noalias`, `nocapture`,
//! `noundef`, aligned and dereferenceable, at definitions and call sites.
//!
//! Defined functions have internal linkage; LLVM switches those whose
//! address is never taken to `fastcc` and inlines across them freely.

pub(crate) mod builder;
mod fold;
mod freestanding;
mod trampolines;

use crate::environ::ModuleEnv;
use crate::error::{CompileError, Result};
use crate::target::{TargetSetup, VectorIsa};
use builder::{Access, FnBuilder, Tags, Types};
use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::types::{BasicTypeEnum, FunctionType};
use inkwell::values::{BasicValueEnum, CallSiteValue, FunctionValue, PointerValue};
use kiln_abi::builtins::AbiType;
use kiln_abi::{Builtin, FuncType, RETURN_AREA_ALIGN, VAL_RAW_SIZE, VMOffsets, ValType, symbols};

/// Fixed name of every LLVM module, so output never depends on file names.
const MODULE_NAME: &str = "kiln";

/// One entry of the exported function table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TableEntry {
    /// The native entry point of a defined function.
    Function(u32),
    /// The array-call trampoline of a module type.
    ArrayCall(u32),
    /// The wasm-to-host trampoline of a module type.
    WasmToHost(u32),
}

/// Lays out the function table — escaping functions in index order, then
/// both trampolines of each type in type order — and records each slot in
/// the metadata.
pub(crate) fn function_table(env: &mut ModuleEnv) -> Vec<TableEntry> {
    let mut entries: Vec<TableEntry> = Vec::new();
    for index in env.escaping_functions() {
        env.meta.functions[index as usize].wasm_call = Some(entries.len() as u32);
        entries.push(TableEntry::Function(index));
    }
    for (index, signature) in env.meta.types.iter_mut().enumerate() {
        signature.array_call = entries.len() as u32;
        entries.push(TableEntry::ArrayCall(index as u32));
        signature.wasm_to_host = entries.len() as u32;
        entries.push(TableEntry::WasmToHost(index as u32));
    }
    entries
}

/// The function a wasm call goes to.
#[derive(Clone, Copy)]
pub(crate) enum Callee<'ctx> {
    /// A defined function of this module.
    Direct(FunctionValue<'ctx>),
    /// A native entry point loaded at run time (import, table element,
    /// trampoline argument).
    Indirect(PointerValue<'ctx>),
}

/// What every function of the module is lowered against.
pub(crate) struct ModuleCx<'a, 'ctx> {
    pub env: &'a ModuleEnv<'a>,
    pub module: &'a Module<'ctx>,
    pub types: Types<'ctx>,
    pub tags: Tags<'ctx>,
    pub offsets: VMOffsets,
    /// The native function type of each module type.
    pub signatures: Vec<FunctionType<'ctx>>,
    /// Declarations of the defined functions, by function index (`None`
    /// for imports).
    pub functions: Vec<Option<FunctionValue<'ctx>>>,
    /// Register name for reading the stack pointer, if the target has one
    /// kiln knows.
    pub stack_pointer: Option<&'static str>,
    /// The vector instructions SIMD lowering may ask for by name.
    pub vector_isa: VectorIsa,
    /// Whether a guaranteed tail call may pass arguments on the stack
    /// ([`TargetSetup::tail_call_stack_arguments`]).
    pub tail_call_stack_arguments: bool,
    /// What each table holds for the instance's whole life, where that is
    /// known ([`ModuleEnv::closed_tables`]); `call_indirect` on such a
    /// table calls a matching defined function without loading the element.
    pub closed_tables: Vec<Option<Vec<Option<u32>>>>,
    /// Whether the module catches or raises exceptions
    /// ([`ModuleEnv::uses_exceptions`]): its functions and trampolines are
    /// then not `nounwind`.
    pub may_unwind: bool,
}

impl<'ctx> ModuleCx<'_, 'ctx> {
    /// The LLVM type of a wasm value type.
    pub fn val_type(&self, ty: ValType) -> Result<BasicTypeEnum<'ctx>> {
        val_type(&self.types, ty)
    }

    /// The LLVM function type of a builtin.
    pub fn builtin_type(&self, builtin: Builtin) -> FunctionType<'ctx> {
        let signature = builtin.signature();
        let params: Vec<_> = signature.params.iter().filter_map(|&t| self.abi_type(t)).collect();
        self.types.fn_type(&params, self.abi_type(signature.result))
    }

    /// The LLVM types of the results of module type `type_index`.
    pub fn result_types(&self, type_index: u32) -> Result<Vec<BasicTypeEnum<'ctx>>> {
        self.env.meta.types[type_index as usize].ty.results.iter().map(|&r| self.val_type(r)).collect()
    }

    /// Calls a wasm function of module type `type_index` with `args`
    /// (`callee_vmctx, caller_vmctx, params...`), passing `area` as the
    /// return area, which a type with several results needs and others
    /// must not have (see the calling convention above).
    pub fn call_wasm(
        &self,
        b: &FnBuilder<'_, 'ctx>,
        type_index: u32,
        callee: Callee<'ctx>,
        args: &[BasicValueEnum<'ctx>],
        area: Option<PointerValue<'ctx>>,
    ) -> Result<CallSiteValue<'ctx>> {
        let results = self.env.meta.types[type_index as usize].ty.results.len();
        if kiln_abi::uses_return_area(results) != area.is_some() {
            return Err(CompileError::internal(format_args!("return area mismatch for type {type_index}")));
        }
        let mut args = args.to_vec();
        args.extend(area.map(BasicValueEnum::from));
        let call = match callee {
            Callee::Direct(function) => b.call_may_throw(Ok(function), &args)?,
            Callee::Indirect(pointer) => b.call_may_throw(Err((self.signatures[type_index as usize], pointer)), &args)?,
        };
        if area.is_some() {
            let index = args.len() as u32 - 1;
            for attribute in return_area_attributes(&self.types, results) {
                call.add_attribute(AttributeLoc::Param(index), attribute);
            }
        }
        Ok(call)
    }

    /// The LLVM type of a builtin parameter or result; `None` for no value.
    fn abi_type(&self, ty: AbiType) -> Option<BasicTypeEnum<'ctx>> {
        match ty {
            AbiType::I32 => Some(self.types.i32.into()),
            AbiType::I64 => Some(self.types.i64.into()),
            AbiType::VMContext | AbiType::Ptr => Some(self.types.ptr.into()),
            AbiType::Void | AbiType::Never => None,
        }
    }

    /// Calls `builtin` through the builtin table `builtins` (the pointer
    /// stored at [`VMOffsets::builtins`] of the caller's vmctx). A builtin
    /// that never returns is marked `noreturn` and `cold` and ends the
    /// block.
    pub fn call_builtin(
        &self,
        b: &FnBuilder<'_, 'ctx>,
        builtins: PointerValue<'ctx>,
        builtin: Builtin,
        args: &[BasicValueEnum<'ctx>],
    ) -> Result<Option<BasicValueEnum<'ctx>>> {
        let slot = builtin.index() * self.offsets.ptr_size().bytes();
        let callee = b.load_ptr_field(builtins, slot, Access::Invariant)?;
        let call = b.call_indirect(self.builtin_type(builtin), callee, args)?;
        call.add_attribute(AttributeLoc::Function, self.types.attribute("nounwind"));
        if builtin.signature().result == AbiType::Never {
            call.add_attribute(AttributeLoc::Function, self.types.attribute("noreturn"));
            call.add_attribute(AttributeLoc::Function, self.types.attribute("cold"));
            b.unreachable()?;
            return Ok(None);
        }
        Ok(call.try_as_basic_value().basic())
    }
}

impl<'ctx> ModuleCx<'_, 'ctx> {
    /// The personality routine of functions with landing pads: the C
    /// language's, `__gcc_personality_v0` (libgcc, compiler-rt and
    /// libunwind all have it), which sends the unwinder to a call site's
    /// landing pad and looks at nothing else (see `translate::exceptions`).
    pub fn personality(&self) -> FunctionValue<'ctx> {
        let name = symbols::EH_PERSONALITY;
        self.module.get_function(name).unwrap_or_else(|| {
            let ty = self.types.i32.fn_type(&[], true);
            self.module.add_function(name, ty, Some(Linkage::External))
        })
    }

    /// Raises the exception `exn` (not null) through the `throw_ref`
    /// builtin, the one builtin that unwinds: to the builder's landing pad
    /// inside a `try`. Ends the block.
    pub fn throw_ref(
        &self,
        b: &FnBuilder<'_, 'ctx>,
        builtins: PointerValue<'ctx>,
        vmctx: PointerValue<'ctx>,
        exn: PointerValue<'ctx>,
    ) -> Result<()> {
        let builtin = Builtin::throw_ref;
        let slot = builtin.index() * self.offsets.ptr_size().bytes();
        let callee = b.load_ptr_field(builtins, slot, Access::Invariant)?;
        let call = b.call_may_throw(Err((self.builtin_type(builtin), callee)), &[vmctx.into(), exn.into()])?;
        call.add_attribute(AttributeLoc::Function, self.types.attribute("noreturn"));
        b.unreachable()
    }
}

/// The native function type of a wasm function type (see the calling
/// convention above).
fn wasm_fn_type<'ctx>(types: &Types<'ctx>, ty: &FuncType) -> Result<FunctionType<'ctx>> {
    let mut params: Vec<BasicTypeEnum> = vec![types.ptr.into(), types.ptr.into()];
    for &p in &ty.params {
        params.push(val_type(types, p)?);
    }
    match ty.results.as_slice() {
        [] => Ok(types.fn_type(&params, None)),
        [single] => Ok(types.fn_type(&params, Some(val_type(types, *single)?))),
        _ => {
            params.push(types.ptr.into());
            Ok(types.fn_type(&params, None))
        }
    }
}

/// What every definition and call promises about a return area for
/// `results` results: it is only reached through this pointer, not kept,
/// never undefined, aligned, and has one slot per result.
fn return_area_attributes(types: &Types<'_>, results: usize) -> [Attribute; 5] {
    [
        types.attribute("noalias"),
        types.attribute("nocapture"),
        types.attribute("noundef"),
        types.int_attribute("align", u64::from(RETURN_AREA_ALIGN)),
        types.int_attribute("dereferenceable", results as u64 * u64::from(VAL_RAW_SIZE)),
    ]
}

fn val_type<'ctx>(types: &Types<'ctx>, ty: ValType) -> Result<BasicTypeEnum<'ctx>> {
    match ty {
        ValType::I32 => Ok(types.i32.into()),
        ValType::I64 => Ok(types.i64.into()),
        ValType::F32 => Ok(types.f32.into()),
        ValType::F64 => Ok(types.f64.into()),
        ValType::V128 => Ok(types.v128.into()),
        // Every reference is one pointer: a `*const VMFuncRef` or an
        // externref, null for a null reference.
        ValType::Ref(_) => Ok(types.ptr.into()),
    }
}

/// Names the return-area parameter of `function`, of wasm type `ty`, and
/// gives it [`return_area_attributes`]; nothing for fewer than two results.
fn mark_return_area<'ctx>(types: &Types<'ctx>, function: FunctionValue<'ctx>, ty: &FuncType) {
    if !kiln_abi::uses_return_area(ty.results.len()) {
        return;
    }
    let index = function.count_params() - 1;
    if let Some(area) = function.get_nth_param(index) {
        area.set_name("results");
    }
    for attribute in return_area_attributes(types, ty.results.len()) {
        function.add_attribute(AttributeLoc::Param(index), attribute);
    }
}

/// Bodies larger than this (in bytes of wasm code, about 25 000
/// instructions) are not vectorized: LLVM's SLP vectorizer compares every
/// pair of stores to one object, and all linear-memory stores share the
/// memory base, so its time grows with the square of a function's stores
/// (a 100 000-instruction function took 55 s at -O2, 91 % of it there).
/// `noimplicitfloat` is the attribute both vectorizers skip; explicit float
/// and SIMD operations are unaffected.
const HUGE_FUNCTION_BYTES: u64 = 64 * 1024;

/// Builds the complete, unoptimized LLVM module for `env`, and returns it
/// with the types it was built with.
pub(crate) fn build_module<'ctx>(
    context: &'ctx Context,
    env: &ModuleEnv,
    table: &[TableEntry],
    setup: &TargetSetup,
    opts: &crate::CompileOptions,
) -> Result<(Module<'ctx>, Types<'ctx>)> {
    let module = context.create_module(MODULE_NAME);
    module.set_source_file_name(MODULE_NAME);
    module.set_triple(&setup.machine.get_triple());
    module.set_data_layout(&setup.machine.get_target_data().get_data_layout());

    let types = Types::new(context, u32::from(setup.info.pointer_size));
    let signatures = env.meta.types.iter().map(|s| wasm_fn_type(&types, &s.ty)).collect::<Result<Vec<_>>>()?;
    // A module that can catch or raise exceptions unwinds through its own
    // functions (see `translate::exceptions`), so they must not promise
    // LLVM otherwise: it would turn `invoke`s of them into calls and drop
    // the handlers. Other modules keep `nounwind` and their code as it was.
    let may_unwind = env.uses_exceptions();
    if may_unwind && setup.freestanding {
        // Windows DLLs carry no C runtime, so there is no SEH personality
        // routine for landing pads to name (see DESIGN.md, *Exceptions*).
        return Err(CompileError::Target(
            "exception handling is not implemented for Windows targets yet: the module has tags, \
             `try_table`, `try` or `throw_ref`"
                .into(),
        ));
    }
    let nounwind = types.attribute("nounwind");
    // Wasm has no implicit tail calls: a recursion that never ends must
    // exhaust the stack and trap, not turn into a loop. (`return_call` is
    // explicit and marked `musttail`, which this does not affect.)
    let no_tail_calls = context.create_string_attribute("disable-tail-calls", "true");
    // LLVM must not turn loops over linear memory into `memset`/`memcpy`
    // calls: a fault inside libc is not one the runtime can claim as a trap.
    let no_builtins = context.create_string_attribute("no-builtins", "");
    let tune_cpu = setup.tune_cpu.map(|cpu| context.create_string_attribute("tune-cpu", cpu));
    let no_vectorizing = types.attribute("noimplicitfloat");
    let functions = (0..env.meta.functions.len() as u32)
        .map(|index| {
            (!env.is_imported_func(index)).then(|| {
                let type_index = env.meta.functions[index as usize].type_index as usize;
                let function = module.add_function(
                    &symbols::defined_function(index),
                    signatures[type_index],
                    Some(Linkage::Internal),
                );
                if !may_unwind {
                    function.add_attribute(AttributeLoc::Function, nounwind);
                }
                function.add_attribute(AttributeLoc::Function, no_tail_calls);
                function.add_attribute(AttributeLoc::Function, no_builtins);
                if let Some(tune) = tune_cpu {
                    function.add_attribute(AttributeLoc::Function, tune);
                }
                let body = &env.bodies[(index - env.num_imported.funcs) as usize];
                if body.range().end - body.range().start > HUGE_FUNCTION_BYTES {
                    function.add_attribute(AttributeLoc::Function, no_vectorizing);
                }
                mark_return_area(&types, function, &env.meta.types[type_index].ty);
                function
            })
        })
        .collect();

    let pointer_size = kiln_abi::PtrSize::new(setup.info.pointer_size)
        .ok_or_else(|| CompileError::Target(format!("unsupported pointer size {}", setup.info.pointer_size)))?;
    let cx = ModuleCx {
        env,
        module: &module,
        types,
        tags: Tags::new(&types),
        offsets: VMOffsets::new(pointer_size, &env.meta.shape()),
        signatures,
        functions,
        stack_pointer: setup.stack_pointer,
        vector_isa: setup.vector_isa,
        tail_call_stack_arguments: setup.tail_call_stack_arguments,
        closed_tables: env.closed_tables(),
        may_unwind,
    };
    for (defined, body) in env.bodies.iter().enumerate() {
        crate::translate::translate_function(&cx, env.num_imported.funcs + defined as u32, body)?;
    }
    trampolines::emit(&cx, table, opts.symbol_prefix.as_deref(), opts.static_library)?;
    if setup.freestanding {
        freestanding::emit(&module, types)?;
    }
    if setup.unwind_tables {
        // Asynchronous unwind tables (`uwtable(async)`).
        let uwtable = types.int_attribute("uwtable", 2);
        let mut function = module.get_first_function();
        while let Some(f) = function {
            if f.count_basic_blocks() > 0 {
                f.add_attribute(AttributeLoc::Function, uwtable);
            }
            function = f.get_next_function();
        }
    }
    Ok((module, types))
}

//! Lowering one wasm function body to LLVM IR.
//!
//! The body is walked once, operator by operator, through wasmparser's
//! `VisitOperator` ([`visitor`]); each `visit_*` is a one-line call into a
//! family module: [`numeric`] and [`conversion`] (generic over width),
//! [`memory`] (bulk memory included), [`table`], [`reference`],
//! [`control`], [`variables`], [`calls`], [`parametric`], and [`simd`]
//! (generic over lane shape, itself split by family).
//!
//! # The state
//!
//! * The wasm operand stack is mirrored by a stack of SSA values. Locals
//!   are `alloca`s in the entry block, which `mem2reg` turns into SSA.
//! * Control frames ([`control`]) hold the blocks a branch may target and
//!   the phis that merge the values branches carry.
//! * After `br`, `br_table`, `return` or `unreachable` the rest of the
//!   enclosing block is dead. The translator then skips operators, only
//!   counting the nesting of dead `block`/`loop`/`if` so it knows which
//!   `else`/`end` makes code live again; no IR is emitted for dead code.
//!
//! # The entry block
//!
//! Values that are fixed for the instance's lifetime (memory base, builtin
//! table, signature ids, import slots) are loaded once, on first use, into
//! the entry block, with `!invariant.load`, so they dominate every use and
//! never need reloading after a store or a call. The entry block ends in a
//! branch to the body; when the function makes calls, the stack-limit check
//! replaces that branch once the body is done. Leaf functions need none:
//! the runtime keeps a safety margin below the limit (128 KiB) that any
//! ordinary frame fits in; a leaf that may have a larger frame (very many
//! locals, or a very large body) is checked too.
//!
//! The check reads the stack pointer with `llvm.read_register` (`rsp`,
//! `sp`): on both targets that compiles to a single compare of the stack
//! pointer with the loaded limit after the frame is set up, the same code
//! `llvm.stacksave` gives, but as a plain read it constrains the optimizer
//! less; `llvm.frameaddress` would force a frame pointer and an `alloca`
//! address an otherwise useless stack slot. Because the compare happens after the
//! frame is allocated and before anything is stored into it, a large frame
//! cannot skip past the limit unnoticed.
//!
//! # Traps
//!
//! Each trap code gets one block per function, created on first use, that
//! loads the builtin table and calls the `raise_trap` builtin (noreturn,
//! cold). Trapping conditions branch to it, so the fast path carries only
//! a compare and a branch.

mod atomics;
mod calls;
mod control;
mod conversion;
mod exceptions;
mod memory;
mod numeric;
mod parametric;
mod path;
mod reference;
mod simd;
mod table;
mod tail_calls;
mod variables;
mod visitor;
mod wide;

use crate::codegen::ModuleCx;
use crate::codegen::builder::{Access, FnBuilder};
use crate::environ;
use crate::error::{CompileError, Result};
use control::ControlFrame;
use inkwell::IntPredicate;
use inkwell::basic_block::BasicBlock;
use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum, FloatValue, FunctionValue, IntValue, PointerValue};
use kiln_abi::{Builtin, TrapCode};
use std::collections::HashMap;
use wasmparser::{FunctionBody, Operator, VisitOperator};

/// A leaf function with more locals than this, or a larger body in bytes,
/// might need a frame beyond the runtime's stack safety margin, so it
/// checks the stack limit too.
const LARGE_LEAF_LOCALS: usize = 2048;
/// See [`LARGE_LEAF_LOCALS`].
const LARGE_LEAF_BODY: u64 = 64 * 1024;

/// Translates defined function `index` into its (already declared) LLVM
/// function.
pub(crate) fn translate_function(cx: &ModuleCx<'_, '_>, index: u32, body: &FunctionBody<'_>) -> Result<()> {
    let function = cx.functions[index as usize]
        .ok_or_else(|| CompileError::internal(format_args!("function {index} has no declaration")))?;
    let mut t = FuncTranslator::new(cx, index, function)?;
    t.body_start = body.range().start;
    t.declare_locals(body)?;
    let body_size = body.range().end - body.range().start;
    t.needs_stack_check = t.locals.len() > LARGE_LEAF_LOCALS || body_size > LARGE_LEAF_BODY;
    let mut reader = body.get_operators_reader().map_err(|e| t.invalid(e))?;
    while !reader.eof() {
        t.offset = reader.original_position();
        let op = reader.read().map_err(|e| t.invalid(e))?;
        if t.reachable || is_structural(&op) {
            t.visit_operator(&op)?;
        }
    }
    t.finish()
}

/// Operators that open or close blocks: the only ones that matter in dead
/// code.
fn is_structural(op: &Operator) -> bool {
    matches!(
        op,
        Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Else
            | Operator::End
            | Operator::TryTable { .. }
            | Operator::Try { .. }
            | Operator::Catch { .. }
            | Operator::CatchAll
            | Operator::Delegate { .. }
    )
}

/// Values loaded once in the entry block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Invariant {
    /// Base address of memory `i`.
    MemoryBase(u32),
    /// Pointer to the definition of imported memory `i`.
    ImportedMemory(u32),
    /// Pointer to the definition of imported table `i`.
    ImportedTable(u32),
    /// Elements of table `i`, for a table that can never grow (see
    /// [`table`]).
    FixedTableBase(u32),
    /// Pointer to the storage of imported global `i`.
    ImportedGlobal(u32),
    /// `wasm_call` of imported function `i`.
    ImportCallee(u32),
    /// `vmctx` of imported function `i`.
    ImportVmctx(u32),
    /// Engine-wide signature id of module type `i`.
    TypeId(u32),
    /// The builtin function table.
    Builtins,
    /// The store context (holds the stack limit).
    StoreContext,
    /// The identity of tag `i` (a `*const VMTag`).
    Tag(u32),
}

/// The lowering state of one function.
pub(crate) struct FuncTranslator<'a, 'ctx> {
    cx: &'a ModuleCx<'a, 'ctx>,
    /// Emits the body.
    b: FnBuilder<'a, 'ctx>,
    /// Emits into the entry block, before its terminator.
    prologue: FnBuilder<'a, 'ctx>,
    func_index: u32,
    /// Byte offset of the operator being translated.
    offset: u64,
    /// Byte offset of the function body (its locals), from which branch
    /// hints count.
    body_start: u64,
    vmctx: PointerValue<'ctx>,
    /// Where the function stores its results when it has several (the
    /// trailing parameter; see [`calls`]).
    results_area: Option<PointerValue<'ctx>>,
    entry: BasicBlock<'ctx>,
    locals: Vec<(PointerValue<'ctx>, BasicTypeEnum<'ctx>)>,
    stack: Vec<BasicValueEnum<'ctx>>,
    control: Vec<ControlFrame<'ctx>>,
    /// Whether the current position is live.
    reachable: bool,
    /// Dead `block`/`loop`/`if`s opened since code became unreachable.
    dead_depth: u32,
    traps: Vec<(TrapCode, BasicBlock<'ctx>)>,
    invariants: HashMap<Invariant, BasicValueEnum<'ctx>>,
    /// Whether the prologue checks the stack limit: the body calls
    /// something, or the frame may be large.
    needs_stack_check: bool,
    /// Local values and accessed addresses known on the current path.
    path: path::PathFacts<'ctx>,
}

impl<'a, 'ctx> FuncTranslator<'a, 'ctx> {
    fn new(cx: &'a ModuleCx<'a, 'ctx>, func_index: u32, function: FunctionValue<'ctx>) -> Result<Self> {
        let context = cx.types.context;
        let entry = context.append_basic_block(function, "entry");
        let body = context.append_basic_block(function, "body");
        let b = FnBuilder::new(cx.types, cx.tags, cx.module);
        let prologue = FnBuilder::new(cx.types, cx.tags, cx.module);
        prologue.position_at_end(entry);
        prologue.br(body)?;
        let terminator = entry.get_terminator().ok_or_else(|| CompileError::internal("entry without terminator"))?;
        prologue.position_before(&terminator);
        b.position_at_end(body);
        let vmctx = function
            .get_first_param()
            .ok_or_else(|| CompileError::internal("function without vmctx"))?
            .into_pointer_value();
        vmctx.set_name("vmctx");
        let results_area = if kiln_abi::uses_return_area(cx.env.func_type(func_index).results.len()) {
            let area = function.get_last_param().ok_or_else(|| CompileError::internal("no return area"))?;
            Some(area.into_pointer_value())
        } else {
            None
        };
        Ok(FuncTranslator {
            cx,
            b,
            prologue,
            func_index,
            offset: 0,
            body_start: 0,
            vmctx,
            results_area,
            entry,
            locals: Vec::new(),
            stack: Vec::new(),
            control: Vec::new(),
            reachable: true,
            dead_depth: 0,
            traps: Vec::new(),
            invariants: HashMap::new(),
            needs_stack_check: false,
            path: path::PathFacts::default(),
        })
    }

    /// Creates a stack slot per parameter (holding the argument) and per
    /// declared local (holding zero), then opens the function's frame.
    fn declare_locals(&mut self, body: &FunctionBody<'_>) -> Result<()> {
        let ty = self.cx.env.func_type(self.func_index).clone();
        let function = self.function()?;
        for (i, &param) in ty.params.iter().enumerate() {
            let llvm_ty = self.cx.val_type(param)?;
            let slot = self.prologue.alloca(llvm_ty, "param")?;
            let value =
                function.get_nth_param(i as u32 + 2).ok_or_else(|| CompileError::internal("missing parameter"))?;
            self.prologue.store(slot, value, Access::Local)?;
            self.locals.push((slot, llvm_ty));
        }
        let mut reader = body.get_locals_reader().map_err(|e| self.invalid(e))?;
        for _ in 0..reader.get_count() {
            self.offset = reader.original_position();
            let (count, ty) = reader.read().map_err(|e| self.invalid(e))?;
            let llvm_ty = self.cx.val_type(environ::val_type(ty, self.offset)?).map_err(|e| self.locate(e))?;
            for _ in 0..count {
                let slot = self.prologue.alloca(llvm_ty, "local")?;
                self.prologue.store(slot, zero(llvm_ty), Access::Local)?;
                self.locals.push((slot, llvm_ty));
            }
        }
        self.push_function_frame(&ty.results)
    }

    /// Ends the function: adds the stack check if it needs one.
    fn finish(self) -> Result<()> {
        if !self.control.is_empty() {
            return Err(CompileError::internal("function body ended with open blocks"));
        }
        if self.needs_stack_check {
            self.check_stack()?;
        }
        Ok(())
    }

    /// Replaces the entry block's branch to the body by a comparison of the
    /// stack pointer against the store's stack limit.
    fn check_stack(mut self) -> Result<()> {
        let terminator =
            self.entry.get_terminator().ok_or_else(|| CompileError::internal("entry without terminator"))?;
        let body = self.entry.get_next_basic_block().ok_or_else(|| CompileError::internal("function without body"))?;
        let store = self.invariant(Invariant::StoreContext)?.into_pointer_value();
        let overflow = self.block_for_trap(TrapCode::StackOverflow)?;
        let p = &self.prologue;
        let limit = p.load_intptr_field(store, self.cx.offsets.store_context_stack_limit(), Access::StackLimit)?;
        let intptr = self.cx.types.intptr;
        let sp = match self.cx.stack_pointer {
            Some(register) => {
                let context = self.cx.types.context;
                let name = context.metadata_node(&[context.metadata_string(register).into()]);
                p.call_intrinsic(
                    "llvm.read_register",
                    &[intptr.into()],
                    &[BasicMetadataValueEnum::MetadataValue(name)],
                )?
                .into_int_value()
            }
            None => {
                let saved = p.call_intrinsic("llvm.stacksave", &[self.cx.types.ptr.into()], &[])?;
                p.ptr_to_int(saved.into_pointer_value())?
            }
        };
        let exhausted = p.icmp(IntPredicate::ULT, sp, limit)?;
        p.cond_br(exhausted, overflow, body)?;
        terminator.erase_from_basic_block();
        Ok(())
    }

    fn function(&self) -> Result<FunctionValue<'ctx>> {
        self.entry.get_parent().ok_or_else(|| CompileError::internal("entry block without function"))
    }

    // ---- errors ----

    /// An `Invalid` error at the current function.
    fn invalid(&self, e: wasmparser::BinaryReaderError) -> CompileError {
        CompileError::Invalid {
            message: e.message().to_string(),
            offset: e.offset() as usize,
            func_index: Some(self.func_index),
        }
    }

    /// `Unsupported` use of `feature` by the current operator.
    fn unsupported(&self, feature: &str) -> CompileError {
        CompileError::Unsupported {
            feature: feature.to_string(),
            offset: self.offset as usize,
            func_index: Some(self.func_index),
        }
    }

    /// Attaches the current function and offset to an error that has none.
    fn locate(&self, e: CompileError) -> CompileError {
        match e {
            CompileError::Unsupported { feature, func_index: None, .. } => {
                CompileError::Unsupported { feature, offset: self.offset as usize, func_index: Some(self.func_index) }
            }
            other => other,
        }
    }

    // ---- the operand stack ----

    fn push(&mut self, value: impl Into<BasicValueEnum<'ctx>>) {
        self.stack.push(value.into());
    }

    fn pop(&mut self) -> Result<BasicValueEnum<'ctx>> {
        self.stack.pop().ok_or_else(|| CompileError::internal("operand stack underflow"))
    }

    fn pop_int(&mut self) -> Result<IntValue<'ctx>> {
        match self.pop()? {
            BasicValueEnum::IntValue(v) => Ok(v),
            other => Err(CompileError::internal(format_args!("expected an integer operand, found {other:?}"))),
        }
    }

    fn pop_ptr(&mut self) -> Result<PointerValue<'ctx>> {
        match self.pop()? {
            BasicValueEnum::PointerValue(v) => Ok(v),
            other => Err(CompileError::internal(format_args!("expected a reference operand, found {other:?}"))),
        }
    }

    /// Pops an `i32` index or length operand, zero-extended to `i64`.
    fn pop_u32_as_i64(&mut self) -> Result<IntValue<'ctx>> {
        let value = self.pop_int()?;
        self.b.zext_or_same(value, self.cx.types.i64)
    }

    fn pop_float(&mut self) -> Result<FloatValue<'ctx>> {
        match self.pop()? {
            BasicValueEnum::FloatValue(v) => Ok(v),
            other => Err(CompileError::internal(format_args!("expected a float operand, found {other:?}"))),
        }
    }

    /// Pops the top `n` values, in stack order (deepest first).
    fn pop_n(&mut self, n: usize) -> Result<Vec<BasicValueEnum<'ctx>>> {
        let at = self.stack.len().checked_sub(n).ok_or_else(|| CompileError::internal("operand stack underflow"))?;
        Ok(self.stack.split_off(at))
    }

    /// The top `n` values, in stack order, left on the stack.
    fn peek_n(&self, n: usize) -> Result<&[BasicValueEnum<'ctx>]> {
        let at = self.stack.len().checked_sub(n).ok_or_else(|| CompileError::internal("operand stack underflow"))?;
        Ok(&self.stack[at..])
    }

    // ---- invariant values ----

    /// A value fixed for the instance's lifetime, loaded in the entry block
    /// on first use.
    fn invariant(&mut self, key: Invariant) -> Result<BasicValueEnum<'ctx>> {
        if let Some(&value) = self.invariants.get(&key) {
            return Ok(value);
        }
        let cx = self.cx;
        let o = &cx.offsets;
        let ptr = cx.types.ptr.into();
        let env = cx.env;
        let (base, offset, ty) = match key {
            Invariant::MemoryBase(i) if i < env.num_imported.memories => {
                (self.invariant(Invariant::ImportedMemory(i))?.into_pointer_value(), o.memory_definition_base(), ptr)
            }
            Invariant::MemoryBase(i) => {
                (self.vmctx, o.defined_memory(i - env.num_imported.memories) + o.memory_definition_base(), ptr)
            }
            Invariant::ImportedMemory(i) => (self.vmctx, o.imported_memory(i), ptr),
            Invariant::ImportedTable(i) => (self.vmctx, o.imported_table(i), ptr),
            Invariant::FixedTableBase(i) if i < env.num_imported.tables => {
                (self.invariant(Invariant::ImportedTable(i))?.into_pointer_value(), o.table_definition_base(), ptr)
            }
            Invariant::FixedTableBase(i) => {
                (self.vmctx, o.defined_table(i - env.num_imported.tables) + o.table_definition_base(), ptr)
            }
            Invariant::ImportedGlobal(i) => (self.vmctx, o.imported_global(i), ptr),
            Invariant::ImportCallee(i) => (self.vmctx, o.imported_func(i) + o.function_import_wasm_call(), ptr),
            Invariant::ImportVmctx(i) => (self.vmctx, o.imported_func(i) + o.function_import_vmctx(), ptr),
            Invariant::TypeId(i) => (self.vmctx, o.type_id(i), self.cx.types.i32.into()),
            Invariant::Builtins => (self.vmctx, o.builtins(), ptr),
            Invariant::StoreContext => (self.vmctx, o.store_context(), ptr),
            Invariant::Tag(i) => (self.vmctx, o.tag(i), ptr),
        };
        let value = self.prologue.load_field(base, offset, ty, Access::Invariant)?;
        self.invariants.insert(key, value);
        Ok(value)
    }

    // ---- traps ----

    /// The block that raises `code`, created on first use.
    fn block_for_trap(&mut self, code: TrapCode) -> Result<BasicBlock<'ctx>> {
        if let Some(&(_, block)) = self.traps.iter().find(|(c, _)| *c == code) {
            return Ok(block);
        }
        let block = self.cx.types.context.append_basic_block(self.function()?, "trap");
        let trap = FnBuilder::new(self.cx.types, self.cx.tags, self.cx.module);
        trap.position_at_end(block);
        let slot = Builtin::raise_trap.index() * self.cx.offsets.ptr_size().bytes();
        trap.raise_trap(self.vmctx, self.cx.offsets.builtins(), slot, code.as_u32())?;
        self.traps.push((code, block));
        Ok(block)
    }

    /// Traps with `code` when `cond` is true; execution continues in a new
    /// block otherwise.
    fn trap_if(&mut self, cond: IntValue<'ctx>, code: TrapCode) -> Result<()> {
        let trap = self.block_for_trap(code)?;
        let cont = self.b.append_block("")?;
        self.b.cond_br(cond, trap, cont)?;
        self.b.position_at_end(cont);
        Ok(())
    }

    /// Traps with `code` about table element `index` (an `i64`) when `cond`
    /// is true, through `raise_trap_at` so that the trap names the element.
    /// The trap block is this site's own: unlike [`Self::trap_if`]'s, it
    /// passes a value.
    fn trap_if_at(&mut self, cond: IntValue<'ctx>, code: TrapCode, index: IntValue<'ctx>) -> Result<()> {
        let builtins = self.invariant(Invariant::Builtins)?.into_pointer_value();
        let trap = self.b.append_block("trap.at")?;
        let cont = self.b.append_block("")?;
        self.b.cond_br(cond, trap, cont)?;
        self.b.position_at_end(trap);
        let code_value = self.b.i32_const(code.as_u32() as i32);
        let args = [self.vmctx.into(), code_value.into(), index.into()];
        self.cx.call_builtin(&self.b, builtins, Builtin::raise_trap_at, &args)?;
        self.b.position_at_end(cont);
        Ok(())
    }

    /// Calls `builtin`, which returns an integer, with `args`.
    fn call_int_builtin(&mut self, builtin: Builtin, args: &[BasicValueEnum<'ctx>]) -> Result<IntValue<'ctx>> {
        let builtins = self.invariant(Invariant::Builtins)?.into_pointer_value();
        match self.cx.call_builtin(&self.b, builtins, builtin, args)? {
            Some(BasicValueEnum::IntValue(value)) => Ok(value),
            _ => Err(CompileError::internal(format_args!("builtin {} returns no integer", builtin.name()))),
        }
    }

    /// Calls a fallible `builtin` with `args` and raises the trap code it
    /// returns, if nonzero; execution continues in a new block otherwise.
    fn call_fallible_builtin(&mut self, builtin: Builtin, args: &[BasicValueEnum<'ctx>]) -> Result<()> {
        let code = self.call_int_builtin(builtin, args)?;
        let builtins = self.invariant(Invariant::Builtins)?.into_pointer_value();
        let failed = self.b.icmp(IntPredicate::NE, code, code.get_type().const_zero())?;
        let trap = self.b.append_block("trap.builtin")?;
        let cont = self.b.append_block("")?;
        self.b.cond_br(failed, trap, cont)?;
        self.b.position_at_end(trap);
        self.cx.call_builtin(&self.b, builtins, Builtin::raise_trap, &[self.vmctx.into(), code.into()])?;
        self.b.position_at_end(cont);
        Ok(())
    }

    /// Calls a builtin that returns nothing.
    fn call_void_builtin(&mut self, builtin: Builtin, args: &[BasicValueEnum<'ctx>]) -> Result<()> {
        let builtins = self.invariant(Invariant::Builtins)?.into_pointer_value();
        self.cx.call_builtin(&self.b, builtins, builtin, args).map(drop)
    }

    /// Traps unconditionally; what follows is dead.
    fn trap(&mut self, code: TrapCode) -> Result<()> {
        let trap = self.block_for_trap(code)?;
        self.b.br(trap)?;
        self.reachable = false;
        Ok(())
    }
}

/// The zero value of a type (the initial value of wasm locals).
fn zero(ty: BasicTypeEnum<'_>) -> BasicValueEnum<'_> {
    match ty {
        BasicTypeEnum::IntType(t) => t.const_zero().into(),
        BasicTypeEnum::FloatType(t) => t.const_zero().into(),
        BasicTypeEnum::PointerType(t) => t.const_null().into(),
        BasicTypeEnum::ArrayType(t) => t.const_zero().into(),
        BasicTypeEnum::StructType(t) => t.const_zero().into(),
        BasicTypeEnum::VectorType(t) => t.const_zero().into(),
        BasicTypeEnum::ScalableVectorType(t) => t.const_zero().into(),
    }
}

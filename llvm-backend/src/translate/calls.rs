//! `call`, `call_indirect` and `call_ref`, and the callee lookups their
//! tail-call forms share (`return_call*`, see [`super::tail_calls`]).
//!
//! A direct call to a defined function is a direct LLVM call, which LLVM
//! may inline. A call to an imported function goes through its
//! `VMFunctionImport` (`wasm_call(import_vmctx, my_vmctx, args...)`), whose
//! fields are fixed at instantiation and loaded once per function.
//!
//! `call_indirect` (on any table) checks, in the order the spec's traps are
//! listed: the index against the table's current size ("undefined
//! element"), the element for null ("uninitialized element"), then the
//! callee's engine-wide signature id against the one the runtime stored in
//! this vmctx for the expected type ("indirect call type mismatch"). The
//! table's size and base are loaded at each call unless the table can
//! never grow (see [`super::table`]); a `VMFuncRef`'s fields never change
//! once a wasm function can reach it.
//!
//! On a closed table (one whose contents never change after
//! instantiation: see `ModuleEnv::closed_tables`), a constant array per
//! signature gives, after the bounds check, the entry point of a matching
//! defined function in the slot, called with this instance's vmctx; only a
//! slot without one (null, an import, another signature) takes the checked
//! lookup above.
//!
//! `call_ref` needs no signature check — validation proved the reference's
//! type — only a null check ("null function reference").
//!
//! Any function that calls gets the stack-limit check in its prologue.
//!
//! # Several results
//!
//! A callee with several results returns them through a return area (see
//! the calling convention in `crate::codegen`): the caller allocates one
//! per call site in its entry block — a static `alloca`, which SROA can
//! split — marks its lifetime around the call, passes it last and loads
//! the results right after the call. When LLVM inlines the callee, the
//! callee's stores meet the caller's loads in the same function and SROA
//! turns the round trip back into SSA values, so the area costs nothing;
//! when it does not inline, the area is a few bytes of stack that
//! non-overlapping call sites share. The function's own results go
//! through [`FuncTranslator::return_values`], which stores them into the
//! area it was given.

use super::{FuncTranslator, Invariant};
use crate::codegen::Callee;
use crate::codegen::builder::Access;
use crate::error::{CompileError, Result};
use inkwell::IntPredicate;
use inkwell::module::Linkage;
use inkwell::values::{BasicValueEnum, IntValue, PointerValue};
use kiln_abi::{FuncType, RETURN_AREA_ALIGN, TrapCode, VAL_RAW_SIZE, ValType};

/// Whether a call returns to its caller or replaces its frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CallKind {
    /// `call*`: the results are pushed on the caller's stack.
    Plain,
    /// `return_call*`: the callee's results are the caller's.
    Tail,
}

impl<'ctx> FuncTranslator<'_, 'ctx> {
    pub(super) fn call(&mut self, function_index: u32, kind: CallKind) -> Result<()> {
        self.needs_stack_check = true;
        let cx = self.cx;
        let type_index = cx.env.meta.functions[function_index as usize].type_index;
        let params = cx.env.func_type(function_index).params.len();
        let (callee, args) = if cx.env.is_imported_func(function_index) {
            let callee = self.invariant(Invariant::ImportCallee(function_index))?.into_pointer_value();
            let callee_vmctx = self.invariant(Invariant::ImportVmctx(function_index))?;
            (Callee::Indirect(callee), self.call_args(callee_vmctx, params)?)
        } else {
            let function = cx.functions[function_index as usize]
                .ok_or_else(|| CompileError::internal(format_args!("function {function_index} is not declared")))?;
            (Callee::Direct(function), self.call_args(self.vmctx.into(), params)?)
        };
        self.finish_call(kind, type_index, callee, &args)
    }

    pub(super) fn call_indirect(&mut self, type_index: u32, table_index: u32, kind: CallKind) -> Result<()> {
        self.needs_stack_check = true;
        let index = self.pop_u32_as_i64()?;
        let table = self.table_view(table_index)?;
        let out_of_bounds = self.b.icmp(IntPredicate::UGE, index, table.len)?;
        self.trap_if(out_of_bounds, TrapCode::UndefinedElement)?;
        if let Some(direct) = self.closed_table_callees(table_index, type_index)? {
            return self.call_indirect_closed(type_index, table, index, direct, kind);
        }
        let (callee, callee_vmctx) = self.checked_table_callee(type_index, table, index)?;
        self.call_through(type_index, callee, callee_vmctx, kind)
    }

    /// `call_indirect` on a closed table (see [`crate::environ::ModuleEnv::closed_tables`]):
    /// `direct` is a constant array with, per slot, the entry point of the
    /// defined function of type `type_index` the slot holds for good, or
    /// null. A non-null entry is called with this instance's vmctx — no
    /// element load, null or signature check; a null one (null element,
    /// import, other type, unknown) takes the general path.
    fn call_indirect_closed(
        &mut self,
        type_index: u32,
        table: super::table::TableView<'ctx>,
        index: IntValue<'ctx>,
        direct: PointerValue<'ctx>,
        kind: CallKind,
    ) -> Result<()> {
        let cx = self.cx;
        let slot = self.element_address(direct, index)?;
        let known = self.b.load(cx.types.ptr.into(), slot, Access::Invariant)?.into_pointer_value();
        let is_known = self.b.is_not_null(known)?;
        let fast = self.b.current_block()?;
        let general = self.b.append_block("call_indirect.general")?;
        let join = self.b.append_block("call_indirect.call")?;
        self.b.cond_br(is_known, join, general)?;
        self.b.position_at_end(general);
        let (callee, callee_vmctx) = self.checked_table_callee(type_index, table, index)?;
        let general_end = self.b.current_block()?;
        self.b.br(join)?;
        self.b.position_at_end(join);
        let callee_phi = self.b.phi(cx.types.ptr.into())?;
        callee_phi.add_incoming(&[(&known, fast), (&callee, general_end)]);
        let vmctx_phi = self.b.phi(cx.types.ptr.into())?;
        vmctx_phi.add_incoming(&[(&self.vmctx, fast), (&callee_vmctx, general_end)]);
        let callee = callee_phi.as_basic_value().into_pointer_value();
        self.call_through(type_index, callee, vmctx_phi.as_basic_value().into_pointer_value(), kind)
    }

    /// The constant array of direct callees of type `type_index` for table
    /// `table_index`, if the table is closed and holds such a function;
    /// made once per module.
    fn closed_table_callees(&mut self, table_index: u32, type_index: u32) -> Result<Option<PointerValue<'ctx>>> {
        let cx = self.cx;
        let Some(slots) = &cx.closed_tables[table_index as usize] else { return Ok(None) };
        let name = format!("kiln_closed_table_{table_index}_type_{type_index}");
        if let Some(global) = cx.module.get_global(&name) {
            return Ok(Some(global.as_pointer_value()));
        }
        let expected = &cx.env.meta.types[type_index as usize].ty;
        let null = cx.types.ptr.const_null();
        let entries: Vec<PointerValue<'ctx>> = slots
            .iter()
            .map(|slot| {
                let function = slot.filter(|&f| {
                    let actual = cx.env.meta.functions[f as usize].type_index;
                    actual == type_index || same_plain_signature(cx.env.func_type(f), expected)
                });
                match function.and_then(|f| cx.functions[f as usize]) {
                    Some(function) => function.as_global_value().as_pointer_value(),
                    None => null,
                }
            })
            .collect();
        if entries.iter().all(|e| e.is_null()) {
            return Ok(None);
        }
        let array = cx.types.ptr.const_array(&entries);
        let global = cx.module.add_global(array.get_type(), None, &name);
        global.set_initializer(&array);
        global.set_constant(true);
        global.set_linkage(Linkage::Private);
        global.set_unnamed_addr(true);
        Ok(Some(global.as_pointer_value()))
    }

    /// The general `call_indirect` lookup of element `index` (already
    /// checked against the size): traps on a null element or a signature
    /// other than `type_index`, and returns the callee's entry point and
    /// vmctx.
    fn checked_table_callee(
        &mut self,
        type_index: u32,
        table: super::table::TableView<'ctx>,
        index: IntValue<'ctx>,
    ) -> Result<(PointerValue<'ctx>, PointerValue<'ctx>)> {
        let cx = self.cx;
        let o = &cx.offsets;
        let address = self.element_address(table.base, index)?;
        let funcref = self.b.load(cx.types.ptr.into(), address, Access::TableElement)?.into_pointer_value();
        let is_null = self.b.is_null(funcref)?;
        self.trap_if_at(is_null, TrapCode::UninitializedElement, index)?;

        let actual = self.b.load_field(funcref, o.func_ref_type_id(), cx.types.i32.into(), Access::Invariant)?;
        let expected = self.invariant(Invariant::TypeId(type_index))?;
        let mismatch = self.b.icmp(IntPredicate::NE, actual.into_int_value(), expected.into_int_value())?;
        self.trap_if(mismatch, TrapCode::IndirectCallTypeMismatch)?;
        self.func_ref_callee(funcref)
    }

    pub(super) fn call_ref(&mut self, type_index: u32, kind: CallKind) -> Result<()> {
        self.needs_stack_check = true;
        let funcref = self.pop_ptr()?;
        let is_null = self.b.is_null(funcref)?;
        self.trap_if(is_null, TrapCode::NullFunctionReference)?;
        let (callee, callee_vmctx) = self.func_ref_callee(funcref)?;
        self.call_through(type_index, callee, callee_vmctx, kind)
    }

    /// The entry point and vmctx a non-null function reference calls.
    fn func_ref_callee(&self, funcref: PointerValue<'ctx>) -> Result<(PointerValue<'ctx>, PointerValue<'ctx>)> {
        let o = &self.cx.offsets;
        let callee = self.b.load_ptr_field(funcref, o.func_ref_wasm_call(), Access::Invariant)?;
        let callee_vmctx = self.b.load_ptr_field(funcref, o.func_ref_vmctx(), Access::Invariant)?;
        Ok((callee, callee_vmctx))
    }

    /// Calls the entry point `callee` of module type `type_index` with
    /// `callee_vmctx` and the parameters on the stack.
    fn call_through(
        &mut self,
        type_index: u32,
        callee: PointerValue<'ctx>,
        callee_vmctx: PointerValue<'ctx>,
        kind: CallKind,
    ) -> Result<()> {
        let params = self.cx.env.meta.types[type_index as usize].ty.params.len();
        let args = self.call_args(callee_vmctx.into(), params)?;
        self.finish_call(kind, type_index, Callee::Indirect(callee), &args)
    }

    /// Makes the call of `callee` the way `kind` says.
    fn finish_call(
        &mut self,
        kind: CallKind,
        type_index: u32,
        callee: Callee<'ctx>,
        args: &[BasicValueEnum<'ctx>],
    ) -> Result<()> {
        match kind {
            CallKind::Plain => self.emit_call(type_index, callee, args),
            CallKind::Tail => self.emit_tail_call(type_index, callee, args),
        }
    }

    /// Returns `values`, the function's results: in a register, or through
    /// the return area when there are several.
    pub(super) fn return_values(&self, values: &[BasicValueEnum<'ctx>]) -> Result<()> {
        match (self.results_area, values) {
            (Some(area), _) => {
                self.b.store_slots(area, values)?;
                self.b.ret(None)
            }
            (None, []) => self.b.ret(None),
            (None, [single]) => self.b.ret(Some(*single)),
            (None, _) => Err(CompileError::internal("several results without a return area")),
        }
    }

    /// `(callee_vmctx, caller_vmctx, params...)`, popping the parameters.
    fn call_args(&mut self, callee_vmctx: BasicValueEnum<'ctx>, params: usize) -> Result<Vec<BasicValueEnum<'ctx>>> {
        let mut args = vec![callee_vmctx, self.vmctx.into()];
        args.extend(self.pop_n(params)?);
        Ok(args)
    }

    /// Calls `callee`, of module type `type_index`, and pushes its results.
    pub(super) fn emit_call(&mut self, type_index: u32, callee: Callee<'ctx>, args: &[BasicValueEnum<'ctx>]) -> Result<()> {
        let cx = self.cx;
        let types = cx.result_types(type_index)?;
        if !kiln_abi::uses_return_area(types.len()) {
            let call = cx.call_wasm(&self.b, type_index, callee, args, None)?;
            self.stack.extend(self.b.call_result(call));
            return Ok(());
        }
        let bytes = types.len() as u32 * VAL_RAW_SIZE;
        let area = self.prologue.alloca_bytes(bytes, RETURN_AREA_ALIGN, "results")?;
        self.b.lifetime_start(area, bytes)?;
        cx.call_wasm(&self.b, type_index, callee, args, Some(area))?;
        let results = self.b.load_slots(area, &types)?;
        self.b.lifetime_end(area, bytes)?;
        self.stack.extend(results);
        Ok(())
    }
}

/// Whether two function types are the same signature without consulting
/// the runtime's canonical ids: equal, and with no reference types (whose
/// heap types would need canonical comparison).
fn same_plain_signature(a: &FuncType, b: &FuncType) -> bool {
    a == b && !a.params.iter().chain(&a.results).any(|t| matches!(t, ValType::Ref(_)))
}

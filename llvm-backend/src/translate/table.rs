//! Tables: `table.get`, `table.set`, `table.size`, `table.grow`,
//! `table.fill`, `table.copy`, `table.init`, `elem.drop`, and the element
//! lookup `call_indirect` shares.
//!
//! # Inline, except where segments are involved
//!
//! A table is a `VMTableDefinition { base, current_elements }` — inline in
//! the defining vmctx, or reached through a pointer for an imported table —
//! over an array of pointer-sized elements (a `*const VMFuncRef` or an
//! externref, null for null). Everything that only needs the definition is
//! emitted inline: the bounds check against `current_elements`, element
//! loads and stores, `table.fill` as a store loop and `table.copy` as a
//! `memmove` after both ranges are checked (so the `memmove` never faults).
//! Only what needs runtime state calls a builtin: `table.grow` (reallocates
//! the elements), `table.init` and `elem.drop` (element segments live in
//! the runtime's instance data).
//!
//! # Tables that never grow
//!
//! A table declared with maximum = minimum can never change size: a defined
//! one is created at that size, and an imported one must have at least the
//! minimum and at most the maximum. Its size is then a compile-time constant
//! and its element array never moves, so the base is loaded once per
//! function with `!invariant.load` and the bounds check compares with a
//! constant. Toolchains emit exactly such tables for `call_indirect`.
//! Every other table's `base` and `current_elements` are reloaded at each
//! use (tagged [`Access::Table`], so stores to elements or linear memory do
//! not force a reload, but calls do).
//!
//! Indices and lengths are `i32` operands; sums are computed in `i64`, where
//! they cannot overflow. A 64-bit table (table64) takes `i64` indices,
//! lengths and deltas and returns an `i64` size; its range checks are
//! `len > size || start > size - len`, which no sum wrapping around 2^64
//! can fool (`table.copy` between a 32-bit and a 64-bit table takes its
//! length in `i32`, the smaller index type).

use super::{FuncTranslator, Invariant};
use crate::codegen::builder::Access;
use crate::error::Result;
use inkwell::IntPredicate;
use inkwell::values::{BasicValue, IntValue, PointerValue};
use kiln_abi::{Builtin, TrapCode};

/// Where a table's elements are and how many there are, at one point of the
/// function.
#[derive(Clone, Copy)]
pub(super) struct TableView<'ctx> {
    /// The first element.
    pub base: PointerValue<'ctx>,
    /// The number of elements, as an `i64`.
    pub len: IntValue<'ctx>,
}

impl<'ctx> FuncTranslator<'_, 'ctx> {
    /// The current elements and size of table `index`.
    pub(super) fn table_view(&mut self, index: u32) -> Result<TableView<'ctx>> {
        let limits = self.cx.env.tables[index as usize].limits;
        if limits.max == Some(limits.min) {
            let base = self.invariant(Invariant::FixedTableBase(index))?.into_pointer_value();
            return Ok(TableView { base, len: self.b.i64_const(limits.min as i64) });
        }
        let o = &self.cx.offsets;
        let definition = self.table_definition(index)?;
        let len = self.b.load_intptr_field(definition, o.table_definition_current_elements(), Access::Table)?;
        let len = self.b.zext_or_same(len, self.cx.types.i64)?;
        let base = self.b.load_ptr_field(definition, o.table_definition_base(), Access::Table)?;
        Ok(TableView { base, len })
    }

    /// The `VMTableDefinition` of table `index`.
    pub(super) fn table_definition(&mut self, index: u32) -> Result<PointerValue<'ctx>> {
        let imported = self.cx.env.num_imported.tables;
        if index < imported {
            return Ok(self.invariant(Invariant::ImportedTable(index))?.into_pointer_value());
        }
        self.b.const_offset(self.vmctx, self.cx.offsets.defined_table(index - imported).into())
    }

    /// The address of element `index` (an `i64` already checked against
    /// the size, or equal to it for an empty range).
    pub(super) fn element_address(
        &self,
        base: PointerValue<'ctx>,
        index: IntValue<'ctx>,
    ) -> Result<PointerValue<'ctx>> {
        let intptr = self.cx.types.intptr;
        let index = self.b.trunc_or_same(index, intptr)?;
        let size = intptr.const_int(u64::from(self.cx.offsets.table_element_size()), false);
        self.b.byte_offset(base, self.b.int_mul(index, size)?)
    }

    /// Whether table `table` is a 64-bit table (table64).
    fn is_table64(&self, table: u32) -> bool {
        self.cx.env.tables.get(table as usize).is_some_and(|t| t.table64)
    }

    /// The type of table `table`'s indices and sizes.
    fn table_index_type(&self, table: u32) -> inkwell::types::IntType<'ctx> {
        if self.is_table64(table) { self.cx.types.i64 } else { self.cx.types.i32 }
    }

    /// Traps with "out of bounds table access" unless `start + len <= size`
    /// (all `i64`; `start` and `len` below 2^32 unless table `table` is a
    /// 64-bit table, whose check does not let the sum wrap).
    fn check_range(
        &mut self,
        table: u32,
        start: IntValue<'ctx>,
        len: IntValue<'ctx>,
        size: IntValue<'ctx>,
    ) -> Result<()> {
        let out_of_bounds = if self.is_table64(table) {
            let too_long = self.b.icmp(IntPredicate::UGT, len, size)?;
            let room = self.b.int_sub(size, len)?;
            let too_far = self.b.icmp(IntPredicate::UGT, start, room)?;
            self.b.or(too_long, too_far)?
        } else {
            let end = self.b.int_add(start, len)?;
            self.b.icmp(IntPredicate::UGT, end, size)?
        };
        self.trap_if(out_of_bounds, TrapCode::TableOutOfBounds)
    }

    /// Pops an element index and returns the address of that element of
    /// `table`, trapping with "out of bounds table access" past the end.
    fn checked_element(&mut self, table: u32) -> Result<PointerValue<'ctx>> {
        let index = self.pop_u32_as_i64()?;
        let view = self.table_view(table)?;
        let out_of_bounds = self.b.icmp(IntPredicate::UGE, index, view.len)?;
        self.trap_if(out_of_bounds, TrapCode::TableOutOfBounds)?;
        self.element_address(view.base, index)
    }

    pub(super) fn table_get(&mut self, table: u32) -> Result<()> {
        let address = self.checked_element(table)?;
        let value = self.b.load(self.cx.types.ptr.into(), address, Access::TableElement)?;
        self.push(value);
        Ok(())
    }

    pub(super) fn table_set(&mut self, table: u32) -> Result<()> {
        let value = self.pop_ptr()?;
        let address = self.checked_element(table)?;
        self.b.store(address, value.into(), Access::TableElement)
    }

    pub(super) fn table_size(&mut self, table: u32) -> Result<()> {
        let view = self.table_view(table)?;
        let size = self.b.trunc_or_same(view.len, self.table_index_type(table))?;
        self.push(size);
        Ok(())
    }

    pub(super) fn table_grow(&mut self, table: u32) -> Result<()> {
        let delta = self.pop_u32_as_i64()?;
        let init = self.pop_ptr()?;
        let args = [self.vmctx.into(), self.b.i32_const(table as i32).into(), delta.into(), init.into()];
        let previous = self.call_int_builtin(Builtin::table_grow, &args)?;
        let previous = self.b.trunc_or_same(previous, self.table_index_type(table))?;
        self.push(previous);
        Ok(())
    }

    /// `table.fill`: checks the range, then stores the value in a loop.
    pub(super) fn table_fill(&mut self, table: u32) -> Result<()> {
        let len = self.pop_u32_as_i64()?;
        let value = self.pop_ptr()?;
        let start = self.pop_u32_as_i64()?;
        let view = self.table_view(table)?;
        self.check_range(table, start, len, view.len)?;
        let end = self.b.int_add(start, len)?;

        let before = self.b.current_block()?;
        let header = self.b.append_block("fill")?;
        let body = self.b.append_block("fill.body")?;
        let done = self.b.append_block("fill.end")?;
        self.b.br(header)?;
        self.b.position_at_end(header);
        let index = self.b.phi(self.cx.types.i64.into())?;
        let current = index.as_basic_value().into_int_value();
        let more = self.b.icmp(IntPredicate::ULT, current, end)?;
        self.b.cond_br(more, body, done)?;
        self.b.position_at_end(body);
        let address = self.element_address(view.base, current)?;
        self.b.store(address, value.into(), Access::TableElement)?;
        let next = self.b.int_add(current, self.b.i64_const(1))?;
        index.add_incoming(&[(&start as &dyn BasicValue, before), (&next as &dyn BasicValue, body)]);
        self.b.br(header)?;
        self.b.position_at_end(done);
        Ok(())
    }

    /// `table.copy`: checks both ranges, then one `memmove` (the ranges may
    /// overlap when both tables are the same).
    pub(super) fn table_copy(&mut self, dst_table: u32, src_table: u32) -> Result<()> {
        let len = self.pop_u32_as_i64()?;
        let src = self.pop_u32_as_i64()?;
        let dst = self.pop_u32_as_i64()?;
        let src_view = self.table_view(src_table)?;
        let dst_view = self.table_view(dst_table)?;
        self.check_range(src_table, src, len, src_view.len)?;
        self.check_range(dst_table, dst, len, dst_view.len)?;
        let element_size = self.cx.offsets.table_element_size();
        let bytes = self.b.int_mul(len, self.b.i64_const(i64::from(element_size)))?;
        let from = self.element_address(src_view.base, src)?;
        let to = self.element_address(dst_view.base, dst)?;
        self.b.memmove(to, from, bytes, element_size, Access::TableElement)
    }

    /// `table.init`: the `table_init` builtin, which checks the ranges.
    pub(super) fn table_init(&mut self, elem: u32, table: u32) -> Result<()> {
        let len = self.pop_u32_as_i64()?;
        let src = self.pop_u32_as_i64()?;
        let dst = self.pop_u32_as_i64()?;
        let args = [
            self.vmctx.into(),
            self.b.i32_const(table as i32).into(),
            self.b.i32_const(elem as i32).into(),
            dst.into(),
            src.into(),
            len.into(),
        ];
        self.call_fallible_builtin(Builtin::table_init, &args)
    }

    pub(super) fn elem_drop(&mut self, elem: u32) -> Result<()> {
        let args = [self.vmctx.into(), self.b.i32_const(elem as i32).into()];
        self.call_void_builtin(Builtin::elem_drop, &args)
    }
}

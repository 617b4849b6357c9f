//! Exception handling: `throw`, `throw_ref`, `try_table` with its four
//! kinds of catch clause, and the legacy `try`/`catch`/`catch_all`/
//! `delegate`/`rethrow`.
//!
//! # Zero cost until something throws
//!
//! A handler is an LLVM landing pad, and the calls inside a `try` become
//! `invoke`s that name it; code generation turns that into the call-site
//! table of the function's LSDA and call frame information, data the
//! unwinder reads only when an exception is raised. Code without `try`
//! is the same as without exception handling: a call is a call.
//!
//! # Raising
//!
//! `throw $t` asks the runtime for a new exception object of tag `$t`
//! (`exn_new`), stores the operands into its payload slots and passes it
//! to `throw_ref`, the one builtin that unwinds. The runtime raises it
//! through the system unwinder as a *forced* unwind: every frame's
//! landing pad runs, as for a cleanup, and the personality routine is
//! the C language's `__gcc_personality_v0`, which only finds a call
//! site's landing pad. Which handler catches which tag is decided here, in
//! generated code, not by the personality: a landing pad loads the
//! exception's tag (its identity is the address of a `VMTag`, the
//! instance's own for a defined tag, the exporter's for an imported one)
//! and compares it with each clause's tag in order. A match branches to
//! the clause's label with the payload (and, for the `_ref` clauses, the
//! `exnref`); an exception no clause takes is raised again with
//! `throw_ref` from the landing pad, which continues to the enclosing
//! handler (an `invoke` of it) or out of the function.
//!
//! An `exnref` is the exception object's address: the landing pad gets it
//! from the unwinder, since the unwind header is the object's first field
//! (`kiln_abi::exceptions`).
//!
//! # Frames and landing pads
//!
//! Every control frame records the landing pad of the calls directly
//! inside it ([`ControlFrame::unwind`](super::control::ControlFrame)):
//! its parent's, except in the body of a `try_table` or of a legacy
//! `try`, where it is the frame's own. The builder's current landing pad
//! follows the innermost frame. A `try_table`'s handlers are emitted when
//! it opens, since its catch labels are resolved outside it; a legacy
//! `try`'s are built clause by clause as `catch` and `catch_all` arrive,
//! and a `catch` body runs under the enclosing frame's landing pad.
//! `delegate l` raises what reaches the `try`'s landing pad again under
//! the landing pad of frame `l` (out of the function for the outermost
//! label). Tail calls are never `invoke`s: their frame is gone when the
//! callee runs, so no handler of theirs can apply.
//!
//! Traps are not exceptions: they leave wasm with `siglongjmp` and never
//! meet a landing pad.

use super::control::{ControlFrame, FrameKind};
use super::{FuncTranslator, Invariant};
use crate::codegen::builder::Access;
use crate::error::{CompileError, Result};
use inkwell::IntPredicate;
use inkwell::basic_block::BasicBlock;
use inkwell::types::BasicTypeEnum;
use inkwell::values::{IntValue, PointerValue};
use kiln_abi::exceptions::{EXN_PAYLOAD_OFFSET, EXN_TAG_OFFSET};
use kiln_abi::{Builtin, TrapCode};
use wasmparser::{BlockType, Catch, TryTable};

/// The state of a legacy `try` frame.
pub(super) struct LegacyTry<'ctx> {
    /// The exception its landing pad received.
    exn: PointerValue<'ctx>,
    /// Where the test of the next `catch` goes: an exception that reached
    /// it matched no clause so far. `None` after `catch_all`.
    miss: Option<BasicBlock<'ctx>>,
    /// Whether a `catch` or `catch_all` body has begun (`rethrow` of this
    /// frame raises `exn` again).
    in_catch: bool,
}

impl<'ctx> FuncTranslator<'_, 'ctx> {
    /// The identity of tag `index` (a `*const VMTag`).
    fn tag_identity(&mut self, index: u32) -> Result<PointerValue<'ctx>> {
        Ok(self.invariant(Invariant::Tag(index))?.into_pointer_value())
    }

    /// The LLVM types of tag `index`'s parameters (its payload).
    fn tag_params(&self, index: u32) -> Result<Vec<BasicTypeEnum<'ctx>>> {
        let type_index = *self
            .cx
            .env
            .tags
            .get(index as usize)
            .ok_or_else(|| CompileError::internal(format_args!("tag {index} does not exist")))?;
        let ty = &self.cx.env.meta.types[type_index as usize].ty;
        ty.params.iter().map(|&t| self.cx.val_type(t)).collect()
    }

    /// Whether exception `exn` is of tag `index` (an `i1`).
    fn has_tag(&mut self, exn: PointerValue<'ctx>, index: u32) -> Result<IntValue<'ctx>> {
        let found = self.b.load_ptr_field(exn, EXN_TAG_OFFSET, Access::ValRaw)?;
        let expected = self.tag_identity(index)?;
        self.b.icmp(IntPredicate::EQ, self.b.ptr_to_int(found)?, self.b.ptr_to_int(expected)?)
    }

    /// Raises `exn` (not null) through `throw_ref`; what follows is dead.
    fn raise(&mut self, exn: PointerValue<'ctx>) -> Result<()> {
        self.needs_stack_check = true;
        let builtins = self.invariant(Invariant::Builtins)?.into_pointer_value();
        self.cx.throw_ref(&self.b, builtins, self.vmctx, exn)
    }

    pub(super) fn throw(&mut self, tag: u32) -> Result<()> {
        let params = self.tag_params(tag)?;
        let values = self.pop_n(params.len())?;
        let index = self.b.i32_const(tag as i32);
        let builtins = self.invariant(Invariant::Builtins)?.into_pointer_value();
        let exn = self
            .cx
            .call_builtin(&self.b, builtins, Builtin::exn_new, &[self.vmctx.into(), index.into()])?
            .ok_or_else(|| CompileError::internal("exn_new returned nothing"))?
            .into_pointer_value();
        let payload = self.b.const_offset(exn, EXN_PAYLOAD_OFFSET.into())?;
        self.b.store_slots(payload, &values)?;
        self.raise(exn)?;
        self.reachable = false;
        Ok(())
    }

    pub(super) fn throw_ref(&mut self) -> Result<()> {
        let exn = self.pop_ptr()?;
        let is_null = self.b.is_null(exn)?;
        self.trap_if(is_null, TrapCode::NullExceptionReference)?;
        self.raise(exn)?;
        self.reachable = false;
        Ok(())
    }

    /// Starts a landing pad block and returns it with the exception it
    /// receives; the builder stays where it was.
    fn new_landing_pad(&mut self, name: &str) -> Result<(BasicBlock<'ctx>, PointerValue<'ctx>)> {
        let personality = self.cx.personality();
        self.function()?.set_personality_function(personality);
        let here = self.b.current_block()?;
        let pad = self.b.append_block(name)?;
        self.b.position_at_end(pad);
        let exn = self.b.landing_pad(personality)?;
        self.b.position_at_end(here);
        Ok((pad, exn))
    }

    /// Opens a `try_table` or legacy `try` frame of type `ty` whose body's
    /// calls unwind to `pad`.
    fn open_try(&mut self, kind: FrameKind<'ctx>, ty: BlockType, pad: BasicBlock<'ctx>) -> Result<()> {
        self.push_block(kind, ty, "try.end")?;
        self.handle_in_top_frame(Some(pad))
    }

    /// Makes `pad` the landing pad of the innermost frame's calls.
    fn handle_in_top_frame(&mut self, pad: Option<BasicBlock<'ctx>>) -> Result<()> {
        let frame = self.control.last_mut().ok_or_else(|| CompileError::internal("no frame for a handler"))?;
        frame.unwind = pad;
        self.b.set_unwind(pad);
        Ok(())
    }

    pub(super) fn try_table(&mut self, table: TryTable) -> Result<()> {
        if !self.enter_live_block() {
            return Ok(());
        }
        let (pad, exn) = self.new_landing_pad("try_table.pad")?;
        let here = self.b.current_block()?;
        self.b.position_at_end(pad);
        self.dispatch(exn, &table.catches)?;
        self.b.position_at_end(here);
        self.open_try(FrameKind::TryTable, table.ty, pad)
    }

    /// Emits, at the end of a landing pad that received `exn`, the tests of
    /// a `try_table`'s clauses in order, each branching to its label (in
    /// the frames outside the `try_table`), and raises `exn` again if none
    /// matches.
    fn dispatch(&mut self, exn: PointerValue<'ctx>, catches: &[Catch]) -> Result<()> {
        for catch in catches {
            let (tag_index, label, with_ref) = match *catch {
                Catch::One { tag, label } => (Some(tag), label, false),
                Catch::OneRef { tag, label } => (Some(tag), label, true),
                Catch::All { label } => (None, label, false),
                Catch::AllRef { label } => (None, label, true),
            };
            let Some(tag_index) = tag_index else {
                self.branch_with_exception(exn, None, label, with_ref)?;
                return Ok(());
            };
            let matches = self.has_tag(exn, tag_index)?;
            let hit = self.b.append_block("catch")?;
            let miss = self.b.append_block("catch.next")?;
            self.b.cond_br(matches, hit, miss)?;
            self.b.position_at_end(hit);
            self.branch_with_exception(exn, Some(tag_index), label, with_ref)?;
            self.b.position_at_end(miss);
        }
        self.raise(exn)
    }

    /// Branches to `label` with the payload of `exn` (of tag `tag`, if
    /// given) and `exn` itself when `with_ref`.
    fn branch_with_exception(
        &mut self,
        exn: PointerValue<'ctx>,
        tag: Option<u32>,
        label: u32,
        with_ref: bool,
    ) -> Result<()> {
        let height = self.stack.len();
        self.push_payload(exn, tag)?;
        if with_ref {
            self.push(exn);
        }
        let target = self.branch_target(label)?;
        self.stack.truncate(height);
        self.b.br(target)
    }

    /// Pushes the payload of `exn`, whose tag is `tag` (nothing for none).
    fn push_payload(&mut self, exn: PointerValue<'ctx>, tag: Option<u32>) -> Result<()> {
        let Some(tag) = tag else { return Ok(()) };
        let types = self.tag_params(tag)?;
        let payload = self.b.const_offset(exn, EXN_PAYLOAD_OFFSET.into())?;
        let values = self.b.load_slots(payload, &types)?;
        self.stack.extend(values);
        Ok(())
    }

    // ---- the legacy instructions ----

    pub(super) fn legacy_try(&mut self, ty: BlockType) -> Result<()> {
        if !self.enter_live_block() {
            return Ok(());
        }
        let (pad, exn) = self.new_landing_pad("try.pad")?;
        self.open_try(FrameKind::Try(LegacyTry { exn, miss: Some(pad), in_catch: false }), ty, pad)
    }

    /// `catch $t` (`Some`) or `catch_all` (`None`): ends the `try` body or
    /// the previous clause's, and starts this clause's body, which its
    /// test at the end of the chain of misses leads to.
    pub(super) fn legacy_catch(&mut self, tag: Option<u32>) -> Result<()> {
        if self.dead_depth > 0 {
            return Ok(());
        }
        self.fall_through()?;
        let outer = self.control.len().checked_sub(2).and_then(|i| self.control[i].unwind);
        let frame = self.control.last_mut().ok_or_else(|| CompileError::internal("`catch` without frame"))?;
        let FrameKind::Try(legacy) = &mut frame.kind else {
            return Err(CompileError::internal("`catch` outside `try`"));
        };
        let miss = legacy.miss.take().ok_or_else(|| CompileError::internal("`catch` after `catch_all`"))?;
        legacy.in_catch = true;
        let (exn, height, facts) = (legacy.exn, frame.height, frame.facts);
        self.handle_in_top_frame(outer)?;
        self.b.position_at_end(miss);
        let body = self.b.append_block("catch")?;
        if let Some(tag) = tag {
            let matches = self.has_tag(exn, tag)?;
            let next = self.b.append_block("catch.next")?;
            self.b.cond_br(matches, body, next)?;
            if let Some(FrameKind::Try(legacy)) = self.control.last_mut().map(|f| &mut f.kind) {
                legacy.miss = Some(next);
            }
        } else {
            self.b.br(body)?;
        }
        self.b.position_at_end(body);
        self.stack.truncate(height);
        self.push_payload(exn, tag)?;
        self.path.forget_since(facts);
        self.reachable = true;
        Ok(())
    }

    /// At the `end` (or `delegate`) of a popped legacy `try`: an exception
    /// no clause took is raised again, under the landing pad `delegate`
    /// names (`Some`) or the enclosing frame's.
    pub(super) fn end_legacy_try(
        &mut self,
        legacy: &LegacyTry<'ctx>,
        delegate_to: Option<Option<BasicBlock<'ctx>>>,
    ) -> Result<()> {
        let Some(miss) = legacy.miss else { return Ok(()) };
        let here = self.b.current_block()?;
        let enclosing = self.control.last().and_then(|f| f.unwind);
        self.b.set_unwind(delegate_to.unwrap_or(enclosing));
        self.b.position_at_end(miss);
        self.raise(legacy.exn)?;
        self.b.set_unwind(enclosing);
        self.b.position_at_end(here);
        Ok(())
    }

    /// `delegate l`: ends a `try` without clauses; what reaches its landing
    /// pad is raised again under frame `l`'s landing pad, counted from the
    /// frame enclosing the `try`.
    pub(super) fn delegate(&mut self, relative_depth: u32) -> Result<()> {
        if self.dead_depth > 0 {
            self.dead_depth -= 1;
            return Ok(());
        }
        self.fall_through()?;
        let frame = self.pop_frame()?;
        let FrameKind::Try(legacy) = &frame.kind else {
            return Err(CompileError::internal("`delegate` outside `try`"));
        };
        let target = self
            .control
            .len()
            .checked_sub(relative_depth as usize + 1)
            .ok_or_else(|| CompileError::internal("`delegate` depth out of range"))?;
        let unwind = self.control[target].unwind;
        self.end_legacy_try(legacy, Some(unwind))?;
        self.close_frame(frame)
    }

    /// `rethrow l`: raises again the exception caught by the `catch` or
    /// `catch_all` body at label `l`.
    pub(super) fn rethrow(&mut self, relative_depth: u32) -> Result<()> {
        let index = self
            .control
            .len()
            .checked_sub(relative_depth as usize + 1)
            .ok_or_else(|| CompileError::internal("`rethrow` depth out of range"))?;
        let exn = match &self.control[index] {
            ControlFrame { kind: FrameKind::Try(LegacyTry { exn, in_catch: true, .. }), .. } => *exn,
            _ => return Err(CompileError::internal("`rethrow` of a label that is no `catch`")),
        };
        self.raise(exn)?;
        self.reachable = false;
        Ok(())
    }
}


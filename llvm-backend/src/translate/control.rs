//! Structured control flow: `block`, `loop`, `if`/`else`, `end`, the
//! branches (`br_on_null` and `br_on_non_null` included), `return`,
//! `unreachable`.
//!
//! Wasm blocks become LLVM basic blocks, and the values a branch carries
//! become phi operands, which is also how multi-value block types (block
//! parameters and several results) fall out for free:
//!
//! * every frame has a `next` block (where `end` continues) with one phi
//!   per result;
//! * a `loop`'s branch target is its header, which has one phi per
//!   parameter; the header's first edge comes from the code before it;
//! * an `if` remembers its parameters so the `else` arm (or the implicit
//!   empty one) starts from the same values.
//!
//! Branching adds the top values of the operand stack to the target's phis
//! as incoming from the current block — once per CFG edge, as LLVM wants,
//! so a `br_table` with several labels to one target adds one per label.
//! Whether `next` is reachable is tracked as edges are added; a `next` no
//! edge reaches is closed with `unreachable` and the code after `end` is
//! dead.

use super::FuncTranslator;
use crate::error::{CompileError, Result};
use inkwell::IntPredicate;
use inkwell::basic_block::BasicBlock;
use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicValue, BasicValueEnum, PhiValue};
use kiln_abi::{TrapCode, ValType};
use wasmparser::{BlockType, BrTable};

/// An open block, loop, `if` or the function body.
pub(super) struct ControlFrame<'ctx> {
    pub(super) kind: FrameKind<'ctx>,
    /// Where execution continues after `end`.
    next: BasicBlock<'ctx>,
    /// One phi per result, in `next`.
    results: Vec<PhiValue<'ctx>>,
    /// Operand-stack height below the frame's parameters.
    pub(super) height: usize,
    /// Whether any edge leads to `next`.
    next_reachable: bool,
    /// The path facts at the frame's start ([`super::path`]).
    pub(super) facts: usize,
    /// The landing pad of calls directly inside the frame (`None`: they
    /// unwind out of the function); see [`super::exceptions`].
    pub(super) unwind: Option<BasicBlock<'ctx>>,
}

pub(super) enum FrameKind<'ctx> {
    Function,
    Block,
    Loop {
        header: BasicBlock<'ctx>,
        /// One phi per parameter, in `header`.
        params: Vec<PhiValue<'ctx>>,
    },
    If {
        /// The `else` arm's block until `else` is seen.
        otherwise: Option<BasicBlock<'ctx>>,
        /// The parameter values the `else` arm starts from.
        params: Vec<BasicValueEnum<'ctx>>,
    },
    /// A `try_table` (its handlers were emitted when it opened).
    TryTable,
    /// A legacy `try` (see [`super::exceptions`]).
    Try(super::exceptions::LegacyTry<'ctx>),
}

impl<'ctx> ControlFrame<'ctx> {
    /// Where a branch to this frame goes, and the phis its values feed.
    fn target(&self) -> (BasicBlock<'ctx>, &[PhiValue<'ctx>]) {
        match &self.kind {
            FrameKind::Loop { header, params } => (*header, params),
            _ => (self.next, &self.results),
        }
    }
}

impl<'ctx> FuncTranslator<'_, 'ctx> {
    /// Opens the function body's frame; its `next` block returns.
    pub(super) fn push_function_frame(&mut self, results: &[ValType]) -> Result<()> {
        let results = results.iter().map(|&r| self.cx.val_type(r)).collect::<Result<Vec<_>>>()?;
        let next = self.b.append_block("return")?;
        let results = self.phis(next, &results)?;
        self.push_frame(FrameKind::Function, next, results, 0);
        Ok(())
    }

    /// Opens a frame, marking where the path facts stand at its start: its
    /// `else` and `end` forget what was learned inside it.
    pub(super) fn push_frame(
        &mut self,
        kind: FrameKind<'ctx>,
        next: BasicBlock<'ctx>,
        results: Vec<PhiValue<'ctx>>,
        height: usize,
    ) {
        let facts = self.path.mark();
        let unwind = self.control.last().and_then(|f| f.unwind);
        self.control.push(ControlFrame { kind, next, results, height, next_reachable: false, facts, unwind });
    }

    /// Opens a block-like frame of type `ty` (a `block`, `try_table` or
    /// legacy `try`): results merge in a new `next` block.
    pub(super) fn push_block(&mut self, kind: FrameKind<'ctx>, ty: BlockType, name: &str) -> Result<()> {
        let (params, results) = self.block_type(ty)?;
        let next = self.b.append_block(name)?;
        let results = self.phis(next, &results)?;
        let height = self.height_below(params.len())?;
        self.push_frame(kind, next, results, height);
        Ok(())
    }

    pub(super) fn block(&mut self, ty: BlockType) -> Result<()> {
        if !self.enter_live_block() {
            return Ok(());
        }
        self.push_block(FrameKind::Block, ty, "block.end")
    }

    pub(super) fn loop_(&mut self, ty: BlockType) -> Result<()> {
        if !self.enter_live_block() {
            return Ok(());
        }
        let (param_types, results) = self.block_type(ty)?;
        let height = self.height_below(param_types.len())?;
        let header = self.b.append_block("loop")?;
        let params = self.phis(header, &param_types)?;
        let entry_values = self.pop_n(params.len())?;
        self.add_incoming(&params, &entry_values)?;
        self.b.br(header)?;
        self.b.position_at_end(header);
        self.path.forget_locals();
        self.stack.extend(params.iter().map(|p| p.as_basic_value()));
        let next = self.b.append_block("loop.end")?;
        let results = self.phis(next, &results)?;
        let kind = FrameKind::Loop { header, params };
        self.push_frame(kind, next, results, height);
        Ok(())
    }

    /// Whether the branch of the instruction being translated (an `if` or
    /// `br_if`) is likely taken, if the module's branch hints say.
    fn branch_hint(&self) -> Option<bool> {
        let offset = u32::try_from(self.offset - self.body_start).ok()?;
        self.cx.env.branch_hints.hint(self.func_index, offset)
    }

    pub(super) fn if_(&mut self, ty: BlockType) -> Result<()> {
        if !self.enter_live_block() {
            return Ok(());
        }
        let cond = self.pop_int()?;
        let cond = self.b.icmp(IntPredicate::NE, cond, cond.get_type().const_zero())?;
        let (param_types, results) = self.block_type(ty)?;
        let height = self.height_below(param_types.len())?;
        let params = self.peek_n(param_types.len())?.to_vec();
        let then = self.b.append_block("then")?;
        let otherwise = self.b.append_block("else")?;
        let next = self.b.append_block("if.end")?;
        let results = self.phis(next, &results)?;
        self.b.cond_br_hinted(cond, then, otherwise, self.branch_hint())?;
        self.b.position_at_end(then);
        let kind = FrameKind::If { otherwise: Some(otherwise), params };
        self.push_frame(kind, next, results, height);
        Ok(())
    }

    pub(super) fn else_(&mut self) -> Result<()> {
        if self.dead_depth > 0 {
            return Ok(());
        }
        self.fall_through()?;
        let frame = self.control.last_mut().ok_or_else(|| CompileError::internal("`else` without frame"))?;
        let FrameKind::If { otherwise, params } = &mut frame.kind else {
            return Err(CompileError::internal("`else` outside `if`"));
        };
        let block = otherwise.take().ok_or_else(|| CompileError::internal("second `else`"))?;
        let params = params.clone();
        let height = frame.height;
        let facts = frame.facts;
        self.stack.truncate(height);
        self.stack.extend(params);
        self.b.position_at_end(block);
        self.path.forget_since(facts);
        self.reachable = true;
        Ok(())
    }

    pub(super) fn end(&mut self) -> Result<()> {
        if self.dead_depth > 0 {
            self.dead_depth -= 1;
            return Ok(());
        }
        self.fall_through()?;
        let frame = self.pop_frame()?;
        if let FrameKind::Try(legacy) = &frame.kind {
            self.end_legacy_try(legacy, None)?;
        }
        self.close_frame(frame)
    }

    /// Pops the innermost frame; calls after it unwind where those of the
    /// enclosing frame do.
    pub(super) fn pop_frame(&mut self) -> Result<ControlFrame<'ctx>> {
        let frame = self.control.pop().ok_or_else(|| CompileError::internal("`end` without frame"))?;
        self.b.set_unwind(self.control.last().and_then(|f| f.unwind));
        Ok(frame)
    }

    /// Continues after a popped frame, in its `next` block.
    pub(super) fn close_frame(&mut self, mut frame: ControlFrame<'ctx>) -> Result<()> {
        if let FrameKind::If { otherwise: Some(block), params } = &frame.kind {
            // An `if` without `else`: the empty arm passes its parameters on.
            self.b.position_at_end(*block);
            self.add_incoming(&frame.results, params)?;
            self.b.br(frame.next)?;
            frame.next_reachable = true;
        }
        self.stack.truncate(frame.height);
        self.b.position_at_end(frame.next);
        self.path.forget_since(frame.facts);
        self.reachable = frame.next_reachable;
        if !self.reachable {
            return self.b.unreachable();
        }
        let values: Vec<_> = frame.results.iter().map(|p| p.as_basic_value()).collect();
        match frame.kind {
            FrameKind::Function => self.return_values(&values),
            _ => {
                self.stack.extend(values);
                Ok(())
            }
        }
    }

    pub(super) fn br(&mut self, relative_depth: u32) -> Result<()> {
        let target = self.branch_target(relative_depth)?;
        self.b.br(target)?;
        self.reachable = false;
        Ok(())
    }

    pub(super) fn br_if(&mut self, relative_depth: u32) -> Result<()> {
        let cond = self.pop_int()?;
        let cond = self.b.icmp(IntPredicate::NE, cond, cond.get_type().const_zero())?;
        let target = self.branch_target(relative_depth)?;
        let cont = self.b.append_block("br_if.cont")?;
        self.b.cond_br_hinted(cond, target, cont, self.branch_hint())?;
        self.b.position_at_end(cont);
        Ok(())
    }

    /// `br_on_null`: branches with the values below the reference if it is
    /// null; otherwise continues with the reference back on the stack.
    pub(super) fn br_on_null(&mut self, relative_depth: u32) -> Result<()> {
        let reference = self.pop_ptr()?;
        let is_null = self.b.is_null(reference)?;
        let target = self.branch_target(relative_depth)?;
        let cont = self.b.append_block("br_on_null.cont")?;
        self.b.cond_br(is_null, target, cont)?;
        self.b.position_at_end(cont);
        self.push(reference);
        Ok(())
    }

    /// `br_on_non_null`: branches with the values and the reference if it
    /// is not null; otherwise drops it and continues.
    pub(super) fn br_on_non_null(&mut self, relative_depth: u32) -> Result<()> {
        let reference = self.pop_ptr()?;
        let is_not_null = self.b.is_not_null(reference)?;
        self.push(reference);
        let target = self.branch_target(relative_depth)?;
        self.pop()?;
        let cont = self.b.append_block("br_on_non_null.cont")?;
        self.b.cond_br(is_not_null, target, cont)?;
        self.b.position_at_end(cont);
        Ok(())
    }

    pub(super) fn br_table(&mut self, targets: BrTable<'_>) -> Result<()> {
        let index = self.pop_int()?;
        let default = self.branch_target(targets.default())?;
        let mut cases = Vec::with_capacity(targets.len() as usize);
        for (i, depth) in targets.targets().enumerate() {
            let depth = depth.map_err(|e| self.invalid(e))?;
            cases.push((self.b.i32_const(i as i32), self.branch_target(depth)?));
        }
        self.b.switch(index, default, &cases)?;
        self.reachable = false;
        Ok(())
    }

    pub(super) fn return_(&mut self) -> Result<()> {
        self.br(self.control.len() as u32 - 1)
    }

    pub(super) fn unreachable(&mut self) -> Result<()> {
        self.trap(TrapCode::UnreachableCodeReached)
    }

    /// In dead code, counts a nested block and returns false; otherwise
    /// returns true.
    pub(super) fn enter_live_block(&mut self) -> bool {
        if !self.reachable {
            self.dead_depth += 1;
        }
        self.reachable
    }

    /// Adds an edge from the current block to the frame `relative_depth`
    /// levels out, carrying the values on top of the stack, and returns
    /// the block to branch to.
    pub(super) fn branch_target(&mut self, relative_depth: u32) -> Result<BasicBlock<'ctx>> {
        let index = self
            .control
            .len()
            .checked_sub(relative_depth as usize + 1)
            .ok_or_else(|| CompileError::internal("branch depth out of range"))?;
        let (target, phis) = self.control[index].target();
        let phis = phis.to_vec();
        let values = self.peek_n(phis.len())?.to_vec();
        self.add_incoming(&phis, &values)?;
        if !matches!(self.control[index].kind, FrameKind::Loop { .. }) {
            self.control[index].next_reachable = true;
        }
        Ok(target)
    }

    /// At `else` or `end` of a live arm, branches to the frame's `next`.
    pub(super) fn fall_through(&mut self) -> Result<()> {
        if !self.reachable {
            return Ok(());
        }
        let frame = self.control.last_mut().ok_or_else(|| CompileError::internal("no frame to end"))?;
        frame.next_reachable = true;
        let (next, results) = (frame.next, frame.results.clone());
        let values = self.peek_n(results.len())?.to_vec();
        self.add_incoming(&results, &values)?;
        self.b.br(next)
    }

    fn add_incoming(&self, phis: &[PhiValue<'ctx>], values: &[BasicValueEnum<'ctx>]) -> Result<()> {
        let block = self.b.current_block()?;
        for (phi, value) in phis.iter().zip(values) {
            phi.add_incoming(&[(value as &dyn BasicValue, block)]);
        }
        Ok(())
    }

    /// One phi per type at the start of the (empty) block `block`.
    fn phis(&self, block: BasicBlock<'ctx>, types: &[BasicTypeEnum<'ctx>]) -> Result<Vec<PhiValue<'ctx>>> {
        if types.is_empty() {
            return Ok(Vec::new());
        }
        let current = self.b.current_block()?;
        self.b.position_at_end(block);
        let phis = types.iter().map(|&ty| self.b.phi(ty)).collect();
        self.b.position_at_end(current);
        phis
    }

    /// The stack height below the top `params` values.
    fn height_below(&self, params: usize) -> Result<usize> {
        self.stack.len().checked_sub(params).ok_or_else(|| CompileError::internal("operand stack underflow"))
    }

    /// Parameter and result types of a block type.
    fn block_type(&self, ty: BlockType) -> Result<(Vec<BasicTypeEnum<'ctx>>, Vec<BasicTypeEnum<'ctx>>)> {
        let llvm = |types: &[ValType]| types.iter().map(|&t| self.cx.val_type(t)).collect::<Result<Vec<_>>>();
        match ty {
            BlockType::Empty => Ok((Vec::new(), Vec::new())),
            BlockType::Type(t) => {
                let t = crate::environ::val_type(t, self.offset)?;
                Ok((Vec::new(), vec![self.cx.val_type(t).map_err(|e| self.locate(e))?]))
            }
            BlockType::FuncType(index) => {
                let ty = &self.cx.env.meta.types[index as usize].ty;
                Ok((llvm(&ty.params)?, llvm(&ty.results)?))
            }
        }
    }
}

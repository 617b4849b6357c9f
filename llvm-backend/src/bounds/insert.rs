//! Every marked access gets its bounds check.
//!
//! The translator marks linear-memory accesses instead of checking them
//! (`FnBuilder::mark_access`), so that the passes that need loops exactly
//! as wasm wrote them (`crate::reroll`, `crate::running_sums`) see them
//! one block long. Then, before LLVM's pipeline, this pass splits the
//! block before each marked access and ends the part before it with
//! `zext(address) + end > length` (`FnBuilder::bounds_check`) branching to
//! a block that raises "out of bounds memory access". Nothing of the
//! access is taken on trust: the address and the end come from the
//! access's own pointer (`base + zext(address) + offset`, a chain of
//! `getelementptr i8`) and size. A 64-bit memory's address is an `i64`
//! that `address + end` may wrap, and its check is `end > length ||
//! address > length - end` (`FnBuilder::bounds_check64`).
//!
//! The inliner would weigh a function with its checks, as if each stayed a
//! compare and a branch; most do not. A function with `n` checks carries
//! `"function-inline-threshold"`, LLVM's threshold for the level plus what
//! the checks and the trap block cost it, so that what is inlined is
//! decided as it would be without them (a small loop that needs to be
//! inlined to be vectorized, `memcpy`'s word loop).
//!
//! Until then a marked access is `volatile`, so that the passes that run
//! before this one (CFG simplification and `sroa`, `reroll`,
//! `running_sums`) cannot delete it, however unused its value: only blocks
//! that can never execute go, with their accesses. This pass takes the
//! `volatile` off as it inserts the check. Every access of linear memory
//! (TBAA tag "wasm memory") must carry the mark: one that lost it would go
//! unchecked, and the compile stops with an internal error instead.

use crate::codegen::builder::{ACCESS, FnBuilder, Tags, Types};
use crate::error::{CompileError, Result};
use crate::ir::{access_size, leading_phis, move_incoming, operand, successors};
use inkwell::basic_block::BasicBlock;
use inkwell::module::Module;
use inkwell::values::{BasicValue, BasicValueEnum, FunctionValue, InstructionOpcode, InstructionValue, IntValue, PointerValue};

/// What LLVM's inline cost model charges for one check: the address's
/// end, the comparison and the branch (5 per instruction).
const CHECK_INLINE_COST: u32 = 15;
/// What it charges for the block that raises the trap (a call, 25, and
/// the two loads of its address).
const TRAP_INLINE_COST: u32 = 35;

/// Where generated code finds what a check needs, from the VM context
/// layout (`kiln_abi::VMOffsets`) of the module.
#[derive(Clone, Debug)]
pub(crate) struct Sandbox {
    /// Where each memory's current length is, by memory index.
    pub lengths: Vec<LengthAt>,
    /// Which memories are 64-bit (memory64), by memory index: their
    /// addresses are `i64`s used as they are, so `address + end` may wrap
    /// and the check is written so that it does not
    /// (`FnBuilder::bounds_check64`).
    pub memory64: Vec<bool>,
    /// Offset of the builtin table's address in the VM context.
    pub builtins: u32,
    /// Offset of `raise_trap` in the builtin table.
    pub raise_trap: u32,
    /// The trap code of "out of bounds memory access".
    pub trap_code: u32,
}

/// Where a memory's current length is.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LengthAt {
    /// At this offset of the VM context.
    Defined(u32),
    /// At `field` of the definition whose address is at `slot` of the VM
    /// context.
    Imported { slot: u32, field: u32 },
}

/// Gives every marked access of `module` its check (see the module docs).
/// `inline_threshold` is the inliner's threshold at the optimization
/// level, if it inlines: functions with checks get room for them on top.
pub(crate) fn insert_checks<'ctx>(
    module: &Module<'ctx>,
    types: Types<'ctx>,
    sandbox: &Sandbox,
    inline_threshold: Option<u32>,
) -> Result<()> {
    let context = module.get_context();
    let kind = context.get_kind_id(ACCESS);
    let tbaa = context.get_kind_id("tbaa");
    let heap = Tags::new(&types).heap_tag();
    let b = FnBuilder::new(types, Tags::new(&types), module);
    let mut function = module.get_first_function();
    while let Some(f) = function {
        let mut checker = Checker { b: &b, function: f, sandbox, trap: None };
        let mut checks = 0u32;
        for block in f.get_basic_blocks() {
            let mut accesses = Vec::new();
            let mut next = block.get_first_instruction();
            while let Some(i) = next {
                next = i.get_next_instruction();
                if !matches!(i.get_opcode(), InstructionOpcode::Load | InstructionOpcode::Store) {
                    continue;
                }
                match i.get_metadata(kind) {
                    Some(mark) => {
                        let values = mark.get_node_values().unwrap_or_default();
                        let memory = values.first().and_then(|v| int_constant(*v));
                        let memory = memory.ok_or_else(|| CompileError::internal("a malformed access mark"))?;
                        // Volatile kept it alive so far; from here its check
                        // does, and the optimizer may treat it as it likes.
                        i.set_volatile(false).map_err(|e| CompileError::internal(format_args!("volatile: {e}")))?;
                        accesses.push((i, memory as u32));
                    }
                    None if i.get_metadata(tbaa) == Some(heap) => {
                        return Err(CompileError::internal(
                            "a linear-memory access lost its mark before its bounds check was inserted",
                        ));
                    }
                    None => {}
                }
            }
            if !accesses.is_empty() {
                checker.check_block(block, &accesses)?;
                checks += accesses.len() as u32;
            }
        }
        if let Some(base) = inline_threshold.filter(|_| checks > 0) {
            // The inliner weighs a function with its checks as if each stayed
            // a compare and a branch, though most go (handed to the guard
            // region, hoisted out of loops, merged): calls to the function
            // get that much more room, so that checks do not decide what is
            // inlined.
            let bonus = CHECK_INLINE_COST.saturating_mul(checks).saturating_add(TRAP_INLINE_COST);
            let threshold = base.saturating_add(bonus);
            let attribute = context.create_string_attribute("function-inline-threshold", &threshold.to_string());
            f.add_attribute(inkwell::attributes::AttributeLoc::Function, attribute);
        }
        function = f.get_next_function();
    }
    Ok(())
}

/// Inserts the checks of one function.
struct Checker<'a, 'b, 'ctx> {
    b: &'a FnBuilder<'b, 'ctx>,
    function: FunctionValue<'ctx>,
    sandbox: &'a Sandbox,
    /// The block that raises the trap, made on first use.
    trap: Option<BasicBlock<'ctx>>,
}

impl<'ctx> Checker<'_, '_, 'ctx> {
    /// Splits `block` before each of `accesses` (in order) and ends each
    /// part with the check of the access that follows it.
    fn check_block(&mut self, block: BasicBlock<'ctx>, accesses: &[(InstructionValue<'ctx>, u32)]) -> Result<()> {
        let context = block.get_context();
        let builder = context.create_builder();
        // The parts after each access's start: one new block each. Every
        // instruction moves once.
        let mut parts = Vec::with_capacity(accesses.len());
        let mut after = block;
        for _ in accesses {
            after = context.insert_basic_block_after(after, "");
            parts.push(after);
        }
        let mut part = 0;
        let mut next = Some(accesses[0].0);
        while let Some(i) = next {
            next = i.get_next_instruction();
            if accesses.get(part + 1).is_some_and(|(a, _)| *a == i) {
                part += 1;
            }
            i.remove_from_basic_block();
            builder.position_at_end(parts[part]);
            builder.insert_instruction(&i, None);
        }
        // The terminator moved to the last part: its successors' phis now
        // come from there.
        let last = parts[parts.len() - 1];
        for successor in successors(last) {
            for phi in leading_phis(successor) {
                let phi = inkwell::values::PhiValue::try_from(phi)
                    .map_err(|_| CompileError::internal("a phi is not a phi"))?;
                if phi.get_incomings().any(|(_, from)| from == block) {
                    move_incoming(&builder, phi, block, last)?;
                }
            }
        }
        let mut before = block;
        for (&(access, memory), &part) in accesses.iter().zip(&parts) {
            self.b.position_at_end(before);
            let out_of_bounds = self.out_of_bounds(access, memory)?;
            let trap = self.trap_block()?;
            self.b.cond_br(out_of_bounds, trap, part)?;
            before = part;
        }
        Ok(())
    }

    /// `zext(address) + end > length` for `access`, at the position.
    fn out_of_bounds(&self, access: InstructionValue<'ctx>, memory: u32) -> Result<IntValue<'ctx>> {
        let malformed = || CompileError::internal("a marked access is not `base + zext(address) + offset`");
        let is_store = access.get_opcode() == InstructionOpcode::Store;
        let Some(BasicValueEnum::PointerValue(pointer)) = operand(access, if is_store { 1 } else { 0 }) else {
            return Err(malformed());
        };
        let (index, offset) = index_and_offset(pointer).ok_or_else(malformed)?;
        // A constant address folded into the offset.
        let index = index.unwrap_or_else(|| self.b.types.i64.const_zero());
        let size = access_size(access).ok_or_else(malformed)?;
        let length = self.length(memory)?;
        if self.sandbox.memory64.get(memory as usize).copied().unwrap_or(false) {
            // An end past 2^64 is past any memory.
            return self.b.bounds_check64(index, offset.saturating_add(size), length);
        }
        let end = offset.checked_add(size).ok_or_else(malformed)?;
        self.b.bounds_check(index, end, length)
    }

    /// A load of memory `memory`'s current length, at the position.
    fn length(&self, memory: u32) -> Result<IntValue<'ctx>> {
        let vmctx = self.vmctx()?;
        let b = self.b;
        let length = match self.sandbox.lengths.get(memory as usize) {
            Some(LengthAt::Defined(at)) => b.load_intptr_field(vmctx, *at, crate::codegen::builder::Access::MemoryLength)?,
            Some(LengthAt::Imported { slot, field }) => {
                let definition = b.load_ptr_field(vmctx, *slot, crate::codegen::builder::Access::Invariant)?;
                b.load_intptr_field(definition, *field, crate::codegen::builder::Access::MemoryLength)?
            }
            None => return Err(CompileError::internal(format_args!("an access of memory {memory}, which is not there"))),
        };
        b.zext_or_same(length, b.types.i64)
    }

    fn vmctx(&self) -> Result<PointerValue<'ctx>> {
        match self.function.get_first_param() {
            Some(BasicValueEnum::PointerValue(p)) => Ok(p),
            _ => Err(CompileError::internal("a function with accesses has no VM context")),
        }
    }

    /// The block that raises "out of bounds memory access", made on first
    /// use at the end of the function.
    fn trap_block(&mut self) -> Result<BasicBlock<'ctx>> {
        if let Some(block) = self.trap {
            return Ok(block);
        }
        let block = self.b.types.context.append_basic_block(self.function, "trap.bounds");
        let b = FnBuilder::new(self.b.types, Tags::new(&self.b.types), self.b.module());
        b.position_at_end(block);
        let vmctx = self.vmctx()?;
        b.raise_trap(vmctx, self.sandbox.builtins, self.sandbox.raise_trap, self.sandbox.trap_code)?;
        self.trap = Some(block);
        Ok(block)
    }
}

/// `pointer` as `base + index + offset`: a chain of `getelementptr i8` with
/// at most one non-constant index; an offset past 2^64 is `u64::MAX`.
fn index_and_offset(pointer: PointerValue<'_>) -> Option<(Option<IntValue<'_>>, u64)> {
    let mut at: BasicValueEnum<'_> = pointer.into();
    let mut index = None;
    let mut offset = 0u64;
    while let Some(gep) = at.as_instruction_value().filter(|g| g.get_opcode() == InstructionOpcode::GetElementPtr) {
        let bytes = matches!(gep.get_gep_source_element_type().ok()?,
            inkwell::types::BasicTypeEnum::IntType(t) if t.get_bit_width() == 8);
        if gep.get_num_operands() != 2 || !bytes {
            return None;
        }
        let BasicValueEnum::IntValue(i) = operand(gep, 1)? else { return None };
        match i.get_zero_extended_constant() {
            // Only a 64-bit memory's constants can pass 2^64, and such an
            // access is past any memory.
            Some(c) => offset = offset.saturating_add(c),
            None if index.is_none() => index = Some(i),
            None => return None,
        }
        at = operand(gep, 0)?;
    }
    Some((index, offset))
}

fn int_constant(value: inkwell::values::BasicMetadataValueEnum<'_>) -> Option<u64> {
    match value {
        inkwell::values::BasicMetadataValueEnum::IntValue(v) => v.get_zero_extended_constant(),
        _ => None,
    }
}

//! What a loop iteration computes, as symbolic values that can be compared
//! between the copies of an unrolled body.
//!
//! Each value of the loop's block gets a [`Node`], interned so that equal
//! nodes have equal ids. Integer arithmetic is kept as linear forms modulo
//! `2^bits` (`add`, `sub`, multiplication and left shift by constants), so
//! `(a + i) + 8` and `a + (i + 8)` are one form; a loaded value is named by
//! its place among the loop's memory operations; anything else is its
//! opcode, type and operands. [`Forms::shift`] is the same computation
//! done `copy` iterations of the rerolled loop later: each induction
//! variable advanced by `copy` rerolled steps, each loaded value taken from
//! the corresponding operation of the `copy`-th next copy.

use crate::ir::operand;
use inkwell::basic_block::BasicBlock;
use inkwell::types::{AnyType, AnyTypeEnum, AsTypeRef};
use inkwell::values::{AsValueRef, BasicValue, BasicValueEnum, InstructionOpcode, InstructionValue};
use inkwell::{FloatPredicate, IntPredicate};
use std::collections::HashMap;

/// Index of an interned [`Node`].
pub(super) type NodeId = usize;

/// Largest distance between a copy's address and the first copy's that is
/// known not to wrap the 32-bit address once the first copy's access has
/// succeeded: a 32-bit memory ends at least 64 KiB short of 4 GiB
/// (`kiln_abi::WASM32_MEMORY_LIMIT_PAGES`).
const NO_WRAP_DISTANCE: u64 = 65536;

#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) enum Node {
    /// A value from outside the loop, or a constant other than an integer.
    Outside(usize),
    /// Induction variable `k` at the top of the iteration (only ever a
    /// term of a `Linear`).
    Induction(usize),
    /// The value loaded by memory operation `index` of copy `copy`.
    Loaded { copy: usize, index: usize },
    /// `Σ coefficient × term + constant` modulo `2^bits`, terms sorted.
    Linear { bits: u32, terms: Vec<(NodeId, u64)>, constant: u64 },
    /// `base + offset` through byte GEPs; `offset` is a 64-bit `Linear`.
    Address { base: NodeId, offset: NodeId },
    /// Any other operation without side effects: its opcode, result type,
    /// comparison predicate, element type for a GEP, and operands.
    Op {
        opcode: InstructionOpcode,
        ty: usize,
        int: Option<IntPredicate>,
        float: Option<FloatPredicate>,
        element: usize,
        operands: Vec<NodeId>,
    },
}

/// The forms of one loop block's values for one unroll factor.
pub(super) struct Forms<'ctx> {
    block: BasicBlock<'ctx>,
    /// Each induction variable's `phi` and its step per rerolled iteration.
    inductions: Vec<(InstructionValue<'ctx>, i64)>,
    /// Each memory operation's copy and index within its copy.
    places: HashMap<InstructionValue<'ctx>, (usize, usize)>,
    nodes: Vec<Node>,
    ids: HashMap<Node, NodeId>,
    values: HashMap<usize, Option<NodeId>>,
    shifted: HashMap<(NodeId, usize), NodeId>,
}

fn mask(bits: u32) -> u64 {
    if bits >= 64 { u64::MAX } else { (1u64 << bits) - 1 }
}

impl<'ctx> Forms<'ctx> {
    pub(super) fn new(
        block: BasicBlock<'ctx>,
        inductions: Vec<(InstructionValue<'ctx>, i64)>,
        places: HashMap<InstructionValue<'ctx>, (usize, usize)>,
    ) -> Forms<'ctx> {
        Forms {
            block,
            inductions,
            places,
            nodes: Vec::new(),
            ids: HashMap::new(),
            values: HashMap::new(),
            shifted: HashMap::new(),
        }
    }

    fn intern(&mut self, node: Node) -> NodeId {
        if let Some(&id) = self.ids.get(&node) {
            return id;
        }
        self.nodes.push(node.clone());
        self.ids.insert(node, self.nodes.len() - 1);
        self.nodes.len() - 1
    }

    /// The normalized linear form `Σ terms + constant` modulo `2^bits`.
    fn linear(&mut self, bits: u32, terms: Vec<(NodeId, u64)>, constant: u64) -> NodeId {
        let m = mask(bits);
        let mut merged: Vec<(NodeId, u64)> = Vec::with_capacity(terms.len());
        let mut sorted = terms;
        sorted.sort_unstable_by_key(|&(id, _)| id);
        for (id, coefficient) in sorted {
            match merged.last_mut() {
                Some((last, c)) if *last == id => *c = c.wrapping_add(coefficient) & m,
                _ => merged.push((id, coefficient & m)),
            }
        }
        merged.retain(|&(_, c)| c != 0);
        self.intern(Node::Linear { bits, terms: merged, constant: constant & m })
    }

    /// `id` as a linear form of `bits` bits: its terms and constant.
    fn as_linear(&self, id: NodeId, bits: u32) -> Option<(Vec<(NodeId, u64)>, u64)> {
        match &self.nodes[id] {
            Node::Linear { bits: b, terms, constant } if *b == bits => Some((terms.clone(), *constant)),
            _ => None,
        }
    }

    /// `a + factor × b` for two forms of `bits` bits.
    fn combine(&mut self, bits: u32, a: NodeId, b: NodeId, factor: u64) -> Option<NodeId> {
        let (mut terms, ca) = self.as_linear(a, bits)?;
        let (tb, cb) = self.as_linear(b, bits)?;
        terms.extend(tb.into_iter().map(|(t, c)| (t, c.wrapping_mul(factor))));
        Some(self.linear(bits, terms, ca.wrapping_add(cb.wrapping_mul(factor))))
    }

    fn scale(&mut self, bits: u32, a: NodeId, factor: u64) -> Option<NodeId> {
        let (terms, c) = self.as_linear(a, bits)?;
        let terms = terms.into_iter().map(|(t, k)| (t, k.wrapping_mul(factor))).collect();
        Some(self.linear(bits, terms, c.wrapping_mul(factor)))
    }

    /// The constant a form of `bits` bits is, if it is one.
    fn constant(&self, id: NodeId, bits: u32) -> Option<u64> {
        self.as_linear(id, bits).filter(|(terms, _)| terms.is_empty()).map(|(_, c)| c)
    }

    /// Wraps an atom as an integer form if `ty` is a scalar integer.
    fn typed(&mut self, atom: NodeId, ty: AnyTypeEnum<'ctx>) -> Option<NodeId> {
        match ty {
            AnyTypeEnum::IntType(t) if t.get_bit_width() <= 64 => Some(self.linear(t.get_bit_width(), vec![(atom, 1)], 0)),
            AnyTypeEnum::IntType(_) => None,
            _ => Some(atom),
        }
    }

    /// The form of `value`, or `None` if it cannot be given one (a `phi`
    /// that is not an induction variable, an integer wider than 64 bits).
    pub(super) fn value(&mut self, value: BasicValueEnum<'ctx>) -> Option<NodeId> {
        let key = value.as_value_ref() as usize;
        if let Some(&known) = self.values.get(&key) {
            return known;
        }
        let form = self.compute(value);
        self.values.insert(key, form);
        form
    }

    fn compute(&mut self, value: BasicValueEnum<'ctx>) -> Option<NodeId> {
        let inside = value.as_instruction_value().filter(|i| i.get_parent() == Some(self.block));
        let Some(instruction) = inside else {
            if let BasicValueEnum::IntValue(v) = value
                && v.is_const()
            {
                let bits = v.get_type().get_bit_width();
                return (bits <= 64).then(|| v.get_zero_extended_constant()).flatten().map(|c| self.linear(bits, vec![], c));
            }
            let atom = self.intern(Node::Outside(value.as_value_ref() as usize));
            return self.typed(atom, value.get_type().as_any_type_enum());
        };
        let ty = instruction.get_type();
        let bits = match ty {
            AnyTypeEnum::IntType(t) => t.get_bit_width(),
            _ => 0,
        };
        let operand_form = |this: &mut Self, n: u32| operand(instruction, n).and_then(|o| this.value(o));
        match instruction.get_opcode() {
            InstructionOpcode::Phi => {
                let k = self.inductions.iter().position(|&(phi, _)| phi == instruction)?;
                let atom = self.intern(Node::Induction(k));
                self.typed(atom, ty)
            }
            InstructionOpcode::Add | InstructionOpcode::Sub if bits > 0 => {
                let a = operand_form(self, 0)?;
                let b = operand_form(self, 1)?;
                let factor = if instruction.get_opcode() == InstructionOpcode::Add { 1 } else { u64::MAX };
                self.combine(bits, a, b, factor)
            }
            InstructionOpcode::Mul if bits > 0 => {
                let a = operand_form(self, 0)?;
                let b = operand_form(self, 1)?;
                match (self.constant(a, bits), self.constant(b, bits)) {
                    (_, Some(c)) => self.scale(bits, a, c),
                    (Some(c), _) => self.scale(bits, b, c),
                    _ => self.op(instruction, vec![a, b]),
                }
            }
            InstructionOpcode::Shl if bits > 0 => {
                let a = operand_form(self, 0)?;
                let b = operand_form(self, 1)?;
                match self.constant(b, bits) {
                    Some(c) if c < u64::from(bits) => self.scale(bits, a, 1u64 << c),
                    _ => self.op(instruction, vec![a, b]),
                }
            }
            InstructionOpcode::Load => {
                let &(copy, index) = self.places.get(&instruction)?;
                let atom = self.intern(Node::Loaded { copy, index });
                self.typed(atom, ty)
            }
            InstructionOpcode::GetElementPtr if is_byte_gep(instruction) => {
                let base = operand_form(self, 0)?;
                let index = operand_form(self, 1)?;
                self.as_linear(index, 64)?;
                let (base, offset) = match self.nodes[base] {
                    Node::Address { base, offset } => (base, self.combine(64, offset, index, 1)?),
                    _ => (base, index),
                };
                Some(self.intern(Node::Address { base, offset }))
            }
            _ => {
                let mut operands = Vec::new();
                for n in 0..instruction.get_num_operands() {
                    operands.push(operand_form(self, n)?);
                }
                self.op(instruction, operands)
            }
        }
    }

    fn op(&mut self, instruction: InstructionValue<'ctx>, operands: Vec<NodeId>) -> Option<NodeId> {
        let ty = instruction.get_type();
        let element = instruction.get_gep_source_element_type().map_or(0, |t| t.as_type_ref() as usize);
        let atom = self.intern(Node::Op {
            opcode: instruction.get_opcode(),
            ty: ty.as_type_ref() as usize,
            int: instruction.get_icmp_predicate(),
            float: instruction.get_fcmp_predicate(),
            element,
            operands,
        });
        self.typed(atom, ty)
    }

    /// `id` computed `copy` rerolled iterations later.
    pub(super) fn shift(&mut self, id: NodeId, copy: usize) -> NodeId {
        if copy == 0 {
            return id;
        }
        if let Some(&done) = self.shifted.get(&(id, copy)) {
            return done;
        }
        let shifted = match self.nodes[id].clone() {
            Node::Outside(_) | Node::Induction(_) => id,
            Node::Loaded { copy: c, index } => self.intern(Node::Loaded { copy: c + copy, index }),
            Node::Linear { bits, terms, constant } => {
                let mut constant = constant;
                let mut moved = Vec::with_capacity(terms.len());
                for (term, coefficient) in terms {
                    if let Node::Induction(k) = self.nodes[term] {
                        let step = self.inductions[k].1 as u64;
                        constant = constant.wrapping_add(coefficient.wrapping_mul(step).wrapping_mul(copy as u64));
                    }
                    moved.push((self.shift(term, copy), coefficient));
                }
                self.linear(bits, moved, constant)
            }
            Node::Address { base, offset } => {
                let (base, offset) = (self.shift(base, copy), self.shift(offset, copy));
                self.intern(Node::Address { base, offset })
            }
            Node::Op { opcode, ty, int, float, element, operands } => {
                let operands = operands.into_iter().map(|o| self.shift(o, copy)).collect();
                self.intern(Node::Op { opcode, ty, int, float, element, operands })
            }
        };
        self.shifted.insert((id, copy), shifted);
        shifted
    }

    /// Whether copy `copy`'s access at `later` goes where the first copy's
    /// access at `first`, done `copy` rerolled iterations later, goes.
    ///
    /// Equal forms do. So does an address that keeps the first copy's
    /// 32-bit address and moves the constant offset instead (`zext(a) + 8`
    /// where the rerolled loop computes `zext(a + 8)`): the first copy's
    /// access at `zext(a) + c` comes before it in the same iteration, and
    /// once that access has succeeded, `a + 8` cannot wrap.
    pub(super) fn same_address(&mut self, later: NodeId, first: NodeId, copy: usize) -> bool {
        let expected = self.shift(first, copy);
        if later == expected {
            return true;
        }
        let (Node::Address { base: b_later, offset: o_later }, Node::Address { base: b_first, offset: o_first }) =
            (self.nodes[later].clone(), self.nodes[first].clone())
        else {
            return false;
        };
        let Node::Address { base: b_expected, offset: o_expected } = self.nodes[expected].clone() else { return false };
        if b_later != b_first || b_expected != b_first {
            return false;
        }
        let (Some((t_later, c_later)), Some((t_first, c_first)), Some((_, c_expected))) =
            (self.as_linear(o_later, 64), self.as_linear(o_first, 64), self.as_linear(o_expected, 64))
        else {
            return false;
        };
        if t_later != t_first || c_first > u64::from(u32::MAX) {
            return false;
        }
        // Every term must be a zero-extended 32-bit address, added once, so
        // that the first copy's success bounds each of them.
        let mut moved = 0u64;
        for (term, coefficient) in t_first {
            let Some(inner) = self.zext_of_i32(term) else { return false };
            if coefficient != 1 {
                return false;
            }
            let shifted = self.shift(inner, copy);
            let (Some((t_inner, c_inner)), Some((t_shifted, c_shifted))) =
                (self.as_linear(inner, 32), self.as_linear(shifted, 32))
            else {
                return false;
            };
            if t_inner != t_shifted {
                return false;
            }
            let distance = c_shifted.wrapping_sub(c_inner) & mask(32);
            if distance > NO_WRAP_DISTANCE {
                return false;
            }
            moved = moved.wrapping_add(distance);
        }
        c_later == c_expected.wrapping_add(moved)
    }

    /// The 32-bit form `term` zero-extends, if it is such an extension.
    fn zext_of_i32(&self, term: NodeId) -> Option<NodeId> {
        match &self.nodes[term] {
            Node::Op { opcode: InstructionOpcode::ZExt, operands, .. } => {
                let &[inner] = operands.as_slice() else { return None };
                matches!(self.nodes[inner], Node::Linear { bits: 32, .. }).then_some(inner)
            }
            _ => None,
        }
    }

    /// How far the address `id` moves from one rerolled iteration to the
    /// next, if by a constant (reading `zext(a + s)` as `zext(a) + s`).
    pub(super) fn advance(&self, id: NodeId) -> Option<i64> {
        match &self.nodes[id] {
            Node::Outside(_) => Some(0),
            Node::Address { base, offset } => (self.advance(*base)? == 0).then(|| self.advance(*offset)).flatten(),
            Node::Linear { bits, terms, .. } => {
                let mut total = 0i64;
                for &(term, coefficient) in terms {
                    let per_term = match self.nodes[term] {
                        Node::Induction(k) => self.inductions[k].1,
                        _ => self.advance(term)?,
                    };
                    let coefficient = sign_extend(coefficient, *bits);
                    total = total.checked_add(coefficient.checked_mul(per_term)?)?;
                }
                Some(total)
            }
            Node::Op { opcode: InstructionOpcode::ZExt | InstructionOpcode::SExt, operands, .. } if operands.len() == 1 => {
                self.advance(operands[0])
            }
            Node::Op { operands, .. } => operands.iter().all(|&o| self.advance(o) == Some(0)).then_some(0),
            Node::Induction(_) | Node::Loaded { .. } => None,
        }
    }
}

fn sign_extend(value: u64, bits: u32) -> i64 {
    if bits >= 64 { value as i64 } else { ((value << (64 - bits)) as i64) >> (64 - bits) }
}

/// Whether `instruction` is a GEP over bytes with one index.
fn is_byte_gep(instruction: InstructionValue<'_>) -> bool {
    instruction.get_num_operands() == 2
        && instruction
            .get_gep_source_element_type()
            .is_ok_and(|t| matches!(t, inkwell::types::BasicTypeEnum::IntType(i) if i.get_bit_width() == 8))
}

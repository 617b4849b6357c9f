//! A loop's `i32` values as functions of the iteration number.
//!
//! Wasm computes addresses and loop counters in `i32` arithmetic, which
//! wraps modulo 2^32. Such a value is described here by a polynomial
//! ([`Poly`]) over *leaves* — values fixed while the loop runs (defined
//! outside it, or constants) and the loop header's `phi`s — with
//! coefficients modulo 2^32, which is exact for `add`, `sub`, `mul` and
//! `shl` by a constant however they wrap. A header `phi` whose value on the
//! back edge is itself plus a loop-invariant `d` is an induction variable:
//! in iteration `k` it holds `init + d·k`. Substituting every induction
//! variable turns a polynomial of degree at most one in them into an
//! [`Affine`] value `base + step·k`, with `base` and `step` polynomials
//! over invariant leaves only, which code before the loop can compute.

use crate::ir::operand;
use crate::codegen::builder::FnBuilder;
use crate::error::Result;
use inkwell::basic_block::BasicBlock;
use inkwell::values::{BasicValue, BasicValueEnum, InstructionOpcode, InstructionValue, IntValue, PhiValue};
use std::collections::HashMap;

/// Most terms a polynomial may have; bigger ones are not followed.
const MAX_TERMS: usize = 8;
/// Most leaves in one term.
const MAX_DEGREE: usize = 3;
/// Deepest expression followed.
const MAX_DEPTH: u32 = 48;

/// A leaf of the polynomials: its number in [`Leaves`].
type Leaf = usize;

/// A polynomial over leaves, modulo 2^32 or 2^64 (the width of the value
/// it describes): a constant plus terms, each a coefficient times a
/// product of leaves (sorted, so equal polynomials are equal values).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Poly {
    bits: u32,
    constant: u64,
    terms: Vec<(Vec<Leaf>, u64)>,
}

impl Poly {
    /// The constant `c` (reduced modulo 2^`bits`), `bits` being 32 or 64.
    pub fn constant(c: u64, bits: u32) -> Poly {
        Poly { bits, constant: c & mask(bits), terms: Vec::new() }
    }

    fn leaf(leaf: Leaf, bits: u32) -> Poly {
        Poly { bits, constant: 0, terms: vec![(vec![leaf], 1)] }
    }

    /// The width of the values the polynomial describes.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// The value, if it is a constant, sign-extended from its width.
    pub fn as_signed_constant(&self) -> Option<i64> {
        self.terms.is_empty().then(|| sign_extend(self.constant, self.bits))
    }

    /// The polynomial without its constant part, and that part
    /// sign-extended from its width.
    pub fn split_constant(&self) -> (Poly, i64) {
        (Poly { bits: self.bits, constant: 0, terms: self.terms.clone() }, sign_extend(self.constant, self.bits))
    }

    fn add_term(&mut self, leaves: Vec<Leaf>, coefficient: u64) {
        let coefficient = coefficient & mask(self.bits);
        match self.terms.iter().position(|(l, _)| *l == leaves) {
            Some(i) => {
                let c = self.terms[i].1.wrapping_add(coefficient) & mask(self.bits);
                if c == 0 {
                    self.terms.remove(i);
                } else {
                    self.terms[i].1 = c;
                }
            }
            None if coefficient != 0 => {
                let at = self.terms.partition_point(|(l, _)| *l < leaves);
                self.terms.insert(at, (leaves, coefficient));
            }
            None => {}
        }
    }

    pub fn add(&self, other: &Poly) -> Option<Poly> {
        if self.bits != other.bits {
            return None;
        }
        let mut sum = self.clone();
        sum.constant = sum.constant.wrapping_add(other.constant) & mask(self.bits);
        for (leaves, c) in &other.terms {
            sum.add_term(leaves.clone(), *c);
        }
        (sum.terms.len() <= MAX_TERMS).then_some(sum)
    }

    pub fn scale(&self, factor: u64) -> Poly {
        let mut product = Poly::constant(self.constant.wrapping_mul(factor), self.bits);
        for (leaves, c) in &self.terms {
            product.add_term(leaves.clone(), c.wrapping_mul(factor));
        }
        product
    }

    pub fn sub(&self, other: &Poly) -> Option<Poly> {
        self.add(&other.scale(u64::MAX))
    }

    pub fn mul(&self, other: &Poly) -> Option<Poly> {
        if self.bits != other.bits {
            return None;
        }
        if other.terms.is_empty() {
            return Some(self.scale(other.constant));
        }
        if self.terms.is_empty() {
            return Some(other.scale(self.constant));
        }
        let mut product = Poly::constant(self.constant.wrapping_mul(other.constant), self.bits);
        let own = std::iter::once((Vec::new(), self.constant)).chain(self.terms.iter().cloned());
        for (a, ca) in own {
            let theirs = std::iter::once((Vec::new(), other.constant)).chain(other.terms.iter().cloned());
            for (b, cb) in theirs {
                if a.is_empty() && b.is_empty() {
                    continue;
                }
                let mut leaves: Vec<Leaf> = a.iter().chain(&b).copied().collect();
                if leaves.len() > MAX_DEGREE {
                    return None;
                }
                leaves.sort_unstable();
                product.add_term(leaves, ca.wrapping_mul(cb));
            }
        }
        (product.terms.len() <= MAX_TERMS).then_some(product)
    }
}

/// The mask of the low `bits` bits.
fn mask(bits: u32) -> u64 {
    if bits >= 64 { u64::MAX } else { (1 << bits) - 1 }
}

/// `value`'s low `bits` bits as a signed number.
fn sign_extend(value: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((value << shift) as i64) >> shift
}

/// A value in iteration `k` of a loop: `base + step·k`, modulo 2^32 or
/// 2^64.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Affine {
    pub base: Poly,
    pub step: Poly,
}

/// What a leaf stands for.
#[derive(Clone, Copy)]
enum LeafKind<'ctx> {
    /// A value fixed while the loop runs.
    Invariant(IntValue<'ctx>),
    /// A `phi` of the loop header.
    HeaderPhi(InstructionValue<'ctx>),
}

/// An induction variable: `init + step·k` in iteration `k`.
struct Induction {
    init: Poly,
    step: Poly,
}

/// The `i32` and `i64` values of one loop, analysed on demand.
pub(super) struct Leaves<'ctx> {
    leaves: Vec<LeafKind<'ctx>>,
    /// The leaf of each value seen so far.
    numbers: HashMap<IntValue<'ctx>, Leaf>,
    /// Whether a block belongs to the loop.
    in_loop: Box<dyn Fn(BasicBlock<'ctx>) -> bool + 'ctx>,
    header: BasicBlock<'ctx>,
    preheader: BasicBlock<'ctx>,
    polys: HashMap<InstructionValue<'ctx>, Option<Poly>>,
    inductions: HashMap<Leaf, Option<Induction>>,
}

impl<'ctx> Leaves<'ctx> {
    pub fn new(
        header: BasicBlock<'ctx>,
        preheader: BasicBlock<'ctx>,
        in_loop: impl Fn(BasicBlock<'ctx>) -> bool + 'ctx,
    ) -> Leaves<'ctx> {
        Leaves {
            leaves: Vec::new(),
            numbers: HashMap::new(),
            in_loop: Box::new(in_loop),
            header,
            preheader,
            polys: HashMap::new(),
            inductions: HashMap::new(),
        }
    }

    fn leaf_of(&mut self, value: IntValue<'ctx>, kind: LeafKind<'ctx>) -> Leaf {
        *self.numbers.entry(value).or_insert_with(|| {
            self.leaves.push(kind);
            self.leaves.len() - 1
        })
    }

    /// Whether `value` is fixed while the loop runs: a constant, an
    /// argument, or an instruction outside the loop.
    pub fn is_invariant(&self, value: BasicValueEnum<'ctx>) -> bool {
        match value.as_instruction_value() {
            Some(i) => i.get_parent().is_none_or(|b| !(self.in_loop)(b)),
            None => true,
        }
    }

    /// `value` as an [`Affine`] function of the iteration number, if it is
    /// one.
    pub fn affine(&mut self, value: IntValue<'ctx>) -> Option<Affine> {
        let poly = self.poly(value, 0)?;
        self.substitute(&poly)
    }

    /// Replaces each induction variable of `poly` by `init + step·k`.
    fn substitute(&mut self, poly: &Poly) -> Option<Affine> {
        let mut base = Poly::constant(poly.constant, poly.bits);
        let mut step = Poly::constant(0, poly.bits);
        for (leaves, c) in &poly.terms {
            let phis: Vec<usize> =
                (0..leaves.len()).filter(|&i| matches!(self.leaves[leaves[i]], LeafKind::HeaderPhi(_))).collect();
            match phis[..] {
                [] => {
                    base = base.add(&term(leaves, *c, poly.bits))?;
                }
                [i] => {
                    let mut rest = leaves.clone();
                    let phi = rest.remove(i);
                    let rest = term(&rest, *c, poly.bits);
                    let induction = self.induction(phi)?;
                    let (init, d) = (induction.init.clone(), induction.step.clone());
                    base = base.add(&rest.mul(&init)?)?;
                    step = step.add(&rest.mul(&d)?)?;
                }
                _ => return None,
            }
        }
        Some(Affine { base, step })
    }

    /// The induction variable header `phi` leaf `leaf` is, if it is one.
    fn induction(&mut self, leaf: Leaf) -> Option<&Induction> {
        if !self.inductions.contains_key(&leaf) {
            let found = self.find_induction(leaf);
            self.inductions.insert(leaf, found);
        }
        self.inductions.get(&leaf)?.as_ref()
    }

    fn find_induction(&mut self, leaf: Leaf) -> Option<Induction> {
        let LeafKind::HeaderPhi(phi) = self.leaves[leaf] else { return None };
        let phi = PhiValue::try_from(phi).ok()?;
        let mut init = None;
        let mut next = None;
        for (value, from) in phi.get_incomings() {
            let value = value_as_int(value)?;
            if from == self.preheader {
                init = Some(value);
            } else if (self.in_loop)(from) {
                // One back edge (the loop has one latch).
                if next.replace(value).is_some() {
                    return None;
                }
            } else {
                return None;
            }
        }
        let (init, next) = (init?, next?);
        let init = self.invariant_poly(init);
        let step = self.poly(next, 0)?.sub(&Poly::leaf(leaf, init.bits))?;
        // The step must not depend on the loop's induction variables.
        let invariant =
            step.terms.iter().all(|(ls, _)| ls.iter().all(|&l| matches!(self.leaves[l], LeafKind::Invariant(_))));
        invariant.then_some(Induction { init, step })
    }

    /// An invariant value as a polynomial: a constant or one leaf.
    fn invariant_poly(&mut self, value: IntValue<'ctx>) -> Poly {
        let bits = value.get_type().get_bit_width();
        match value.get_zero_extended_constant() {
            Some(c) => Poly::constant(c, bits),
            None => Poly::leaf(self.leaf_of(value, LeafKind::Invariant(value)), bits),
        }
    }

    /// `value` as a polynomial over leaves.
    fn poly(&mut self, value: IntValue<'ctx>, depth: u32) -> Option<Poly> {
        if !matches!(value.get_type().get_bit_width(), 32 | 64) || depth > MAX_DEPTH {
            return None;
        }
        if self.is_invariant(value.into()) {
            return Some(self.invariant_poly(value));
        }
        let instruction = value.as_instruction()?;
        if let Some(known) = self.polys.get(&instruction) {
            return known.clone();
        }
        let poly = self.compute(instruction, value, depth);
        self.polys.insert(instruction, poly.clone());
        poly
    }

    fn compute(&mut self, instruction: InstructionValue<'ctx>, value: IntValue<'ctx>, depth: u32) -> Option<Poly> {
        let int_operand = |n| operand(instruction, n).and_then(value_as_int);
        match instruction.get_opcode() {
            InstructionOpcode::Phi if instruction.get_parent() == Some(self.header) => {
                let bits = value.get_type().get_bit_width();
                Some(Poly::leaf(self.leaf_of(value, LeafKind::HeaderPhi(instruction)), bits))
            }
            InstructionOpcode::Add => self.poly(int_operand(0)?, depth + 1)?.add(&self.poly(int_operand(1)?, depth + 1)?),
            InstructionOpcode::Sub => self.poly(int_operand(0)?, depth + 1)?.sub(&self.poly(int_operand(1)?, depth + 1)?),
            InstructionOpcode::Mul => self.poly(int_operand(0)?, depth + 1)?.mul(&self.poly(int_operand(1)?, depth + 1)?),
            InstructionOpcode::Shl => {
                let bits = value.get_type().get_bit_width();
                let amount = int_operand(1)?.get_zero_extended_constant().filter(|&c| c < u64::from(bits))?;
                Some(self.poly(int_operand(0)?, depth + 1)?.scale(1u64 << amount))
            }
            _ => None,
        }
    }

    /// Emits `poly` (over invariant leaves only) as an `i32` or `i64` (its
    /// width) at `b`'s position.
    pub fn emit(&self, b: &FnBuilder<'_, 'ctx>, poly: &Poly) -> Result<IntValue<'ctx>> {
        let ty = if poly.bits == 64 { b.types.i64 } else { b.types.i32 };
        let mut sum = ty.const_int(poly.constant, false);
        for (leaves, c) in &poly.terms {
            let mut product = ty.const_int(*c, false);
            for &leaf in leaves {
                let LeafKind::Invariant(value) = self.leaves[leaf] else {
                    return Err(crate::error::CompileError::internal("an induction variable left in a loop bound"));
                };
                product = b.int_mul(product, value)?;
            }
            sum = b.int_add(sum, product)?;
        }
        Ok(sum)
    }
}

/// `c` times the product of `leaves`, `bits` wide.
fn term(leaves: &[Leaf], c: u64, bits: u32) -> Poly {
    let mut p = Poly::constant(0, bits);
    if leaves.is_empty() {
        p.constant = c & mask(bits);
    } else {
        p.add_term(leaves.to_vec(), c);
    }
    p
}

fn value_as_int(value: BasicValueEnum<'_>) -> Option<IntValue<'_>> {
    match value {
        BasicValueEnum::IntValue(v) => Some(v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::Poly;

    fn leaf(l: usize) -> Poly {
        super::term(&[l], 1, 32)
    }

    #[test]
    fn polynomials_are_canonical_and_wrap() {
        let a = leaf(0).add(&leaf(1)).unwrap();
        let b = leaf(1).add(&leaf(0)).unwrap();
        assert_eq!(a, b);
        let minus = Poly::constant(0, 32).sub(&leaf(0)).unwrap();
        assert_eq!(minus.add(&leaf(0)).unwrap(), Poly::constant(0, 32));
        let max = Poly::constant(u32::MAX.into(), 32);
        assert_eq!(max.add(&Poly::constant(2, 32)).unwrap(), Poly::constant(1, 32));
        assert_eq!(max.split_constant().1, -1);
        let square = a.mul(&a).unwrap();
        // (x + y)^2 = x^2 + 2xy + y^2
        assert_eq!(square.terms, vec![(vec![0, 0], 1), (vec![0, 1], 2), (vec![1, 1], 1)]);
        assert_eq!(leaf(0).scale(1 << 31).scale(2), Poly::constant(0, 32));
    }

    #[test]
    fn wide_polynomials_wrap_modulo_2_to_the_64() {
        let x = super::term(&[0], 1, 64);
        assert_eq!(x.scale(1 << 31).scale(2), super::term(&[0], 1 << 32, 64));
        assert_eq!(x.scale(1 << 63).scale(2), Poly::constant(0, 64));
        let max = Poly::constant(u64::MAX, 64);
        assert_eq!(max.add(&Poly::constant(2, 64)).unwrap(), Poly::constant(1, 64));
        assert_eq!(max.as_signed_constant(), Some(-1));
        // Values of different widths never mix.
        assert_eq!(x.add(&leaf(0)), None);
    }
}

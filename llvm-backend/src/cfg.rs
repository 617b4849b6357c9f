//! The control-flow graph of one function, its dominator tree and its
//! natural loops, for kiln's own passes (LLVM's analyses are not reachable
//! through the C API).
//!
//! Blocks are numbered in reverse post-order from the entry; blocks the
//! entry cannot reach are left out (no pass looks at them). Dominators are
//! computed with the iterative algorithm of Cooper, Harvey and Kennedy
//! ("A Simple, Fast Dominance Algorithm"), which on reverse post-order
//! numbering converges in a few passes for the reducible graphs wasm
//! produces (wasm's structured control flow cannot express anything else).

use crate::ir::successors;
use inkwell::basic_block::BasicBlock;
use inkwell::values::FunctionValue;
use std::collections::{HashMap, HashSet};

/// A function's reachable blocks and the edges between them.
pub(crate) struct Cfg<'ctx> {
    /// The blocks in reverse post-order; index 0 is the entry.
    pub blocks: Vec<BasicBlock<'ctx>>,
    index: HashMap<BasicBlock<'ctx>, usize>,
    succs: Vec<Vec<usize>>,
    preds: Vec<Vec<usize>>,
    /// Immediate dominator of each block (the entry's is itself).
    idom: Vec<usize>,
}

/// A natural loop: a header and every block that reaches one of its back
/// edges without passing through the header.
pub(crate) struct Loop {
    pub header: usize,
    /// Member blocks, sorted (so the header, first in reverse post-order
    /// among them, comes first).
    pub blocks: Vec<usize>,
    /// Blocks with an edge back to the header.
    pub latches: Vec<usize>,
}

impl Loop {
    /// Whether block `b` belongs to the loop.
    pub fn contains(&self, b: usize) -> bool {
        self.blocks.binary_search(&b).is_ok()
    }
}

impl<'ctx> Cfg<'ctx> {
    /// The graph of `function`, which must have a body.
    pub fn of(function: FunctionValue<'ctx>) -> Option<Cfg<'ctx>> {
        let entry = function.get_first_basic_block()?;
        // Depth-first post-order, iteratively (bodies can be deep).
        let mut order = Vec::new();
        let mut seen = HashSet::from([entry]);
        let mut stack = vec![(entry, successors(entry), 0usize)];
        while let Some((block, succs, next)) = stack.last_mut() {
            let successor = succs.get(*next).copied();
            *next += 1;
            match successor {
                Some(s) => {
                    if seen.insert(s) {
                        stack.push((s, successors(s), 0));
                    }
                }
                None => {
                    order.push(*block);
                    stack.pop();
                }
            }
        }
        order.reverse();
        let index: HashMap<_, _> = order.iter().enumerate().map(|(i, &b)| (b, i)).collect();
        let mut succs = vec![Vec::new(); order.len()];
        let mut preds = vec![Vec::new(); order.len()];
        for (i, &b) in order.iter().enumerate() {
            for s in successors(b) {
                let j = index[&s];
                if !succs[i].contains(&j) {
                    succs[i].push(j);
                    preds[j].push(i);
                }
            }
        }
        let idom = dominators(&preds);
        Some(Cfg { blocks: order, index, succs, preds, idom })
    }

    /// The number of `block`, if the entry reaches it.
    pub fn index_of(&self, block: BasicBlock<'ctx>) -> Option<usize> {
        self.index.get(&block).copied()
    }

    pub fn successors(&self, b: usize) -> &[usize] {
        &self.succs[b]
    }

    pub fn predecessors(&self, b: usize) -> &[usize] {
        &self.preds[b]
    }

    /// Whether block `a` dominates block `b` (every block dominates
    /// itself).
    pub fn dominates(&self, a: usize, mut b: usize) -> bool {
        // Dominators come earlier in reverse post-order, so the walk up
        // the tree can stop once it passes `a`.
        while b > a {
            b = self.idom[b];
        }
        a == b
    }

    /// The natural loops, one per header, innermost ones included.
    pub fn loops(&self) -> Vec<Loop> {
        let mut loops = Vec::new();
        for header in 0..self.blocks.len() {
            let latches: Vec<usize> =
                self.preds[header].iter().copied().filter(|&p| self.dominates(header, p)).collect();
            if latches.is_empty() {
                continue;
            }
            let mut member = vec![false; self.blocks.len()];
            member[header] = true;
            let mut work = latches.clone();
            while let Some(b) = work.pop() {
                if !member[b] {
                    member[b] = true;
                    work.extend(self.preds[b].iter().copied());
                }
            }
            let blocks = (0..self.blocks.len()).filter(|&b| member[b]).collect();
            loops.push(Loop { header, blocks, latches });
        }
        loops
    }
}

/// Immediate dominators over reverse post-order numbering (Cooper, Harvey
/// and Kennedy).
fn dominators(preds: &[Vec<usize>]) -> Vec<usize> {
    const NONE: usize = usize::MAX;
    let mut idom = vec![NONE; preds.len()];
    if preds.is_empty() {
        return idom;
    }
    idom[0] = 0;
    let intersect = |idom: &[usize], mut a: usize, mut b: usize| {
        while a != b {
            while a > b {
                a = idom[a];
            }
            while b > a {
                b = idom[b];
            }
        }
        a
    };
    let mut changed = true;
    while changed {
        changed = false;
        for b in 1..preds.len() {
            let mut new = NONE;
            for &p in &preds[b] {
                if idom[p] != NONE {
                    new = if new == NONE { p } else { intersect(&idom, p, new) };
                }
            }
            if new != idom[b] {
                idom[b] = new;
                changed = true;
            }
        }
    }
    idom
}

#[cfg(test)]
mod tests {
    use super::dominators;

    /// entry -> a -> (b | c) -> d -> a (a loop a..d), d -> exit
    #[test]
    fn dominators_of_a_loop_with_a_diamond() {
        // 0 entry, 1 a, 2 b, 3 c, 4 d, 5 exit
        let preds = vec![vec![], vec![0, 4], vec![1], vec![1], vec![2, 3], vec![4]];
        assert_eq!(dominators(&preds), vec![0, 0, 1, 1, 1, 4]);
    }
}

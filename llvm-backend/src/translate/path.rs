//! What the translator knows along the current path of straight-line code.
//!
//! Two facts, both valid only where the instruction that established them
//! dominates the current position:
//!
//! * **Local values.** After `local.set`/`local.tee`/`local.get` of a
//!   local, a later `local.get` on the same path reads the same SSA value
//!   instead of loading the stack slot again (what `mem2reg` would find,
//!   known here already, so the facts below can name it).
//! * **Accessed addresses.** Once an access to a 32-bit memory at `i32`
//!   address `a` has completed (it did not trap), `a + offset + size` is
//!   within the memory, and a 32-bit memory never exceeds
//!   [`kiln_abi::WASM32_MAX_MEMORY_BYTES`], 64 KiB short of 4 GiB. That
//!   holds for every memory of a module, so the fact is about the address
//!   alone, whichever memory the access went to (it says nothing about
//!   bounds, which are checked per memory). So
//!   `a + c` for a constant `0 <= c <= 65536` cannot wrap around 2^32, and
//!   the translator emits that `i32.add` as `add nuw`. This is what lets
//!   LLVM see `zext(a + 8)` as `zext(a) + 8`: the two halves of a loop
//!   body clang unrolled then address consecutive memory (one base
//!   register and two displacements instead of two 32-bit sums), and a
//!   pointer advanced after its access is an induction variable that does
//!   not wrap.
//!
//! Control flow decides how long a fact lives ([`super::control`]): a
//! `block`, `if` or `br_if` continues the path (what came before
//! dominates what follows). A `loop` header is reached again from its back
//! edge with other local values, so it forgets the local values but keeps
//! the accessed addresses (every address proven before the loop was proven
//! on the one way into it). `else` and `end` are reached from paths that
//! skipped part of the code before them: they forget the local values and
//! every address proven since the construct began ([`PathFacts::mark`]).

use inkwell::values::{BasicValueEnum, IntValue};
use std::collections::HashSet;

/// The largest constant `c` for which `a + c` cannot wrap when `a` has
/// been accessed: the distance from the largest 32-bit memory to 2^32.
const NO_WRAP_MARGIN: u64 = (1 << 32) - kiln_abi::WASM32_MAX_MEMORY_BYTES;

/// Facts about the current path; see the module documentation.
#[derive(Default)]
pub(super) struct PathFacts<'ctx> {
    /// Per local: the generation in which `value` was recorded, and the
    /// value. An entry from an older generation is forgotten, so forgetting
    /// every local is one increment, however many locals there are.
    locals: Vec<(u64, Option<BasicValueEnum<'ctx>>)>,
    generation: u64,
    /// Accessed `i32` addresses, in the order they were proven (for
    /// [`PathFacts::forget_since`]) and as a set (for lookup).
    accessed_order: Vec<IntValue<'ctx>>,
    accessed: HashSet<IntValue<'ctx>>,
}

impl<'ctx> PathFacts<'ctx> {
    /// The value local `index` holds on this path, if known.
    pub(super) fn local(&self, index: u32) -> Option<BasicValueEnum<'ctx>> {
        match self.locals.get(index as usize) {
            Some(&(generation, value)) if generation == self.generation => value,
            _ => None,
        }
    }

    /// Records that local `index` holds `value` from here on.
    pub(super) fn set_local(&mut self, index: u32, value: BasicValueEnum<'ctx>) {
        let index = index as usize;
        if self.locals.len() <= index {
            self.locals.resize(index + 1, (0, None));
        }
        self.locals[index] = (self.generation, Some(value));
    }

    /// Records that an access at `address` completed.
    pub(super) fn accessed(&mut self, address: IntValue<'ctx>) {
        if self.accessed.insert(address) {
            self.accessed_order.push(address);
        }
    }

    /// Whether `a + c` cannot wrap because `a` was accessed on this path.
    pub(super) fn add_cannot_wrap(&self, a: IntValue<'ctx>, c: IntValue<'ctx>) -> bool {
        c.get_zero_extended_constant().is_some_and(|c| c <= NO_WRAP_MARGIN) && self.accessed.contains(&a)
    }

    /// A point to return to with [`PathFacts::forget_since`].
    pub(super) fn mark(&self) -> usize {
        self.accessed_order.len()
    }

    /// At a `loop` header: local values may differ on the back edge.
    pub(super) fn forget_locals(&mut self) {
        self.generation += 1;
    }

    /// At `else` or `end`: forgets the local values and the addresses
    /// proven since `mark`.
    pub(super) fn forget_since(&mut self, mark: usize) {
        self.forget_locals();
        for address in self.accessed_order.drain(mark.min(self.accessed_order.len())..) {
            self.accessed.remove(&address);
        }
    }
}

//! The single source of truth shared by kiln's compiler and its runtime.
//!
//! Everything that generated code and the loader must agree on lives here and
//! nowhere else:
//!
//! * [`vmoffsets`]: the layout of the per-instance VM context, computed by one
//!   function from the module's shape and the *target's* pointer size;
//! * [`metadata`] and [`artifact`]: the rkyv schema embedded in every compiled
//!   library, its header, format version and checksum;
//! * [`seal`]: the digest that ends every ELF library kiln links;
//! * [`trap`]: trap codes and their messages;
//! * [`builtins`]: the table of runtime functions generated code may call;
//! * [`symbols`]: the few symbol names a library exports;
//! * [`types`]: wasm types as recorded in metadata;
//! * [`target`]: target triples;
//! * [`cpu`]: what each CPU feature an artifact may require asks of a host.
//!
//! This crate must not depend on LLVM or on the loader.
//!
//! # The native signature of a wasm function
//!
//! Generated code calls wasm functions — directly, through imports, through
//! `call_indirect`, and from trampolines — with one native signature derived
//! from the wasm type `[p...] -> [r...]` alone, in the target's C calling
//! convention:
//!
//! * parameters: `callee_vmctx`, `caller_vmctx`, then `p...` (a `v128` is
//!   a 128-bit integer vector, `<2 x i64>`, so it travels in a vector
//!   register, or as the convention passes vectors);
//! * no result: returns nothing; one result: returns it in a register;
//! * several results: one more, trailing pointer parameter to a *return
//!   area* the caller provides, [`RETURN_AREA_ALIGN`]-aligned, of one
//!   [`VAL_RAW_SIZE`]-byte slot per result; result `i` is stored
//!   little-endian from the start of slot `i` (the `ValRaw` layout), and the
//!   function returns nothing ([`uses_return_area`]).
//!
//! Results never travel in a register class that may alter them (x86-64's
//! C convention would return a third float in the x87 `ST0`, whose load
//! quiets a signalling NaN); an array-call trampoline can pass its `values`
//! array on as the return area.
#![deny(missing_docs)]

pub mod artifact;
pub mod builtins;
pub mod cpu;
pub mod exceptions;
pub mod metadata;
pub mod seal;
pub mod symbols;
pub mod target;
pub mod trap;
pub mod types;
pub mod vmoffsets;

pub use artifact::{FORMAT_VERSION, MetadataError};
pub use builtins::Builtin;
pub use metadata::ModuleMetadata;
pub use trap::TrapCode;
pub use types::{FuncType, HeapType, RefType, ValType};
pub use vmoffsets::{ModuleShape, PtrSize, VMCTX_ALIGN, VMOffsets};

/// Size in bytes of one untyped value slot (`ValRaw`) as used by array-call
/// trampolines, host-call trampolines and multi-value return areas: every
/// wasm value, including a `v128`, fits in one slot, stored little-endian
/// from the slot's start.
pub const VAL_RAW_SIZE: u32 = 16;

/// Alignment in bytes of a multi-value return area (see the crate docs).
pub const RETURN_AREA_ALIGN: u32 = 16;

/// Whether a wasm function with `results` results returns them through a
/// return area (a trailing pointer parameter) rather than in a register.
pub const fn uses_return_area(results: usize) -> bool {
    results > 1
}

/// Size of a wasm page in bytes.
pub const WASM_PAGE_SIZE: u64 = 65536;

/// Maximum number of pages of a 32-bit linear memory (4 GiB).
pub const WASM32_MAX_PAGES: u64 = 65536;

/// Pages a 32-bit linear memory may have in kiln: one fewer than the
/// format allows. Growing past it fails (`memory.grow` returns -1, which
/// wasm permits at any size), and a memory declared with more initial
/// pages cannot be created. The missing page is what lets generated code
/// treat `a + c` as not wrapping around 2^32 once an access at `a`
/// succeeded, for any constant `c` up to 64 KiB (see the translator's
/// path facts).
pub const WASM32_MEMORY_LIMIT_PAGES: u64 = WASM32_MAX_PAGES - 1;

/// The most bytes a 32-bit linear memory has in kiln.
pub const WASM32_MAX_MEMORY_BYTES: u64 = WASM32_MEMORY_LIMIT_PAGES * WASM_PAGE_SIZE;

/// Bytes of address space reserved for each 32-bit linear memory under the
/// guard-region strategy: 4 GiB of addressable memory, a 4 GiB guard, and
/// one more page. Any access `base + zext(addr32) + offset32` of up to 16
/// bytes therefore lands inside the reservation, so generated code needs no
/// bounds check: what lies past the memory's current length is mapped
/// inaccessible and faults, and the fault becomes a trap.
pub const GUARD_RESERVATION: u64 = 8 * 1024 * 1024 * 1024 + WASM_PAGE_SIZE;

/// Pages a 64-bit linear memory (memory64) may have in kiln: 64 GiB.
///
/// A 64-bit address space cannot be covered by a guard region, so every
/// access of such a memory keeps an explicit bounds check, and the memory
/// is not given one. It reserves address space for its declared maximum,
/// or for this limit when the maximum is larger or missing, and grows in
/// place inside that reservation: its base never moves, so generated code
/// loads it once per function as for a 32-bit memory. Growing past the
/// reservation fails (`memory.grow` returns -1, which wasm permits at any
/// size), and a memory whose minimum is larger cannot be created. The
/// limit keeps every length below 2^63, which the bounds checks of 64-bit
/// accesses rely on (an access ending at 2^63 or beyond always traps).
pub const WASM64_MEMORY_LIMIT_PAGES: u64 = 1 << 20;

/// The most bytes a 64-bit linear memory has in kiln (see
/// [`WASM64_MEMORY_LIMIT_PAGES`]).
pub const WASM64_MAX_MEMORY_BYTES: u64 = WASM64_MEMORY_LIMIT_PAGES * WASM_PAGE_SIZE;

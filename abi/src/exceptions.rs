//! The layout of an exception object, shared by generated code (which
//! fills and reads its payload, and compares its tag) and the runtime
//! (which allocates and raises it).
//!
//! An `exnref` is the address of one of these objects, null for a null
//! reference. The store owns every exception and frees it with itself.
//!
//! ```text
//! offset  0  unwind header   the system unwinder's `_Unwind_Exception`
//!                            (EXN_HEADER_SIZE bytes reserved, 16-aligned)
//!        64  tag             *const VMTag: the tag's identity
//!        72  payload_len     u32, slots in the payload
//!        80  payload         [ValRaw; payload_len], 16 bytes per value
//! ```
//!
//! The unwind header comes first so that the pointer the unwinder hands to
//! a landing pad is the `exnref` itself. 64 bytes hold the header of every
//! unwinder kiln targets (32 bytes for the Itanium ABI's on x86_64 and
//! aarch64, 64 for the SEH variant's six private words).

/// Bytes reserved for the unwinder's exception header, at offset 0.
pub const EXN_HEADER_SIZE: u32 = 64;

/// Offset of the tag identity pointer (`*const VMTag`).
pub const EXN_TAG_OFFSET: u32 = EXN_HEADER_SIZE;

/// Offset of the `u32` count of payload slots.
pub const EXN_PAYLOAD_LEN_OFFSET: u32 = EXN_HEADER_SIZE + 8;

/// Offset of the first payload slot (one [`crate::VAL_RAW_SIZE`] slot per
/// value of the tag's parameters, in order).
pub const EXN_PAYLOAD_OFFSET: u32 = EXN_HEADER_SIZE + 16;

/// Alignment of an exception object.
pub const EXN_ALIGN: u32 = 16;

/// The code with which an exception leaves wasm for the host, where trap
/// codes travel (`raise_trap` with it raises a host function's exception
/// in the wasm code that called; the entry returns it for one no handler
/// caught). No [`crate::TrapCode`] has it.
pub const THROW_CODE: u32 = 256;

/// The `exception_class` kiln's exceptions carry in their unwind header
/// (`b"KILNWASM"` as a big-endian number, as C++ writes `GNUCC++\0`).
pub const EXN_CLASS: u64 = u64::from_be_bytes(*b"KILNWASM");

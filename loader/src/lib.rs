//! kiln's runtime: loads libraries compiled by kiln and runs their wasm in a
//! sandbox.
//!
//! ```no_run
//! use kiln_loader::{Engine, Func, Linker, Module, Store};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::default();
//! let module = Module::from_file(&engine, "add.so")?;
//! let mut store = Store::new(&engine);
//! let mut linker = Linker::new(&engine);
//! linker.define("host", "log", Func::wrap(&mut store, |x: i32| println!("{x}")));
//! let instance = linker.instantiate(&mut store, &module)?;
//! let add = instance.get_typed_func::<(i32, i32), i32>(&store, "add")?;
//! assert_eq!(add.call(&mut store, (1, 2))?, 3);
//! # Ok(())
//! # }
//! ```
//!
//! The pieces: an [`Engine`] (configuration and signature ids), a
//! [`Module`] (one loaded library), a [`Store`] owning [`Instance`]s and
//! what they use, handles to [`Func`]s, [`Memory`]s, [`Table`]s and
//! [`Global`]s, and a name-based [`Linker`]. Traps come back as
//! [`Error::Trap`]; how they get there is explained in the `traphandlers`
//! module.
//!
//! `Store` is `Send` but not `Sync`: one thread at a time runs its code.
//!
//! ```compile_fail
//! fn shared<T: Sync>() {}
//! shared::<kiln_loader::Store>();
//! ```
//!
//! # What a library must provide
//!
//! The loader runs code from any library that keeps these rules (the
//! compiler and linker produce them; `tests/common` in this crate builds
//! stand-ins from C):
//!
//! * an ELF shared library for the host's triple, pointer size and CPU
//!   features, with no initializers, finalizers, indirect functions or
//!   library dependencies, and relocations only of the kinds a kiln
//!   library has, importing only [`kiln_abi::symbols::ALLOWED_UNDEFINED`]
//!   (bound with `RTLD_NOW`);
//! * `kiln_metadata`: the blob of [`kiln_abi::artifact`] written for
//!   [`COMPILER_BUILD`], 16-byte aligned in
//!   memory, with an ELF symbol size covering it; `kiln_functions`: an array
//!   of code pointers whose ELF symbol size is its length in bytes (0 for an
//!   empty table), every entry non-null; every slot the metadata names lies
//!   inside it;
//! * per module type, an array-call trampoline
//!   `fn(callee_vmctx, caller_vmctx, wasm_call, values)` and a
//!   wasm-to-host trampoline with the type's native signature that calls
//!   `host_ctx.array_call(host_ctx, caller_vmctx, values, len)` with
//!   `len >= max(params, results)` slots and passes a nonzero result to
//!   `raise_trap(caller_vmctx, code)`;
//! * an entry point (`FunctionInfo::wasm_call`) for every function that is
//!   exported, in an element segment, referenced by `ref.func`, or the start
//!   function;
//! * generated code reads the VM context only at [`kiln_abi::VMOffsets`]
//!   offsets, may cache a memory's `base` (and a table's `base` and size
//!   when its declared maximum equals its minimum: such a table never
//!   grows) but must reload other tables' `base`, `current_elements` and
//!   memory `current_length` after any call (host functions and builtins
//!   may grow them), raises every trap it detects
//!   through `raise_trap` (or `raise_trap_at`, for a trap about a table
//!   element, which the trap then names), and passes a nonzero result of a
//!   fallible builtin to `raise_trap`;
//! * every function prologue traps with `StackOverflow` when the stack
//!   pointer is below `VMStoreContext::stack_limit`; frames larger than the
//!   runtime's 128 KiB safety margin must check `sp - frame size`, and
//!   self-recursion must not be turned into a loop that skips the check;
//! * out-of-bounds accesses fault only in instructions of the library's own
//!   code, at addresses inside the memory's reservation (base +
//!   [`kiln_abi::GUARD_RESERVATION`]); the allowed libc helpers
//!   (`memcpy`, `memmove`, `memset`, which `memory.copy`, `memory.fill` and
//!   `table.copy` become) must only be called on ranges already checked to
//!   be in bounds, since a fault inside them is not claimed and kills the
//!   process.
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod cpu;
mod engine;
mod error;
mod exceptions;
mod externals;
mod func;
mod instance;
mod linker;
mod module;
mod registry;
mod signatures;
mod store;
mod sys;
mod trap;
mod traphandlers;
mod values;
mod vm;

pub use engine::{Config, DEFAULT_MAX_WASM_STACK, Engine};
pub use error::{Error, LinkError, LinkErrorKind};
pub use exceptions::{Exception, Tag};
pub use externals::{Extern, Global, Memory, SharedMemory, Table};
pub use func::{Caller, Func, IntoFunc, TypedFunc, WasmParams, WasmResults, WasmRet, WasmTy, WasmTyList};
pub use instance::Instance;
pub use linker::Linker;
pub use module::{LoadError, LoadErrorKind, Module, StaticModule, read_metadata};
pub use store::{AsContext, AsContextMut, Store, StoreOpaque};
pub use trap::Trap;
pub use values::{ExternRef, Val};
pub use vm::ValRaw;

pub use kiln_abi::artifact::OwnedMetadata;

/// The identity of the kiln build this runtime belongs to: the version,
/// the git commit, and a digest of the sources when the work tree was
/// modified (`0.1.0+<commit>[.modified-<digest>]`; the version alone
/// outside a git checkout). The compiler of the same build records it in
/// every artifact, and the runtime loads only artifacts that record it:
/// another build may lay out the VM context, call conventions or
/// builtins differently without a format version change.
pub const COMPILER_BUILD: &str = env!("KILN_COMPILER_BUILD");
pub use kiln_abi::metadata::ExternKind;
pub use kiln_abi::types::{GlobalType, Limits, MemoryType, TableType};
pub use kiln_abi::{FuncType, HeapType, RefType, TrapCode, ValType};

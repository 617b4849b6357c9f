//! kiln: an optimizing ahead-of-time compiler for WebAssembly.
//!
//! This crate is the façade over kiln's parts: [`compile`] drives the
//! compiler (`kiln-llvm`) and the linker (`kiln-linker`) from a `.wasm` or
//! `.wat` file to a native library; [`runtime`] is the loader that opens
//! such libraries and runs them; [`wast`] runs WebAssembly spec test
//! scripts through both; [`cache`] keeps compiled libraries for `kiln run`. The `kiln` command is a thin layer over these.

pub mod cache;
pub mod compile;
pub mod wast;

pub use cache::Cache;
pub use compile::{CompileReport, Emit, Error, compile_file, compile_to_file, read_module};
pub use kiln_llvm::{CompileError, CompileOptions, OptLevel};

/// The runtime: load compiled libraries, instantiate, call.
pub use kiln_loader as runtime;

//! kiln: an optimizing ahead-of-time compiler for WebAssembly.
//!
//! This crate is the façade over kiln's parts: [`compile`] drives the
//! compiler (`kiln-llvm`) and the linker (`kiln-linker`) from a `.wasm` or
//! `.wat` file to a native library; [`runtime`] is the loader that opens
//! such libraries and runs them; [`wast`] runs WebAssembly spec test
//! scripts through both; [`cache`] keeps compiled libraries for `kiln run`;
//! [`build`] compiles modules from cargo build scripts and writes typed
//! bindings for them. The `kiln` command is a thin layer over these.
//!
//! All of that needs the `compiler` feature (on by default), which brings
//! in LLVM. A crate that only runs compiled modules depends on `kiln` with
//! `default-features = false` (or on `kiln-loader`) and gets [`runtime`]
//! alone; the bindings `kiln::build` generates need nothing else, so the
//! compiler stays a build-dependency.

#[cfg(feature = "compiler")]
pub mod build;
#[cfg(feature = "compiler")]
pub mod cache;
#[cfg(feature = "compiler")]
pub mod compile;
#[cfg(feature = "compiler")]
pub mod wast;

#[cfg(feature = "compiler")]
pub use cache::Cache;
#[cfg(feature = "compiler")]
pub use compile::{ArtifactFacts, CompileReport, Emit, Error, compile_file, compile_to_file, module_from_bytes, read_module};
#[cfg(feature = "compiler")]
pub use kiln_llvm::{CompileError, CompileOptions, OptLevel, host_cpu, proposals_used, split_features};

/// The runtime: load compiled libraries, instantiate, call.
pub use kiln_loader as runtime;

//! Test support: a small runtime and a `.wast` runner, so kiln-llvm's
//! output can be executed before the real loader and linker are wired up.
pub mod runtime;
pub mod wast;

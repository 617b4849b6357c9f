//! Fuzzing kiln.
//!
//! Three targets ([`target::TargetName`]): `differential` runs wasm-smith
//! modules on kiln at -O0 and -O2 and on the wasmi interpreter and compares
//! every call's outcome and the instance's state after it
//! ([`differential`]); `compile` feeds the compiler arbitrary bytes and
//! generated modules ([`compile`]); `loader` loads mutated libraries
//! ([`loader`]).
//!
//! The targets take bytes, as libFuzzer gives them. `fuzz_targets/` holds
//! the cargo-fuzz entry points; built without `--cfg fuzzing` (any stable
//! toolchain) the same binaries, and `kiln-fuzz`, run seeded inputs
//! ([`seeds`]) instead, in process or as a campaign of worker processes
//! ([`driver`]). The bounded run in `cargo test` (`tests/bounded.rs`) uses
//! fixed seeds.

pub mod cli;
pub mod compile;
pub mod differential;
pub mod driver;
pub mod engines;
pub mod loader;
pub mod seeds;
pub mod smith;
pub mod state;
pub mod target;

/// Stack size of the threads that run inputs: above the differential
/// target's kiln stack limit ([`engines::kiln::MAX_WASM_STACK`]) with
/// room for the host frames below it.
pub const STACK_SIZE: usize = 96 << 20;

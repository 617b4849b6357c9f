//! The three fuzz targets behind one interface, so that libFuzzer, the
//! seeded campaign driver and the bounded run in `cargo test` all run the
//! same code.

use crate::{compile, differential, loader};
use kiln_abi::metadata::BoundsChecks;
use std::fmt;
use std::str::FromStr;

/// What one input proved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Everything agreed.
    Pass(Pass),
    /// The input could not be used (too short to make a module, or the
    /// reference itself could not run it); nothing was checked.
    Skip(String),
    /// A bug: the message says what and where, starting with its class.
    Fail(String),
}

/// What a passing input exercised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Calls compared (differential), compiles or loads done (others).
    pub calls: u64,
    /// Of those, calls that trapped on every engine (differential), or
    /// inputs rejected with an error, as they should be (others).
    pub traps: u64,
}

/// A target's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetName {
    /// kiln -O0 and -O2 against wasmi on wasm-smith modules.
    Differential,
    /// The compiler on arbitrary bytes and wasm-smith modules.
    Compile,
    /// The loader on mutated artifacts.
    Loader,
}

impl TargetName {
    /// Every target.
    pub const ALL: [TargetName; 3] = [TargetName::Differential, TargetName::Compile, TargetName::Loader];

    /// Its name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetName::Differential => "differential",
            TargetName::Compile => "compile",
            TargetName::Loader => "loader",
        }
    }

    /// The length of the seeded inputs for this target (see
    /// [`crate::seeds::len`]): the largest input wasm-smith and the
    /// mutators use in full.
    pub fn max_input_len(self) -> usize {
        match self {
            TargetName::Differential => 8192,
            TargetName::Compile => 8192,
            TargetName::Loader => 512,
        }
    }
}

impl fmt::Display for TargetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TargetName {
    type Err = String;

    fn from_str(s: &str) -> Result<TargetName, String> {
        TargetName::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = TargetName::ALL.iter().map(|t| t.as_str()).collect();
            format!("unknown fuzz target `{s}`; the targets are {}", names.join(", "))
        })
    }
}

/// A target ready to run inputs.
pub enum Target {
    /// See [`differential`].
    Differential(differential::Differential),
    /// See [`compile`].
    Compile(compile::CompileTarget),
    /// See [`loader`].
    Loader(loader::LoaderTarget),
}

impl Target {
    /// Sets up target `name`; `bounds_checks` is the mode the differential
    /// target compiles with.
    pub fn new(name: TargetName, bounds_checks: BoundsChecks) -> Result<Target, String> {
        Ok(match name {
            TargetName::Differential => Target::Differential(differential::Differential::new(bounds_checks)),
            TargetName::Compile => Target::Compile(compile::CompileTarget),
            TargetName::Loader => Target::Loader(loader::LoaderTarget::new()?),
        })
    }

    /// Runs one input.
    pub fn run(&self, data: &[u8]) -> Verdict {
        match self {
            Target::Differential(t) => t.run(data),
            Target::Compile(t) => t.run(data),
            Target::Loader(t) => t.run(data),
        }
    }
}

/// The bounds-check mode named `s` (`guard` or `explicit`).
pub fn bounds_checks(s: &str) -> Result<BoundsChecks, String> {
    match s {
        "guard" => Ok(BoundsChecks::Guard),
        "explicit" => Ok(BoundsChecks::Explicit),
        other => Err(format!("unknown bounds-check mode `{other}` (guard or explicit)")),
    }
}

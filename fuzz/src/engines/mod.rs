//! The engines the differential target runs a module on, behind one
//! interface: kiln (a configuration of the compiler, through the whole
//! pipeline: compile, link, load, instantiate) and the wasmi interpreter,
//! the reference.

pub mod kiln;
pub mod wasmi;

use crate::state::{Outcome, Snapshot, Value};

/// An instantiated module on some engine.
pub trait RunningInstance {
    /// Calls the exported function `name` with `args`.
    fn call(&mut self, name: &str, args: &[Value]) -> Outcome;
    /// Sets the exported mutable `i32` global `name`.
    fn set_global(&mut self, name: &str, value: i32) -> Result<(), String>;
    /// The exported globals, memories and tables.
    fn snapshot(&self) -> Result<Snapshot, String>;
}

/// What instantiating a module gave.
pub enum Started {
    /// An instance.
    Ready(Box<dyn RunningInstance>),
    /// The start function or a segment trapped (`Outcome::Trapped`), or
    /// the engine failed (`Outcome::Failed`).
    Stopped(Outcome),
}

/// An engine that runs modules.
pub trait Engine: Send + Sync {
    /// Its name in reports: `wasmi`, `kiln -O2 guard`, ...
    fn name(&self) -> String;
    /// Compiles (or prepares) and instantiates `wasm`.
    fn start(&self, wasm: &[u8]) -> Started;
}

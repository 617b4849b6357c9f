//! Name-based linking: define externs under `"module"."name"`, register
//! whole instances under a module name (the spec's `register`), and
//! instantiate modules against those definitions.

use crate::store::{AsContext, AsContextMut};
use crate::{Engine, Error, Extern, Instance, LinkError, Module};
use std::collections::HashMap;

/// Definitions to satisfy imports by name. Not tied to a store: the externs
/// it holds are checked against the store at instantiation.
#[derive(Clone, Debug)]
pub struct Linker {
    engine: Engine,
    definitions: HashMap<(String, String), Extern>,
}

impl Linker {
    /// An empty linker.
    pub fn new(engine: &Engine) -> Linker {
        Linker { engine: engine.clone(), definitions: HashMap::new() }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Defines `"module"."name"`, replacing an earlier definition.
    pub fn define(&mut self, module: &str, name: &str, item: impl Into<Extern>) -> &mut Linker {
        self.definitions.insert((module.to_string(), name.to_string()), item.into());
        self
    }

    /// Defines every export of `instance` under the module name `module`.
    pub fn instance(&mut self, store: impl AsContext, module: &str, instance: Instance) -> Result<&mut Linker, Error> {
        for (name, item) in instance.exports(store)? {
            self.define(module, &name, item);
        }
        Ok(self)
    }

    /// The definition of `"module"."name"`.
    pub fn get(&self, module: &str, name: &str) -> Option<Extern> {
        self.definitions.get(&(module.to_string(), name.to_string())).copied()
    }

    /// Instantiates `module`, resolving its imports by name.
    pub fn instantiate(&self, store: impl AsContextMut, module: &Module) -> Result<Instance, Error> {
        let imports = module
            .imports()
            .map(|(m, n, _)| self.get(m, n).ok_or_else(|| Error::Link(LinkError::unknown(m, n))))
            .collect::<Result<Vec<_>, _>>()?;
        Instance::new(store, module, &imports)
    }
}

//! Instances: creation (`instantiate`), import matching (`link`), constant
//! expressions, the builtins that act on instances (`libcalls`), and the
//! `Instance` handle with its exports.

mod const_expr;
mod data;
mod instantiate;
pub(crate) mod libcalls;
mod link;

pub(crate) use data::InstanceData;

use crate::store::{AsContext, AsContextMut, StoreId, StoreOpaque};
use crate::traphandlers::invoke;
use crate::{Error, Extern, Func, Global, Memory, Module, Table, TypedFunc, WasmParams, WasmResults};
use kiln_abi::metadata::ArchivedExternKind;

/// An instance of a module in some store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Instance {
    pub(crate) store: StoreId,
    pub(crate) index: u32,
}

impl Instance {
    /// Instantiates `module` with `imports` given in the module's import
    /// order. Runs the start function, if any. A trap during instantiation
    /// (a segment that does not fit, or in the start function) is returned
    /// as an error; what the instance wrote to imported tables and memories
    /// before it stays written.
    pub fn new(mut store: impl AsContextMut, module: &Module, imports: &[Extern]) -> Result<Instance, Error> {
        let s = store.as_context_mut();
        let built = instantiate::instantiate(s, module, imports)?;
        let (id, store_ptr) = (s.id, s.self_ptr);
        if let Some(start) = built.start {
            // SAFETY: the start function of an instance of this store takes
            // and returns nothing; the store borrow above has ended.
            unsafe { invoke(store_ptr, start, &mut []) }?;
        }
        Ok(Instance { store: id, index: built.index })
    }

    fn data<'a>(&self, store: &'a StoreOpaque) -> Result<&'a InstanceData, Error> {
        store.check(self.store, "instance")?;
        Ok(store.instance(self.index))
    }

    /// The module it instantiates.
    pub fn module(&self, store: impl AsContext) -> Result<Module, Error> {
        Ok(self.data(store.as_context())?.module.clone())
    }

    /// The export named `name`.
    pub fn get_export(&self, store: impl AsContext, name: &str) -> Option<Extern> {
        let store = store.as_context();
        let data = self.data(store).ok()?;
        let export = data.module.metadata().exports.iter().find(|e| e.name.as_str() == name)?;
        Some(self.extern_at(store, data, &export.kind, export.index.to_native()))
    }

    fn extern_at(&self, store: &StoreOpaque, data: &InstanceData, kind: &ArchivedExternKind, index: u32) -> Extern {
        let index = index as usize;
        match kind {
            ArchivedExternKind::Func => {
                Extern::Func(Func { store: store.id, func_ref: data.func_ref(index as u32) as usize })
            }
            ArchivedExternKind::Table => Extern::Table(Table { store: store.id, index: data.tables[index] }),
            ArchivedExternKind::Memory => Extern::Memory(Memory { store: store.id, index: data.memories[index] }),
            ArchivedExternKind::Global => Extern::Global(Global { store: store.id, index: data.globals[index] }),
            ArchivedExternKind::Tag => Extern::Tag(crate::Tag { store: store.id, index: data.tags[index] }),
        }
    }

    /// All exports, in declaration order.
    pub fn exports(&self, store: impl AsContext) -> Result<Vec<(String, Extern)>, Error> {
        let store = store.as_context();
        let data = self.data(store)?;
        let exports = data.module.metadata().exports.iter();
        Ok(exports.map(|e| (e.name.to_string(), self.extern_at(store, data, &e.kind, e.index.to_native()))).collect())
    }

    /// The exported function `name`.
    pub fn get_func(&self, store: impl AsContext, name: &str) -> Option<Func> {
        self.get_export(store, name)?.into_func()
    }

    /// The exported function `name`, typed as `P -> R`.
    pub fn get_typed_func<P: WasmParams, R: WasmResults>(
        &self,
        store: impl AsContext,
        name: &str,
    ) -> Result<TypedFunc<P, R>, Error> {
        let func = self.get_func(&store, name).ok_or_else(|| Error::ExportNotFound(name.to_string()))?;
        func.typed(store)
    }

    /// The exported memory `name`.
    pub fn get_memory(&self, store: impl AsContext, name: &str) -> Option<Memory> {
        self.get_export(store, name)?.into_memory()
    }

    /// The exported table `name`.
    pub fn get_table(&self, store: impl AsContext, name: &str) -> Option<Table> {
        self.get_export(store, name)?.into_table()
    }

    /// The exported global `name`.
    pub fn get_global(&self, store: impl AsContext, name: &str) -> Option<Global> {
        self.get_export(store, name)?.into_global()
    }
}

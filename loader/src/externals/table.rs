//! Tables as the store holds them, and the `Table` handle.

use crate::store::{AsContext, AsContextMut, StoreId, StoreOpaque};
use crate::vm::{RawBox, TableStorage, VMTableDefinition};
use crate::{Error, Val};
use kiln_abi::types::{Limits, TableType, ValType};
use std::ptr::NonNull;

/// A table in a store: its elements and the definition generated code
/// reads (inline in the defining VM context, or owned for host tables).
pub(crate) struct TableEntry {
    ty: TableType,
    storage: TableStorage,
    definition: NonNull<VMTableDefinition>,
    _owned_definition: Option<RawBox<VMTableDefinition>>,
}

impl TableEntry {
    /// A table of type `ty` with every element `init` (a raw reference).
    ///
    /// # Safety
    /// A given `definition` must stay valid as long as the entry.
    pub(crate) unsafe fn new(
        ty: TableType,
        init: usize,
        definition: Option<NonNull<VMTableDefinition>>,
    ) -> Result<TableEntry, Error> {
        if ty.limits.max.is_some_and(|max| max < ty.limits.min) {
            return Err(Error::TypeMismatch("table minimum exceeds its maximum".into()));
        }
        let storage = TableStorage::new(ty.limits.min, ty.limits.max, init)
            .ok_or_else(|| Error::Resource(format!("a table of {} elements", ty.limits.min)))?;
        let (definition, owned) = match definition {
            Some(d) => (d, None),
            None => {
                let owned = RawBox::new(VMTableDefinition { base: std::ptr::null_mut(), current_elements: 0 });
                (NonNull::new(owned.as_ptr()).expect("boxes are not null"), Some(owned))
            }
        };
        let mut entry = TableEntry { ty, storage, definition, _owned_definition: owned };
        entry.sync();
        Ok(entry)
    }

    /// Writes base and length to the definition generated code reads.
    fn sync(&mut self) {
        let definition = VMTableDefinition { base: self.storage.base(), current_elements: self.storage.len() as usize };
        // SAFETY: valid for the entry's lifetime (`new`); no wasm runs
        // concurrently with `&mut self` access to the store.
        unsafe { self.definition.as_ptr().write(definition) };
    }

    pub(crate) fn definition(&self) -> *mut VMTableDefinition {
        self.definition.as_ptr()
    }

    /// The type with the current size as minimum.
    pub(crate) fn ty(&self) -> TableType {
        TableType { limits: Limits { min: self.storage.len(), max: self.ty.limits.max }, ..self.ty }
    }

    pub(crate) fn len(&self) -> u64 {
        self.storage.len()
    }

    pub(crate) fn get(&self, index: u64) -> Option<usize> {
        self.storage.get(index)
    }

    pub(crate) fn set(&mut self, index: u64, value: usize) -> bool {
        self.storage.set(index, value)
    }

    /// Writes `items` at `dst`; `false` (writing nothing) if out of bounds.
    pub(crate) fn write(&mut self, dst: u64, items: &[usize]) -> bool {
        match self.storage.slice_mut(dst, items.len() as u64) {
            Some(slots) => {
                slots.copy_from_slice(items);
                true
            }
            None => false,
        }
    }

    pub(crate) fn grow(&mut self, delta: u64, init: usize) -> Option<u64> {
        let old = self.storage.grow(delta, init)?;
        self.sync();
        Some(old)
    }
}

/// A table of some store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Table {
    pub(crate) store: StoreId,
    pub(crate) index: u32,
}

impl Table {
    /// A new host-created table with every element `init`.
    pub fn new(mut store: impl AsContextMut, ty: TableType, init: Val) -> Result<Table, Error> {
        let store = store.as_context_mut();
        let init = element(store, &ty, &init)?;
        // SAFETY: no outside definition.
        let entry = unsafe { TableEntry::new(ty, init, None) }?;
        store.tables.push(entry);
        Ok(Table { store: store.id, index: store.tables.len() as u32 - 1 })
    }

    pub(crate) fn entry<'a>(&self, store: &'a StoreOpaque) -> Result<&'a TableEntry, Error> {
        store.check(self.store, "table")?;
        Ok(&store.tables[self.index as usize])
    }

    /// Its type, with the current size as minimum.
    pub fn ty(&self, store: impl AsContext) -> Result<TableType, Error> {
        Ok(self.entry(store.as_context())?.ty())
    }

    /// Number of elements.
    pub fn size(&self, store: impl AsContext) -> Result<u64, Error> {
        Ok(self.entry(store.as_context())?.len())
    }

    /// Element `index`.
    pub fn get(&self, store: impl AsContext, index: u64) -> Result<Val, Error> {
        let store = store.as_context();
        let entry = self.entry(store)?;
        let raw = entry.get(index).ok_or(Error::OutOfBounds("table index"))?;
        Ok(store.raw_to_val(crate::ValRaw::from_ref(raw), ValType::Ref(entry.ty.element)))
    }

    /// Sets element `index`.
    pub fn set(&self, mut store: impl AsContextMut, index: u64, value: Val) -> Result<(), Error> {
        let store = store.as_context_mut();
        let ty = self.entry(store)?.ty;
        let raw = element(store, &ty, &value)?;
        let entry = &mut store.tables[self.index as usize];
        if entry.set(index, raw) { Ok(()) } else { Err(Error::OutOfBounds("table index")) }
    }

    /// Grows by `delta` elements set to `init`; returns the previous size.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64, init: Val) -> Result<u64, Error> {
        let store = store.as_context_mut();
        let ty = self.entry(store)?.ty;
        let raw = element(store, &ty, &init)?;
        store.tables[self.index as usize].grow(delta, raw).ok_or(Error::Grow("table"))
    }
}

/// The raw element for `value` in a table of type `ty`.
fn element(store: &StoreOpaque, ty: &TableType, value: &Val) -> Result<usize, Error> {
    store.check_val(value, ValType::Ref(ty.element), "table element")?;
    Ok(store.val_to_raw(value)?.reference())
}

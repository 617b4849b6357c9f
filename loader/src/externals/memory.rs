//! Linear memories as the store holds them, and the `Memory` handle.

use crate::Error;
use crate::store::{AsContext, AsContextMut, StoreId, StoreOpaque};
use crate::vm::{LinearMemory, MemoryError, RawBox, VMMemoryDefinition};
use kiln_abi::types::{Limits, MemoryType};
use std::ptr::NonNull;

/// A memory in a store: its storage and the definition generated code
/// reads, which lives inline in the defining instance's VM context or, for
/// host-created memories, in its own allocation.
pub(crate) struct MemoryEntry {
    ty: MemoryType,
    memory: LinearMemory,
    definition: NonNull<VMMemoryDefinition>,
    _owned_definition: Option<RawBox<VMMemoryDefinition>>,
}

impl MemoryEntry {
    /// Creates a memory of type `ty` whose definition is `definition` (in a
    /// VM context), or a fresh allocation when `None`.
    ///
    /// # Safety
    /// A given `definition` must stay valid as long as the entry.
    pub(crate) unsafe fn new(
        ty: MemoryType,
        definition: Option<NonNull<VMMemoryDefinition>>,
    ) -> Result<MemoryEntry, Error> {
        let memory = LinearMemory::new(&ty).map_err(|e| match e {
            MemoryError::Reserve(_) => Error::Resource(e.to_string()),
            MemoryError::MinAboveMax { .. } => Error::TypeMismatch(e.to_string()),
            _ => Error::Unsupported(e.to_string()),
        })?;
        let (definition, owned) = match definition {
            Some(d) => (d, None),
            None => {
                let owned = RawBox::new(VMMemoryDefinition { base: std::ptr::null_mut(), current_length: 0 });
                (NonNull::new(owned.as_ptr()).expect("boxes are not null"), Some(owned))
            }
        };
        let entry = MemoryEntry { ty, memory, definition, _owned_definition: owned };
        entry.sync();
        Ok(entry)
    }

    /// Writes base and length to the definition generated code reads.
    fn sync(&self) {
        // SAFETY: the definition is valid for the entry's lifetime (`new`)
        // and no wasm runs concurrently with `&self` access to the store.
        unsafe {
            self.definition
                .as_ptr()
                .write(VMMemoryDefinition { base: self.memory.base(), current_length: self.memory.byte_len() })
        };
    }

    pub(crate) fn definition(&self) -> *mut VMMemoryDefinition {
        self.definition.as_ptr()
    }

    /// The type with the current size as minimum (the spec's external type).
    pub(crate) fn ty(&self) -> MemoryType {
        MemoryType { limits: Limits { min: self.memory.pages(), max: self.ty.limits.max }, ..self.ty }
    }

    pub(crate) fn memory(&self) -> &LinearMemory {
        &self.memory
    }

    pub(crate) fn memory_mut(&mut self) -> &mut LinearMemory {
        &mut self.memory
    }

    /// Grows by `delta` pages, updating what every importer sees.
    pub(crate) fn grow(&mut self, delta: u64) -> Option<u64> {
        let old = self.memory.grow(delta)?;
        self.sync();
        Some(old)
    }
}

/// A linear memory of some store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Memory {
    pub(crate) store: StoreId,
    pub(crate) index: u32,
}

impl Memory {
    /// A new host-created memory (for example the spec harness's
    /// `spectest.memory`).
    pub fn new(mut store: impl AsContextMut, ty: MemoryType) -> Result<Memory, Error> {
        let store = store.as_context_mut();
        // SAFETY: no outside definition.
        let entry = unsafe { MemoryEntry::new(ty, None) }?;
        store.memories.push(entry);
        Ok(Memory { store: store.id, index: store.memories.len() as u32 - 1 })
    }

    pub(crate) fn entry<'a>(&self, store: &'a StoreOpaque) -> Result<&'a MemoryEntry, Error> {
        store.check(self.store, "memory")?;
        Ok(&store.memories[self.index as usize])
    }

    pub(crate) fn entry_mut<'a>(&self, store: &'a mut StoreOpaque) -> Result<&'a mut MemoryEntry, Error> {
        store.check(self.store, "memory")?;
        Ok(&mut store.memories[self.index as usize])
    }

    /// Its type, with the current size as minimum.
    pub fn ty(&self, store: impl AsContext) -> Result<MemoryType, Error> {
        Ok(self.entry(store.as_context())?.ty())
    }

    /// Current size in pages.
    pub fn size(&self, store: impl AsContext) -> Result<u64, Error> {
        Ok(self.entry(store.as_context())?.memory().pages())
    }

    /// The memory's bytes.
    pub fn data<'a>(&self, store: &'a (impl AsContext + ?Sized)) -> Result<&'a [u8], Error> {
        Ok(self.entry(store.as_context())?.memory().data())
    }

    /// The memory's bytes, mutably.
    pub fn data_mut<'a>(&self, store: &'a mut (impl AsContextMut + ?Sized)) -> Result<&'a mut [u8], Error> {
        Ok(self.entry_mut(store.as_context_mut())?.memory_mut().data_mut())
    }

    /// Grows by `delta` pages; returns the previous size in pages.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64) -> Result<u64, Error> {
        self.entry_mut(store.as_context_mut())?.grow(delta).ok_or(Error::Grow("memory"))
    }
}

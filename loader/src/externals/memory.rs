//! Linear memories as the store holds them, and the `Memory` handle.

use crate::Error;
use crate::store::{AsContext, AsContextMut, StoreId, StoreOpaque};
use super::shared_memory::{SharedMemory, memory_error};
use crate::vm::{LinearMemory, RawBox, VMMemoryDefinition};
use kiln_abi::types::{Limits, MemoryType};
use std::ptr::NonNull;

/// A memory in a store: its storage and the definition generated code
/// reads, which lives inline in the defining instance's VM context or, for
/// host-created and imported shared memories, in its own allocation.
pub(crate) struct MemoryEntry {
    ty: MemoryType,
    storage: Storage,
    definition: NonNull<VMMemoryDefinition>,
    _owned_definition: Option<RawBox<VMMemoryDefinition>>,
}

/// Where a memory's bytes are.
enum Storage {
    /// This store's own memory.
    Owned(LinearMemory),
    /// A shared memory, which other stores (and threads) use too; it
    /// updates this entry's definition when anyone grows it.
    Shared(SharedMemory),
}

impl MemoryEntry {
    /// Creates a memory of type `ty` (a shared one when `ty` is shared)
    /// whose definition is `definition` (in a VM context), or a fresh
    /// allocation when `None`.
    ///
    /// # Safety
    /// A given `definition` must stay valid as long as the entry.
    pub(crate) unsafe fn new(
        ty: MemoryType,
        definition: Option<NonNull<VMMemoryDefinition>>,
    ) -> Result<MemoryEntry, Error> {
        if ty.shared {
            // SAFETY: forwarded.
            return unsafe { MemoryEntry::of_shared(SharedMemory::new(ty)?, definition) };
        }
        let memory = LinearMemory::new(&ty).map_err(memory_error)?;
        let (definition, owned) = definition_or_fresh(definition);
        let entry = MemoryEntry { ty, storage: Storage::Owned(memory), definition, _owned_definition: owned };
        entry.sync();
        Ok(entry)
    }

    /// An entry of this store for the shared memory `shared`.
    ///
    /// # Safety
    /// As for [`Self::new`].
    pub(crate) unsafe fn of_shared(
        shared: SharedMemory,
        definition: Option<NonNull<VMMemoryDefinition>>,
    ) -> Result<MemoryEntry, Error> {
        let (definition, owned) = definition_or_fresh(definition);
        // SAFETY: the definition lives as long as the entry, whose drop
        // unregisters it.
        unsafe { shared.register(definition) };
        Ok(MemoryEntry { ty: shared.ty(), storage: Storage::Shared(shared), definition, _owned_definition: owned })
    }

    /// Writes base and length to the definition generated code reads.
    fn sync(&self) {
        let Storage::Owned(memory) = &self.storage else { return };
        // SAFETY: the definition is valid for the entry's lifetime (`new`)
        // and no wasm runs concurrently with `&self` access to the store.
        unsafe {
            self.definition
                .as_ptr()
                .write(VMMemoryDefinition { base: memory.base(), current_length: memory.byte_len() })
        };
    }

    pub(crate) fn definition(&self) -> *mut VMMemoryDefinition {
        self.definition.as_ptr()
    }

    /// The type with the current size as minimum (the spec's external type).
    pub(crate) fn ty(&self) -> MemoryType {
        MemoryType { limits: Limits { min: self.pages(), max: self.ty.limits.max }, ..self.ty }
    }

    /// The shared memory behind this entry, if it is one.
    pub(crate) fn shared(&self) -> Option<&SharedMemory> {
        match &self.storage {
            Storage::Shared(shared) => Some(shared),
            Storage::Owned(_) => None,
        }
    }

    fn base_and_len(&self) -> (*mut u8, usize) {
        match &self.storage {
            Storage::Owned(memory) => (memory.base(), memory.byte_len()),
            Storage::Shared(shared) => (shared.base(), shared.byte_len()),
        }
    }

    /// Current size in pages (of the memory type's page size).
    pub(crate) fn pages(&self) -> u64 {
        self.base_and_len().1 as u64 >> self.ty.page_size_log2
    }

    /// The accessible bytes.
    pub(crate) fn data(&self) -> &[u8] {
        let (base, len) = self.base_and_len();
        // SAFETY: `[base, base + len)` is mapped readable and writable for
        // the memory's life, which the entry extends; an owned memory only
        // changes through `&mut self` or this store's wasm, which does not
        // run during the borrow. Other threads may write a shared memory
        // meanwhile, which the spec allows (see `shared_memory`).
        unsafe { std::slice::from_raw_parts(base, len) }
    }

    /// The accessible bytes, mutably.
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        let (base, len) = self.base_and_len();
        // SAFETY: as in `data`, with exclusive access to this store.
        unsafe { std::slice::from_raw_parts_mut(base, len) }
    }

    /// Grows by `delta` pages, updating what every importer sees.
    pub(crate) fn grow(&mut self, delta: u64) -> Option<u64> {
        match &mut self.storage {
            Storage::Owned(memory) => {
                let old = memory.grow(delta)?;
                self.sync();
                Some(old)
            }
            Storage::Shared(shared) => shared.grow(delta),
        }
    }
}

impl Drop for MemoryEntry {
    fn drop(&mut self) {
        if let Storage::Shared(shared) = &self.storage {
            shared.unregister(self.definition);
        }
    }
}

/// `definition`, or a fresh allocation for one (owned by the entry).
fn definition_or_fresh(
    definition: Option<NonNull<VMMemoryDefinition>>,
) -> (NonNull<VMMemoryDefinition>, Option<RawBox<VMMemoryDefinition>>) {
    match definition {
        Some(d) => (d, None),
        None => {
            let owned = RawBox::new(VMMemoryDefinition { base: std::ptr::null_mut(), current_length: 0 });
            (NonNull::new(owned.as_ptr()).expect("boxes are not null"), Some(owned))
        }
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

    /// The shared memory `shared` in this store, to import into its
    /// instances (each thread's store gets its own `Memory` of it).
    pub fn from_shared(mut store: impl AsContextMut, shared: &SharedMemory) -> Result<Memory, Error> {
        let store = store.as_context_mut();
        // SAFETY: no outside definition.
        let entry = unsafe { MemoryEntry::of_shared(shared.clone(), None) }?;
        store.memories.push(entry);
        Ok(Memory { store: store.id, index: store.memories.len() as u32 - 1 })
    }

    /// The shared memory this is, if it is shared: a handle other threads
    /// can import.
    pub fn shared(&self, store: impl AsContext) -> Result<Option<SharedMemory>, Error> {
        Ok(self.entry(store.as_context())?.shared().cloned())
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
        Ok(self.entry(store.as_context())?.pages())
    }

    /// The memory's bytes.
    pub fn data<'a>(&self, store: &'a (impl AsContext + ?Sized)) -> Result<&'a [u8], Error> {
        Ok(self.entry(store.as_context())?.data())
    }

    /// The memory's bytes, mutably.
    pub fn data_mut<'a>(&self, store: &'a mut (impl AsContextMut + ?Sized)) -> Result<&'a mut [u8], Error> {
        Ok(self.entry_mut(store.as_context_mut())?.data_mut())
    }

    /// Grows by `delta` pages; returns the previous size in pages.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64) -> Result<u64, Error> {
        self.entry_mut(store.as_context_mut())?.grow(delta).ok_or(Error::Grow("memory"))
    }
}

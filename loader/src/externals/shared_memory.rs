//! Shared linear memories (the threads proposal): one memory that
//! instances in several stores, on several OS threads, use at once.
//!
//! A [`SharedMemory`] is an `Arc` over the storage and is `Send + Sync`.
//! Each store that uses it holds a `MemoryEntry` of its own (created by
//! instantiating a module that defines a shared memory, or by
//! [`Memory::from_shared`](crate::Memory::from_shared) for one to import)
//! whose `VMMemoryDefinition` generated code reads; the shared memory
//! keeps the list of those definitions.
//!
//! * **Never moved.** A shared memory reserves its whole address range at
//!   creation, as every kiln memory does (the 32-bit guard reservation, or
//!   a 64-bit memory's maximum), and grows in place, so its base is the
//!   same in every definition for its whole life and generated code may
//!   keep it in a register while other threads grow the memory.
//! * **Growth.** `memory.grow` takes the memory's lock, makes the pages
//!   accessible, and only then publishes the new length to every
//!   definition (an atomic store of each `current_length`), all under the
//!   lock: two growers are serialized, each sees the size the other left,
//!   and no thread can see a length whose pages are not yet accessible.
//!   Another thread's code may read the old length for a while and trap on
//!   an access to the new pages — wasm allows that until it synchronizes
//!   with the grower.
//! * **Bytes.** The host's views ([`Memory::data`](crate::Memory::data))
//!   are plain slices over memory that other threads' wasm may change at
//!   the same time, as the spec's shared memories allow: a host reading a
//!   shared memory must synchronize with the guest (through atomics in
//!   the guest's protocol) just as a second guest thread would.

use crate::vm::{LinearMemory, MemoryError, VMMemoryDefinition};
use kiln_abi::types::MemoryType;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A shared linear memory, `Send + Sync`: clone it into other threads and
/// import it there with [`Memory::from_shared`](crate::Memory::from_shared).
#[derive(Clone)]
pub struct SharedMemory(pub(crate) Arc<SharedInner>);

impl std::fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedMemory").field("ty", &self.0.ty).field("pages", &self.pages()).finish()
    }
}

pub(crate) struct SharedInner {
    /// The declared type (`shared`, with its maximum).
    ty: MemoryType,
    /// The first byte; fixed for the memory's life.
    base: *mut u8,
    /// Accessible bytes, as last published.
    len: AtomicUsize,
    state: Mutex<SharedState>,
}

struct SharedState {
    memory: LinearMemory,
    /// Every store's definition of this memory, updated on growth.
    definitions: Vec<NonNull<VMMemoryDefinition>>,
}

// SAFETY: `base` points into the reservation the state owns, which lives as
// long as the `Arc`; the definitions are only written under the mutex, and
// each stays valid until its entry unregisters it (`MemoryEntry`'s drop),
// also under the mutex. Nothing here is tied to a thread.
unsafe impl Send for SharedInner {}
// SAFETY: as above; shared access reads `base` and the atomic `len` only.
unsafe impl Sync for SharedInner {}

impl SharedMemory {
    /// A new shared memory of type `ty`, which must be `shared` and have a
    /// maximum (as validation demands of a module's shared memory).
    pub fn new(ty: MemoryType) -> Result<SharedMemory, crate::Error> {
        if !ty.shared {
            return Err(crate::Error::TypeMismatch("a shared memory needs a `shared` memory type".into()));
        }
        if ty.limits.max.is_none() {
            return Err(crate::Error::TypeMismatch("a shared memory must have a maximum".into()));
        }
        let memory = LinearMemory::new(&ty).map_err(memory_error)?;
        let base = memory.base();
        let len = AtomicUsize::new(memory.byte_len());
        let state = Mutex::new(SharedState { memory, definitions: Vec::new() });
        Ok(SharedMemory(Arc::new(SharedInner { ty, base, len, state })))
    }

    /// The declared type.
    pub fn ty(&self) -> MemoryType {
        self.0.ty
    }

    /// The current size in pages (of the type's page size).
    pub fn pages(&self) -> u64 {
        self.byte_len() as u64 >> self.0.ty.page_size_log2
    }

    /// Grows by `delta` pages, atomically with respect to other growers;
    /// returns the previous size in pages, or `None` when past the maximum.
    pub fn grow(&self, delta: u64) -> Option<u64> {
        let mut state = self.0.lock();
        let old = state.memory.grow(delta)?;
        let len = state.memory.byte_len();
        self.0.len.store(len, Ordering::SeqCst);
        for definition in &state.definitions {
            // SAFETY: registered definitions are valid until unregistered,
            // which takes this lock; generated code reads the field
            // concurrently, so it is written atomically.
            let field = unsafe { AtomicUsize::from_ptr(&raw mut (*definition.as_ptr()).current_length) };
            field.store(len, Ordering::SeqCst);
        }
        Some(old)
    }

    /// The first byte.
    pub(crate) fn base(&self) -> *mut u8 {
        self.0.base
    }

    /// Accessible bytes.
    pub(crate) fn byte_len(&self) -> usize {
        self.0.len.load(Ordering::SeqCst)
    }

    /// Fills `definition` and registers it for growth updates.
    ///
    /// # Safety
    /// `definition` must stay valid until [`Self::unregister`] is called
    /// with it.
    pub(crate) unsafe fn register(&self, definition: NonNull<VMMemoryDefinition>) {
        let mut state = self.0.lock();
        let current_length = state.memory.byte_len();
        // SAFETY: valid per the contract; no code reads it before it is
        // registered (the instance is not running yet).
        unsafe { definition.as_ptr().write(VMMemoryDefinition { base: self.0.base, current_length }) };
        state.definitions.push(definition);
    }

    /// Stops updating `definition`.
    pub(crate) fn unregister(&self, definition: NonNull<VMMemoryDefinition>) {
        self.0.lock().definitions.retain(|d| *d != definition);
    }

    /// Whether two handles name the same memory.
    pub fn same(&self, other: &SharedMemory) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl SharedInner {
    fn lock(&self) -> MutexGuard<'_, SharedState> {
        // Growth cannot panic halfway through an update of the state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A memory creation error as the runtime reports it.
pub(crate) fn memory_error(e: MemoryError) -> crate::Error {
    match e {
        MemoryError::Reserve(_) => crate::Error::Resource(e.to_string()),
        MemoryError::MinAboveMax { .. } => crate::Error::TypeMismatch(e.to_string()),
        _ => crate::Error::Unsupported(e.to_string()),
    }
}

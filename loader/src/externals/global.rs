//! Globals as the store holds them, and the `Global` handle.

use crate::store::{AsContext, AsContextMut, StoreId, StoreOpaque};
use crate::vm::{RawBox, VMGlobalDefinition, ValRaw};
use crate::{Error, Val};
use kiln_abi::types::GlobalType;
use std::ptr::NonNull;

/// A global in a store: its type and its 16-byte slot (inline in the
/// defining VM context, or owned for host globals).
pub(crate) struct GlobalEntry {
    pub(crate) ty: GlobalType,
    definition: NonNull<VMGlobalDefinition>,
    _owned_definition: Option<RawBox<VMGlobalDefinition>>,
}

impl GlobalEntry {
    /// A global of type `ty` holding `value`.
    ///
    /// # Safety
    /// A given `definition` must stay valid as long as the entry.
    pub(crate) unsafe fn new(
        ty: GlobalType,
        value: ValRaw,
        definition: Option<NonNull<VMGlobalDefinition>>,
    ) -> GlobalEntry {
        let (definition, owned) = match definition {
            Some(d) => (d, None),
            None => {
                let owned = RawBox::new(VMGlobalDefinition::default());
                (NonNull::new(owned.as_ptr()).expect("boxes are not null"), Some(owned))
            }
        };
        let entry = GlobalEntry { ty, definition, _owned_definition: owned };
        entry.write(value);
        entry
    }

    pub(crate) fn definition(&self) -> *mut VMGlobalDefinition {
        self.definition.as_ptr()
    }

    pub(crate) fn read(&self) -> ValRaw {
        // SAFETY: valid for the entry's lifetime; no wasm runs concurrently.
        unsafe { self.definition.as_ptr().read().value }
    }

    fn write(&self, value: ValRaw) {
        // SAFETY: as in `read`.
        unsafe { self.definition.as_ptr().write(VMGlobalDefinition { value }) };
    }
}

/// A global of some store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Global {
    pub(crate) store: StoreId,
    pub(crate) index: u32,
}

impl Global {
    /// A new host-created global.
    pub fn new(mut store: impl AsContextMut, ty: GlobalType, value: Val) -> Result<Global, Error> {
        let store = store.as_context_mut();
        store.check_val(&value, ty.content, "global value")?;
        let raw = store.val_to_raw(&value)?;
        // SAFETY: no outside definition.
        store.globals.push(unsafe { GlobalEntry::new(ty, raw, None) });
        Ok(Global { store: store.id, index: store.globals.len() as u32 - 1 })
    }

    fn entry<'a>(&self, store: &'a StoreOpaque) -> Result<&'a GlobalEntry, Error> {
        store.check(self.store, "global")?;
        Ok(&store.globals[self.index as usize])
    }

    /// Its type.
    pub fn ty(&self, store: impl AsContext) -> Result<GlobalType, Error> {
        Ok(self.entry(store.as_context())?.ty)
    }

    /// Its current value.
    pub fn get(&self, store: impl AsContext) -> Result<Val, Error> {
        let store = store.as_context();
        let entry = self.entry(store)?;
        Ok(store.raw_to_val(entry.read(), entry.ty.content))
    }

    /// Assigns a new value; the global must be mutable.
    pub fn set(&self, mut store: impl AsContextMut, value: Val) -> Result<(), Error> {
        let store = store.as_context_mut();
        let entry = self.entry(store)?;
        if !entry.ty.mutable {
            return Err(Error::ImmutableGlobal);
        }
        store.check_val(&value, entry.ty.content, "global value")?;
        let raw = store.val_to_raw(&value)?;
        self.entry(store)?.write(raw);
        Ok(())
    }
}

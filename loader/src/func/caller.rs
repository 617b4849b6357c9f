//! What a host function sees of its caller.

use crate::store::{AsContext, AsContextMut, StoreOpaque};
use crate::{Extern, Instance};
use std::any::Any;
use std::marker::PhantomData;
use std::ptr::NonNull;

/// The store and calling instance, handed to a host function. Use it as the
/// store argument of any API (it implements [`AsContextMut`]), for example
/// to read the caller's memory or call back into wasm.
pub struct Caller<'a> {
    store: NonNull<StoreOpaque>,
    instance: Option<u32>,
    _borrow: PhantomData<&'a mut StoreOpaque>,
}

impl Caller<'_> {
    /// # Safety
    /// `store` is the root pointer of a live store with no other live
    /// reference into it for the caller's lifetime.
    pub(crate) unsafe fn new(store: NonNull<StoreOpaque>, instance: Option<u32>) -> Self {
        Caller { store, instance, _borrow: PhantomData }
    }

    /// The calling instance; `None` when the host called the function
    /// directly.
    pub fn instance(&self) -> Option<Instance> {
        let id = self.as_context().id;
        self.instance.map(|index| Instance { store: id, index })
    }

    /// An export of the calling instance.
    pub fn get_export(&self, name: &str) -> Option<Extern> {
        self.instance()?.get_export(self, name)
    }

    /// The store's data, if it holds a `T` (see [`Store::with_data`](crate::Store::with_data)).
    pub fn data<T: Any>(&self) -> Option<&T> {
        self.as_context().data()
    }

    /// The store's data, mutably.
    pub fn data_mut<T: Any>(&mut self) -> Option<&mut T> {
        self.as_context_mut().data_mut()
    }
}

impl AsContext for Caller<'_> {
    fn as_context(&self) -> &StoreOpaque {
        // SAFETY: `new`'s contract: the store is live and only reached
        // through this caller while the host function runs.
        unsafe { self.store.as_ref() }
    }
}

impl AsContextMut for Caller<'_> {
    fn as_context_mut(&mut self) -> &mut StoreOpaque {
        // SAFETY: as above; `&mut self` makes the borrow exclusive.
        unsafe { &mut *self.store.as_ptr() }
    }
}

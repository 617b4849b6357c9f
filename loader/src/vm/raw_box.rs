//! An owning pointer without `Box`'s uniqueness guarantee.

use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// Owns a heap value like `Box`, but is a plain raw pointer to the compiler:
/// for values that generated code also reaches through pointers stored in a
/// VM context (store context, host function contexts, instance data,
/// definitions of host-created memories, tables and globals). A `Box` would
/// assert that no such other pointer is used while it is alive.
pub(crate) struct RawBox<T>(NonNull<T>);

impl<T> RawBox<T> {
    pub(crate) fn new(value: T) -> RawBox<T> {
        RawBox(NonNull::from(Box::leak(Box::new(value))))
    }

    /// The stable address of the value.
    pub(crate) fn as_ptr(&self) -> *mut T {
        self.0.as_ptr()
    }
}

impl<T> Deref for RawBox<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the pointer came from `Box::leak` and is freed only on drop.
        unsafe { self.0.as_ref() }
    }
}

impl<T> DerefMut for RawBox<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` guarantees exclusive access on
        // the Rust side, and generated code does not run concurrently with
        // the store that owns this box.
        unsafe { self.0.as_mut() }
    }
}

impl<T> Drop for RawBox<T> {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::leak` and is dropped once.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

// SAFETY: a RawBox owns its value like a Box.
unsafe impl<T: Send> Send for RawBox<T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for RawBox<T> {}

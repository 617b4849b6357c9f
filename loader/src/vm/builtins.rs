//! The builtin table whose address every VM context holds.
//!
//! The table is generated from [`kiln_abi::foreach_builtin_function!`], so a
//! builtin added to the ABI that the runtime does not implement is a compile
//! error here, and every entry's Rust signature is derived from the ABI's
//! list. `raise_trap`, `raise_trap_at` and `throw_ref` are the C functions
//! that unwind;
//! the others are Rust
//! functions that run as host code (they clear the thread's wasm activation
//! first, see `traphandlers`) and always return.

use super::VMContext;

macro_rules! abi_type {
    (vmctx) => { *mut VMContext };
    (ptr) => { *mut u8 };
    (i32) => { i32 };
    (i64) => { i64 };
    (void) => { () };
    (never) => { ! };
}

macro_rules! define_builtin_table {
    ($( $(#[$attr:meta])* $name:ident($($param:ident: $ty:ident),*) -> $result:ident; )*) => {
        /// Function pointers in [`kiln_abi::Builtin`] order.
        #[repr(C)]
        pub(crate) struct BuiltinTable {
            $( $name: unsafe extern "C" fn($(abi_type!($ty)),*) -> abi_type!($result), )*
        }

        /// The one builtin table; VM contexts point here.
        pub(crate) static BUILTINS: BuiltinTable = BuiltinTable { $( $name: impls::$name, )* };

        #[cfg(test)]
        fn entry_offsets() -> Vec<(kiln_abi::Builtin, usize)> {
            vec![ $( (kiln_abi::Builtin::$name, std::mem::offset_of!(BuiltinTable, $name)), )* ]
        }
    };
}

kiln_abi::foreach_builtin_function!(define_builtin_table);

mod impls {
    use super::VMContext;
    use crate::instance::libcalls;
    use crate::traphandlers::HostScope;
    use crate::vm::parking;

    pub(super) use crate::sys::{raise_trap, raise_trap_at, throw_ref};

    // Each entry below is called by generated code with the calling
    // instance's live VM context; `libcalls` documents what it checks.

    pub(super) unsafe extern "C" fn memory_grow(vmctx: *mut VMContext, memory: i32, delta: i64) -> i64 {
        let _host = HostScope::enter();
        // SAFETY: called by generated code with its own vmctx.
        unsafe { libcalls::memory_grow(vmctx, memory as u32, delta as u64) }
    }

    pub(super) unsafe extern "C" fn table_grow(vmctx: *mut VMContext, table: i32, delta: i64, init: *mut u8) -> i64 {
        let _host = HostScope::enter();
        // SAFETY: as above.
        unsafe { libcalls::table_grow(vmctx, table as u32, delta as u64, init as usize) }
    }

    pub(super) unsafe extern "C" fn table_init(
        vmctx: *mut VMContext,
        table: i32,
        elem: i32,
        dst: i64,
        src: i64,
        len: i64,
    ) -> i32 {
        let _host = HostScope::enter();
        // SAFETY: as above.
        unsafe { libcalls::table_init(vmctx, table as u32, elem as u32, dst as u64, src as u64, len as u64) }
    }

    pub(super) unsafe extern "C" fn elem_drop(vmctx: *mut VMContext, elem: i32) {
        let _host = HostScope::enter();
        // SAFETY: as above.
        unsafe { libcalls::elem_drop(vmctx, elem as u32) }
    }

    pub(super) unsafe extern "C" fn memory_init(
        vmctx: *mut VMContext,
        memory: i32,
        data: i32,
        dst: i64,
        src: i64,
        len: i64,
    ) -> i32 {
        let _host = HostScope::enter();
        // SAFETY: as above.
        unsafe { libcalls::memory_init(vmctx, memory as u32, data as u32, dst as u64, src as u64, len as u64) }
    }

    pub(super) unsafe extern "C" fn memory_atomic_wait32(
        _vmctx: *mut VMContext,
        addr: *mut u8,
        expected: i32,
        timeout: i64,
    ) -> i32 {
        let _host = HostScope::enter();
        // SAFETY: generated code passes the checked, aligned address of an
        // `i32` in a shared memory its instance keeps alive.
        unsafe { parking::wait(addr, false, u64::from(expected as u32), timeout_of(timeout)) as i32 }
    }

    pub(super) unsafe extern "C" fn memory_atomic_wait64(
        _vmctx: *mut VMContext,
        addr: *mut u8,
        expected: i64,
        timeout: i64,
    ) -> i32 {
        let _host = HostScope::enter();
        // SAFETY: as above, for an `i64`.
        unsafe { parking::wait(addr, true, expected as u64, timeout_of(timeout)) as i32 }
    }

    pub(super) unsafe extern "C" fn memory_atomic_notify(_vmctx: *mut VMContext, addr: *mut u8, count: i32) -> i32 {
        let _host = HostScope::enter();
        parking::notify(addr, count as u32) as i32
    }

    /// A wait's timeout in nanoseconds: negative is forever.
    fn timeout_of(nanos: i64) -> Option<std::time::Duration> {
        u64::try_from(nanos).ok().map(std::time::Duration::from_nanos)
    }

    pub(super) unsafe extern "C" fn data_drop(vmctx: *mut VMContext, data: i32) {
        let _host = HostScope::enter();
        // SAFETY: as above.
        unsafe { libcalls::data_drop(vmctx, data as u32) }
    }

    pub(super) unsafe extern "C" fn exn_new(vmctx: *mut VMContext, tag: i32) -> *mut u8 {
        let _host = HostScope::enter();
        // SAFETY: as above; `tag` is a validated tag index of the module.
        unsafe { crate::exceptions::exn_new(vmctx, tag as u32) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_abi::Builtin;

    #[test]
    fn table_follows_abi_order() {
        let ptr = std::mem::size_of::<usize>();
        assert_eq!(std::mem::size_of::<BuiltinTable>(), Builtin::ALL.len() * ptr);
        for (builtin, offset) in entry_offsets() {
            assert_eq!(offset, builtin.index() as usize * ptr, "{}", builtin.name());
        }
    }
}

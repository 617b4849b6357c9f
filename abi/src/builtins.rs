//! Runtime functions that generated code calls.
//!
//! The list is written once, in [`foreach_builtin_function!`]. The compiler
//! walks it to declare each builtin's LLVM signature; the runtime walks it to
//! fill the builtin table whose address every VM context holds (see
//! [`crate::VMOffsets::builtins`]). A builtin is called as
//! `(*vmctx.builtins)[Builtin::index()](args...)`.
//!
//! Rules for builtins: they take the calling instance's `vmctx` first; they
//! never unwind, except `throw_ref` (a failure becomes a trap code returned to, or raised for,
//! generated code); `raise_trap` and `raise_trap_at` never return. A builtin that can fail with
//! a trap returns an `i32` that is 0 on success or a
//! [`TrapCode`](crate::TrapCode) number, which generated code passes to
//! `raise_trap` (builtins implemented in Rust must return normally so that
//! no Rust frame is ever unwound by a trap).
//!
//! Indices and counts that are `i32` in wasm (table and memory offsets of
//! 32-bit tables and memories) are passed zero-extended to `i64`.

/// Invokes `$mac! { $( $(#[$attr])* $name($($param: $ty),*) -> $result; )* }`
/// with the list of builtins, in table order.
///
/// Parameter and result types are one of: `vmctx` (the caller's VM context
/// pointer), `ptr` (any other pointer), `i32`, `i64`, `void` (no result) and
/// `never` (does not return).
#[macro_export]
macro_rules! foreach_builtin_function {
    ($mac:ident) => {
        $mac! {
            /// `memory.grow`: grows memory `memory` (an index in the module's
            /// memory space) by `delta` pages. Returns the previous size in
            /// pages, or -1 if the memory cannot grow that far.
            memory_grow(vmctx: vmctx, memory: i32, delta: i64) -> i64;
            /// Raises trap `code` (a [`TrapCode`](crate::TrapCode) number),
            /// unwinding to the innermost host-to-wasm entry.
            raise_trap(vmctx: vmctx, code: i32) -> never;
            /// `table.grow`: grows table `table` (an index in the module's
            /// table space) by `delta` elements set to `init` (a
            /// `*const VMFuncRef` or externref pointer, null for a null
            /// reference). Returns the previous size, or -1 if the table
            /// cannot grow that far.
            table_grow(vmctx: vmctx, table: i32, delta: i64, init: ptr) -> i64;
            /// `table.init`: copies elements `src..src+len` of element
            /// segment `elem` to table `table` at `dst`. Returns 0, or the
            /// trap code `TableOutOfBounds` to raise.
            table_init(vmctx: vmctx, table: i32, elem: i32, dst: i64, src: i64, len: i64) -> i32;
            /// `elem.drop`: drops element segment `elem`.
            elem_drop(vmctx: vmctx, elem: i32) -> void;
            /// `memory.init`: copies bytes `src..src+len` of data segment
            /// `data` to memory `memory` at `dst`. Returns 0, or the trap
            /// code `MemoryOutOfBounds` to raise.
            memory_init(vmctx: vmctx, memory: i32, data: i32, dst: i64, src: i64, len: i64) -> i32;
            /// `data.drop`: drops data segment `data`.
            data_drop(vmctx: vmctx, data: i32) -> void;
            /// Raises trap `code` about the table element at `index`,
            /// unwinding like `raise_trap`; the trap's message names the
            /// element (`uninitialized element 2`), as the specification's
            /// reference interpreter's does.
            raise_trap_at(vmctx: vmctx, code: i32, index: i64) -> never;
            /// `throw`, first half: a new exception of tag `tag` (an index
            /// in the module's tag space) owned by the store, whose payload
            /// slots generated code then fills (see [`crate::exceptions`]).
            exn_new(vmctx: vmctx, tag: i32) -> ptr;
            /// `throw` and `throw_ref`: raises the (non-null) exception
            /// `exn`, unwinding through generated code's landing pads to the
            /// innermost handler or, without one, to the host-to-wasm entry.
            /// The only builtin that unwinds (see [`crate::exceptions`]).
            throw_ref(vmctx: vmctx, exn: ptr) -> never;
            /// `memory.atomic.wait32` on a shared memory: `addr` is the
            /// (checked, aligned) address of the `i32` in the memory's
            /// reservation. Blocks while it equals `expected`, for at most
            /// `timeout` nanoseconds (forever if negative), until a notify
            /// of the same address. Returns 0 (woken), 1 (not equal) or 2
            /// (timed out).
            memory_atomic_wait32(vmctx: vmctx, addr: ptr, expected: i32, timeout: i64) -> i32;
            /// `memory.atomic.wait64`: as `memory_atomic_wait32` for an `i64`.
            memory_atomic_wait64(vmctx: vmctx, addr: ptr, expected: i64, timeout: i64) -> i32;
            /// `memory.atomic.notify` on a shared memory: wakes at most
            /// `count` (unsigned) waiters on `addr`, oldest first, and
            /// returns how many it woke.
            memory_atomic_notify(vmctx: vmctx, addr: ptr, count: i32) -> i32;
        }
    };
}

macro_rules! define_builtin_enum {
    ($( $(#[$attr:meta])* $name:ident($($param:ident: $ty:ident),*) -> $result:ident; )*) => {
        /// One runtime builtin, named like its entry in
        /// [`foreach_builtin_function!`].
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum Builtin {
            $( $(#[$attr])* $name, )*
        }

        impl Builtin {
            /// Every builtin, in table order.
            pub const ALL: &'static [Builtin] = &[ $( Builtin::$name, )* ];

            /// The builtin's name, as written in the list.
            pub fn name(self) -> &'static str {
                match self { $( Builtin::$name => stringify!($name), )* }
            }

            /// The builtin's signature.
            pub fn signature(self) -> BuiltinSignature {
                match self {
                    $( Builtin::$name => {
                        const PARAMS: &[AbiType] = &[ $( AbiType::from_name(stringify!($ty)), )* ];
                        BuiltinSignature { params: PARAMS, result: AbiType::from_name(stringify!($result)) }
                    } )*
                }
            }
        }
    };
}

foreach_builtin_function!(define_builtin_enum);

impl Builtin {
    /// The builtin's position in the builtin table.
    pub fn index(self) -> u32 {
        self as u32
    }
}

/// A type in a builtin's signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AbiType {
    /// The caller's VM context pointer.
    VMContext,
    /// Any other pointer.
    Ptr,
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// No value (only as a result).
    Void,
    /// The function does not return (only as a result).
    Never,
}

impl AbiType {
    const fn from_name(name: &str) -> AbiType {
        match name.as_bytes() {
            b"vmctx" => AbiType::VMContext,
            b"ptr" => AbiType::Ptr,
            b"i32" => AbiType::I32,
            b"i64" => AbiType::I64,
            b"void" => AbiType::Void,
            b"never" => AbiType::Never,
            _ => panic!("unknown builtin ABI type in foreach_builtin_function!"),
        }
    }
}

/// Parameter and result types of a builtin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuiltinSignature {
    /// Parameters, in order.
    pub params: &'static [AbiType],
    /// The result (`Void` or `Never` if none).
    pub result: AbiType,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_indices_follow_list_order() {
        for (i, b) in Builtin::ALL.iter().enumerate() {
            assert_eq!(b.index() as usize, i);
            assert_eq!(b.signature().params.first(), Some(&AbiType::VMContext), "{}", b.name());
        }
        assert_eq!(Builtin::raise_trap.signature().result, AbiType::Never);
        assert_eq!(Builtin::raise_trap_at.signature().result, AbiType::Never);
    }
}

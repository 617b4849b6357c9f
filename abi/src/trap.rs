//! Trap codes: why wasm execution stopped, shared by generated code (which
//! passes them to the `raise_trap` builtin) and the runtime (which reports
//! them). The messages are the WebAssembly specification's wording.

use std::fmt;

/// Why a wasm computation trapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
#[non_exhaustive]
pub enum TrapCode {
    /// The wasm call stack exceeded its limit (unbounded recursion).
    StackOverflow = 1,
    /// A load or store touched memory outside the linear memory.
    MemoryOutOfBounds = 2,
    /// An atomic access was not naturally aligned.
    HeapMisaligned = 3,
    /// A table access (`table.get`, `table.set`, bulk table operations) was
    /// out of bounds.
    TableOutOfBounds = 4,
    /// `call_indirect` with an index past the end of the table.
    UndefinedElement = 5,
    /// `call_indirect` of a null table entry.
    UninitializedElement = 6,
    /// `call_indirect` whose callee has a different signature.
    IndirectCallTypeMismatch = 7,
    /// Signed division overflow (`INT_MIN / -1`).
    IntegerOverflow = 8,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero = 9,
    /// A float-to-integer truncation of NaN or of a value out of range.
    BadConversionToInteger = 10,
    /// The `unreachable` instruction was executed.
    UnreachableCodeReached = 11,
    /// A null reference was dereferenced.
    NullReference = 12,
    /// An array access was out of bounds.
    ArrayOutOfBounds = 13,
    /// An allocation exceeded an implementation limit.
    AllocationTooLarge = 14,
    /// A reference cast failed.
    CastFailure = 15,
    /// A host function called from wasm returned an error; the error itself
    /// travels beside the trap code.
    HostError = 16,
    /// `call_ref` of a null function reference.
    NullFunctionReference = 17,
    /// `throw_ref` of a null exception reference.
    NullExceptionReference = 18,
    /// `memory.atomic.wait32/64` on a memory that is not shared.
    ExpectedSharedMemory = 19,
}

impl TrapCode {
    /// Every trap code, in numeric order.
    pub const ALL: [TrapCode; 19] = [
        TrapCode::StackOverflow,
        TrapCode::MemoryOutOfBounds,
        TrapCode::HeapMisaligned,
        TrapCode::TableOutOfBounds,
        TrapCode::UndefinedElement,
        TrapCode::UninitializedElement,
        TrapCode::IndirectCallTypeMismatch,
        TrapCode::IntegerOverflow,
        TrapCode::IntegerDivisionByZero,
        TrapCode::BadConversionToInteger,
        TrapCode::UnreachableCodeReached,
        TrapCode::NullReference,
        TrapCode::ArrayOutOfBounds,
        TrapCode::AllocationTooLarge,
        TrapCode::CastFailure,
        TrapCode::HostError,
        TrapCode::NullFunctionReference,
        TrapCode::NullExceptionReference,
        TrapCode::ExpectedSharedMemory,
    ];

    /// The code as passed between generated code and the runtime.
    pub fn as_u32(self) -> u32 {
        self as u32
    }

    /// The trap code with this number, if any.
    pub fn from_u32(code: u32) -> Option<TrapCode> {
        TrapCode::ALL.into_iter().find(|c| c.as_u32() == code)
    }

    /// The specification's message for this trap.
    pub fn message(self) -> &'static str {
        match self {
            TrapCode::StackOverflow => "call stack exhausted",
            TrapCode::MemoryOutOfBounds => "out of bounds memory access",
            TrapCode::HeapMisaligned => "unaligned atomic",
            TrapCode::TableOutOfBounds => "out of bounds table access",
            TrapCode::UndefinedElement => "undefined element",
            TrapCode::UninitializedElement => "uninitialized element",
            TrapCode::IndirectCallTypeMismatch => "indirect call type mismatch",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::IntegerDivisionByZero => "integer divide by zero",
            TrapCode::BadConversionToInteger => "invalid conversion to integer",
            TrapCode::UnreachableCodeReached => "unreachable",
            TrapCode::NullReference => "null reference",
            TrapCode::ArrayOutOfBounds => "out of bounds array access",
            TrapCode::AllocationTooLarge => "allocation too large",
            TrapCode::CastFailure => "cast failure",
            TrapCode::HostError => "host function error",
            TrapCode::NullFunctionReference => "null function reference",
            TrapCode::NullExceptionReference => "null exception reference",
            TrapCode::ExpectedSharedMemory => "expected shared memory",
        }
    }
}

impl fmt::Display for TrapCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_distinct() {
        for (i, code) in TrapCode::ALL.into_iter().enumerate() {
            assert_eq!(code.as_u32(), i as u32 + 1);
            assert_eq!(TrapCode::from_u32(code.as_u32()), Some(code));
        }
        assert_eq!(TrapCode::from_u32(0), None);
        assert_eq!(TrapCode::from_u32(TrapCode::ALL.len() as u32 + 1), None);
    }
}

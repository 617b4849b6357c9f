//! The compiler's error type.
//!
//! Six kinds of failure, kept apart because callers treat them differently:
//! the input does not decode as WebAssembly ([`CompileError::Malformed`]);
//! it decodes but is not valid ([`CompileError::Invalid`]); it is
//! valid but uses something kiln does not implement yet
//! ([`CompileError::Unsupported`], which the spec-test runner counts as
//! unsupported, not failed) or that the options turned off
//! ([`CompileError::Disabled`]); the requested target, CPU or feature does not exist
//! ([`CompileError::Target`]); or kiln itself is wrong
//! ([`CompileError::Internal`]). None of them is ever a panic.

use std::fmt;

/// Why a module could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The input breaks the binary format: it cannot be decoded into a
    /// module (the specification's "malformed").
    #[error("malformed module: {message} (at offset {offset:#x})")]
    Malformed {
        /// The decoder's explanation.
        message: String,
        /// Byte offset in the input where decoding failed.
        offset: usize,
    },
    /// The input decodes but is not a valid WebAssembly module.
    #[error("invalid module: {message}{}", Location(*func_index, *offset))]
    Invalid {
        /// The validator's explanation.
        message: String,
        /// Byte offset in the input where the problem was found.
        offset: usize,
        /// The function (in the module's function index space) containing
        /// the problem, if it lies in a function body.
        func_index: Option<u32>,
    },
    /// The module is valid but uses a WebAssembly feature kiln does not
    /// implement.
    #[error("unsupported WebAssembly feature: {feature}{}", Location(*func_index, *offset))]
    Unsupported {
        /// The feature, e.g. `SIMD` or `reference types`.
        feature: String,
        /// Byte offset of the first use found.
        offset: usize,
        /// The function containing that use, if any.
        func_index: Option<u32>,
    },
    /// The module uses a proposal the options turned off
    /// (`--features -tail-call`).
    #[error("the module uses {feature}, which `--features -{flag}` turned off{}", Location(*func_index, *offset))]
    Disabled {
        /// The proposal, e.g. `tail calls`.
        feature: String,
        /// How `--features` names it, e.g. `tail-call`.
        flag: String,
        /// Byte offset of the first use found.
        offset: usize,
        /// The function containing that use, if any.
        func_index: Option<u32>,
    },
    /// The target triple, CPU or a CPU feature is unknown or unusable.
    #[error("target error: {0}")]
    Target(String),
    /// A WebAssembly proposal named in the options is unknown, or one
    /// kiln does not implement.
    #[error("{0}")]
    Proposal(String),
    /// A bug in kiln.
    #[error("internal compiler error: {0}")]
    Internal(String),
}

/// Formats `" (function 3, at offset 0x1a2)"`.
struct Location(Option<u32>, usize);

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(func) => write!(f, " (function {func}, at offset {:#x})", self.1),
            None => write!(f, " (at offset {:#x})", self.1),
        }
    }
}

impl CompileError {
    /// An internal error that records where in kiln it was detected.
    #[track_caller]
    pub(crate) fn internal(what: impl fmt::Display) -> CompileError {
        let at = std::panic::Location::caller();
        CompileError::Internal(format!("{what} (in {}:{})", at.file(), at.line()))
    }
}

/// Shorthand used throughout the crate.
pub(crate) type Result<T, E = CompileError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_function_and_offset() {
        let e = CompileError::Invalid { message: "type mismatch".into(), offset: 0x1a2, func_index: Some(3) };
        assert_eq!(e.to_string(), "invalid module: type mismatch (function 3, at offset 0x1a2)");
        let e = CompileError::Malformed { message: "unexpected end".into(), offset: 9 };
        assert_eq!(e.to_string(), "malformed module: unexpected end (at offset 0x9)");
        let e = CompileError::Unsupported { feature: "SIMD".into(), offset: 16, func_index: None };
        assert_eq!(e.to_string(), "unsupported WebAssembly feature: SIMD (at offset 0x10)");
    }
}

//! The crate's error types (loading errors live in `module::error`).

use crate::{LoadError, Trap};
use kiln_abi::ValType;

/// Anything that can go wrong using the runtime.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Wasm code trapped.
    #[error(transparent)]
    Trap(#[from] Trap),
    /// An import could not be satisfied.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// A library could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A handle (function, memory, table, global, instance, reference) was
    /// used with a store other than the one that created it.
    #[error("a {0} of another store was used with this store")]
    WrongStore(&'static str),
    /// A module was used with a store of a different engine.
    #[error("the module was loaded by another engine than the store's")]
    WrongEngine,
    /// A value's type does not match what is expected.
    #[error("type mismatch: {0}")]
    TypeMismatch(String),
    /// The number of imports given to `Instance::new` is wrong.
    #[error("the module has {expected} imports, {given} were given")]
    ImportCount {
        /// What the module declares.
        expected: usize,
        /// What was given.
        given: usize,
    },
    /// No export of that name.
    #[error("no export named `{0}`")]
    ExportNotFound(String),
    /// An immutable global was assigned.
    #[error("cannot set an immutable global")]
    ImmutableGlobal,
    /// A table or memory access from the host was out of bounds.
    #[error("{0} out of bounds")]
    OutOfBounds(&'static str),
    /// A table or memory could not grow by that much.
    #[error("cannot grow the {0} by that much")]
    Grow(&'static str),
    /// A feature the runtime does not implement yet.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// The OS refused resources (address space, memory).
    #[error("out of resources: {0}")]
    Resource(String),
    /// An error returned by a host function (see [`Error::host`]).
    #[error("{0}")]
    Host(Box<dyn std::error::Error + Send + Sync>),
    /// A bug in the compiler or runtime, for example generated code raising
    /// a trap code that does not exist.
    #[error("internal error: {0}")]
    Internal(String),
    /// A wasm exception that no handler caught (or one a host function
    /// raises): its tag and payload are in the store.
    #[error("{0}")]
    Exception(crate::Exception),
}

impl Error {
    /// Wraps any error for a host function to return.
    pub fn host(error: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Host(Box::new(error))
    }

    /// A host function error with a message.
    pub fn msg(message: impl std::fmt::Display) -> Error {
        Error::Host(message.to_string().into())
    }

    /// The trap, if this error is one.
    pub fn as_trap(&self) -> Option<&Trap> {
        match self {
            Error::Trap(t) => Some(t),
            _ => None,
        }
    }

    pub(crate) fn type_mismatch(what: impl std::fmt::Display, expected: ValType, found: ValType) -> Error {
        Error::TypeMismatch(format!("{what}: expected {expected}, found {found}"))
    }
}

/// An import that could not be satisfied, naming it.
#[derive(Debug, thiserror::Error)]
#[error("{kind} \"{module}\".\"{name}\"{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
pub struct LinkError {
    /// The import's module name.
    pub module: String,
    /// The import's field name.
    pub name: String,
    /// What is wrong.
    pub kind: LinkErrorKind,
    /// Details.
    pub reason: Option<String>,
}

/// The kinds of link error; their `Display` is the wording of the spec
/// interpreter, which the spec testsuite matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkErrorKind {
    /// Nothing is defined under that name.
    #[error("unknown import")]
    Unknown,
    /// Something is defined, but of the wrong kind or type.
    #[error("incompatible import type for")]
    Incompatible,
}

impl LinkError {
    pub(crate) fn unknown(module: &str, name: &str) -> LinkError {
        LinkError { module: module.into(), name: name.into(), kind: LinkErrorKind::Unknown, reason: None }
    }

    pub(crate) fn incompatible(module: &str, name: &str, reason: String) -> LinkError {
        LinkError { module: module.into(), name: name.into(), kind: LinkErrorKind::Incompatible, reason: Some(reason) }
    }
}

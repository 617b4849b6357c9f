//! Why a library could not be loaded.

use kiln_abi::MetadataError;
use kiln_abi::seal::SealError;
use std::path::PathBuf;

/// A library that could not be loaded or read, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("cannot load `{}`: {kind}", path.display())]
pub struct LoadError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it (part of the message, not a separate source).
    pub kind: LoadErrorKind,
}

/// What is wrong with a library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadErrorKind {
    /// The file could not be read (missing, unreadable).
    #[error("{0}")]
    Io(std::io::Error),
    /// Not an object file, or a damaged or truncated one.
    #[error("not a valid object file ({0}); is it truncated?")]
    Malformed(String),
    /// An object file, but not a shared library.
    #[error("it is {0}, not a shared library")]
    NotALibrary(&'static str),
    /// No kiln metadata in it.
    #[error("not a kiln library: it has no `{}` symbol", kiln_abi::symbols::METADATA)]
    NotKiln,
    /// The metadata symbol is there but its bytes are not in the file.
    #[error("the `{sym}` symbol does not point at data stored in the file ({0})", sym = kiln_abi::symbols::METADATA)]
    MetadataLocation(String),
    /// The metadata blob is damaged, truncated or of another format version.
    #[error("{0}")]
    Metadata(MetadataError),
    /// The library's seal is missing or does not match its bytes.
    #[error("{0}")]
    Seal(SealError),
    /// Compiled for another target.
    #[error("built for {built_for}, this host is {host}")]
    WrongTarget {
        /// The artifact's target triple.
        built_for: String,
        /// The host's.
        host: String,
    },
    /// Compiled for another pointer size.
    #[error("built for {built_for}-byte pointers, this host has {host}-byte pointers")]
    PointerSize {
        /// The artifact's pointer size.
        built_for: u8,
        /// The host's.
        host: u32,
    },
    /// Requires CPU features this host lacks.
    #[error("requires CPU features this host lacks: {}", .0.join(", "))]
    MissingCpuFeatures(Vec<String>),
    /// Requires a CPU feature the loader cannot check on this host.
    #[error("requires CPU feature `{0}`, which this loader cannot check on this host")]
    UnverifiableCpuFeature(String),
    /// Imports a symbol kiln libraries may not import.
    #[error("imports `{0}` from the host process; kiln libraries may only import {allowed}", allowed = kiln_abi::symbols::ALLOWED_UNDEFINED.join(", "))]
    UndefinedSymbol(String),
    /// Not linked the way kiln links libraries (thread-local storage, an
    /// executable stack, another machine, unusual relocations...).
    #[error("it is not linked the way kiln links libraries: {0}")]
    NotKilnLinked(String),
    /// Loading it would run code of it (initializers, finalizers, IFUNC
    /// resolvers).
    #[error("loading it would run its code: {0}; a kiln library runs nothing when it is loaded")]
    RunsCode(String),
    /// It depends on another library.
    #[error("it depends on another library, {0}; a kiln library depends on none")]
    Dependency(String),
    /// The dynamic loader refused the library.
    #[error("the dynamic loader failed: {0}")]
    Dlopen(String),
    /// The function table symbol is missing.
    #[error("it has no `{}` symbol", kiln_abi::symbols::FUNCTIONS)]
    MissingFunctions,
    /// The metadata passed its checksum but describes an impossible module.
    #[error("the metadata is inconsistent: {0}")]
    InvalidMetadata(String),
}

impl LoadErrorKind {
    pub(crate) fn at(self, path: impl Into<PathBuf>) -> LoadError {
        LoadError { path: path.into(), kind: self }
    }
}

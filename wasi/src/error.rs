//! The crate's error types: what the embedding API returns, and how a
//! guest's `proc_exit` travels up as an error.

use std::path::PathBuf;

/// What can go wrong setting up or running WASI (errors the guest sees are
/// [`Errno`](crate::Errno) values instead).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WasiError {
    /// A directory to preopen could not be opened.
    // The message already holds the cause, so it is not also a `source`
    // (reports that walk the chain would print it twice).
    #[error("cannot open the directory {} to preopen it: {error}", path.display())]
    Preopen {
        /// The host path.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A WASI function that takes pointers was called by a module that
    /// exports no `memory`.
    #[error("a WASI function needs guest memory, but the calling module exports no `memory`")]
    MissingMemory,
}

/// The guest called `proc_exit` with this status. Returned by the host
/// function as its error, so it unwinds every wasm frame and reaches the
/// embedder as a [`TrapCode::HostError`](kiln_loader::TrapCode::HostError)
/// trap carrying it; [`exit_code`] finds it there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("exited with status {0}")]
pub struct I32Exit(pub i32);

/// The exit status, if `error` is how a guest's `proc_exit` ended the call:
/// a trap carrying [`I32Exit`], or (when the host called `proc_exit`
/// itself, not through wasm) the host error as is.
pub fn exit_code(error: &kiln_loader::Error) -> Option<i32> {
    let error = match error {
        kiln_loader::Error::Trap(trap) => trap.host_error()?,
        other => other,
    };
    match error {
        kiln_loader::Error::Host(inner) => inner.downcast_ref::<I32Exit>().map(|exit| exit.0),
        _ => None,
    }
}

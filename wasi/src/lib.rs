//! WASI preview 1 (`wasi_snapshot_preview1`) for kiln's runtime.
//!
//! ```no_run
//! use kiln_loader::{Engine, Linker, Module, Store};
//! use kiln_wasi::{OutputPipe, WasiCtxBuilder, add_to_linker, exit_code};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::default();
//! let module = Module::from_file(&engine, "hello.so")?;
//! let mut store = Store::new(&engine);
//! let mut linker = Linker::new(&engine);
//! let stdout = OutputPipe::new();
//! let ctx = WasiCtxBuilder::new()
//!     .arg("hello")
//!     .env("GREETING", "hi")
//!     .stdout(stdout.clone())
//!     .preopened_dir("data", "/data")?
//!     .build();
//! add_to_linker(&mut linker, &mut store, ctx)?;
//! let instance = linker.instantiate(&mut store, &module)?;
//! let start = instance.get_typed_func::<(), ()>(&store, "_start")?;
//! let status = match start.call(&mut store, ()) {
//!     Ok(()) => 0,
//!     Err(e) => exit_code(&e).ok_or(e)?,
//! };
//! println!("exit {status}: {}", String::from_utf8_lossy(&stdout.contents()));
//! # Ok(())
//! # }
//! ```
//!
//! How it fits together:
//! - [`WasiCtxBuilder`] says what the guest may see: arguments, environment,
//!   stdio (inherited, in-memory pipes, or null by default), and preopened
//!   directories. Nothing is granted by default.
//! - [`add_to_linker`] defines every function of the snapshot as a host
//!   function (module `wasi_snapshot_preview1`, the signatures wasi-libc
//!   imports), sharing the context.
//! - Guest fds index a table of host objects with WASI rights; file system
//!   access goes only through cap-std directories, so the guest cannot
//!   reach anything outside its preopens (see the `path` module).
//! - Guest pointers are bounds-checked (`EFAULT`); no guest input panics.
//! - `proc_exit` unwinds as a trap carrying [`I32Exit`]; [`exit_code`]
//!   reads it back.
#![warn(missing_docs)]
#![cfg(unix)]
// The functions mirror the spec's signatures, which have up to nine parameters.
#![allow(clippy::too_many_arguments)]

mod args_env;
mod clocks_random;
mod ctx;
mod errno;
mod error;
mod fd;
mod linker;
mod memory;
mod path;
mod poll;
mod proc;
mod readdir;
mod sock;
mod table;
pub mod types;

pub use ctx::{InputPipe, OutputPipe, WasiCtx, WasiCtxBuilder};
pub use errno::Errno;
pub use error::{I32Exit, WasiError, exit_code};
pub use linker::{MODULE, add_to_linker, add_to_linker_shared};

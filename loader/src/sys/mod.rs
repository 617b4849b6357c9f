//! Everything that depends on the operating system: the fault handler and
//! entry helper (C), address-space reservations, thread stack bounds,
//! alternate signal stacks, and opening libraries. One module per OS family;
//! the rest of the crate only uses the names re-exported here.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(not(unix))]
compile_error!("kiln-loader supports Unix hosts only for now; add a `sys` module for this OS");

//! The error value of a wasm computation that trapped.

use crate::Error;
use kiln_abi::TrapCode;
use std::fmt;

/// Why and where wasm execution stopped.
#[derive(Debug)]
pub struct Trap {
    code: TrapCode,
    pc: Option<usize>,
    fault_address: Option<usize>,
    index: Option<u64>,
    host_error: Option<Box<Error>>,
}

impl Trap {
    /// A trap with `code` and no location.
    pub fn new(code: TrapCode) -> Trap {
        Trap { code, pc: None, fault_address: None, index: None, host_error: None }
    }

    pub(crate) fn at(code: TrapCode, pc: usize, fault_address: usize) -> Trap {
        Trap {
            code,
            pc: (pc != 0).then_some(pc),
            fault_address: (fault_address != 0).then_some(fault_address),
            index: None,
            host_error: None,
        }
    }

    /// The same trap about table element `index`, when there is one.
    pub(crate) fn with_index(self, index: Option<u64>) -> Trap {
        Trap { index, ..self }
    }

    /// A trap caused by a host function's error.
    pub(crate) fn host(error: Error) -> Trap {
        Trap { host_error: Some(Box::new(error)), ..Trap::new(TrapCode::HostError) }
    }

    /// The trap code.
    pub fn code(&self) -> TrapCode {
        self.code
    }

    /// The native pc of the faulting instruction or of the trap builtin's
    /// call site, when known.
    pub fn pc(&self) -> Option<usize> {
        self.pc
    }

    /// For memory faults, the address that was accessed.
    pub fn fault_address(&self) -> Option<usize> {
        self.fault_address
    }

    /// For a trap about a table element (a null element reached by
    /// `call_indirect`), the element's index. The message names it too
    /// (`uninitialized element 2`), as the specification's reference
    /// interpreter's does.
    pub fn index(&self) -> Option<u64> {
        self.index
    }

    /// For [`TrapCode::HostError`], the error the host function returned.
    pub fn host_error(&self) -> Option<&Error> {
        self.host_error.as_deref()
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code.message())?;
        if let Some(index) = self.index {
            write!(f, " {index}")?;
        }
        if let Some(e) = &self.host_error {
            write!(f, ": {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Trap {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.host_error.as_deref().map(|e| e as _)
    }
}

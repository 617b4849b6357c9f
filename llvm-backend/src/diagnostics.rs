//! Catching LLVM's error diagnostics.
//!
//! Some code-generation failures (an instruction the chosen CPU features
//! cannot express, say) are reported through the LLVM context's diagnostic
//! handler. Without a handler of our own LLVM prints the message and calls
//! `exit(1)` — it would take the embedding process down. So every context
//! kiln creates gets [`Diagnostics`], which collects error messages; the
//! pipeline turns them into a [`CompileError`] once LLVM returns.

use crate::error::{CompileError, Result};
use inkwell::context::Context;
use inkwell::llvm_sys::LLVMDiagnosticSeverity;
use inkwell::llvm_sys::core::{
    LLVMContextSetDiagnosticHandler, LLVMDisposeMessage, LLVMGetDiagInfoDescription, LLVMGetDiagInfoSeverity,
};
use inkwell::llvm_sys::prelude::LLVMDiagnosticInfoRef;
use std::cell::RefCell;
use std::ffi::{CStr, c_void};

/// Error diagnostics reported by one LLVM context.
#[derive(Default)]
pub(crate) struct Diagnostics {
    errors: RefCell<Vec<String>>,
}

impl Diagnostics {
    /// Routes `context`'s diagnostics here. `self` must outlive every use
    /// of the context (declare it before the context, so it drops after).
    pub fn install(&self, context: &Context) {
        // SAFETY: LLVM stores the pointer and passes it back to `handler`
        // only while the context lives, which the caller guarantees `self`
        // outlives; `handler` only reads through it.
        unsafe {
            LLVMContextSetDiagnosticHandler(context.raw(), Some(handler), self as *const Diagnostics as *mut c_void)
        }
    }

    /// Fails if LLVM reported an error since the last check.
    pub fn check(&self) -> Result<()> {
        let errors = std::mem::take(&mut *self.errors.borrow_mut());
        match errors.is_empty() {
            true => Ok(()),
            false => Err(CompileError::Internal(format!("LLVM: {}", errors.join("; ")))),
        }
    }
}

extern "C" fn handler(info: LLVMDiagnosticInfoRef, context: *mut c_void) {
    // SAFETY: `context` is the `Diagnostics` registered in `install`, alive
    // by its contract; LLVM calls the handler on the thread that uses the
    // context, so the `RefCell` is not shared. The description is an
    // LLVM-allocated C string, copied and then released.
    unsafe {
        if LLVMGetDiagInfoSeverity(info) != LLVMDiagnosticSeverity::LLVMDSError {
            return;
        }
        let diagnostics = &*(context as *const Diagnostics);
        let description = LLVMGetDiagInfoDescription(info);
        let message = CStr::from_ptr(description).to_string_lossy().into_owned();
        LLVMDisposeMessage(description);
        if let Ok(mut errors) = diagnostics.errors.try_borrow_mut() {
            errors.push(message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CompileOptions;
    use inkwell::targets::FileType;

    #[test]
    fn codegen_errors_are_reported_not_fatal() {
        let diagnostics = Diagnostics::default();
        let context = Context::create();
        diagnostics.install(&context);
        let setup = crate::target::setup(&CompileOptions::default()).unwrap();
        let module = context.create_module("diagnostics");
        module.set_triple(&setup.machine.get_triple());
        let types = crate::codegen::builder::Types::new(&context, 8);
        let function = module.add_function("f", types.fn_type(&[], None), None);
        let b = crate::codegen::builder::FnBuilder::new(types, crate::codegen::builder::Tags::new(&types), &module);
        b.position_at_end(context.append_basic_block(function, "entry"));
        let asm_type = types.fn_type(&[types.i32.into()], None);
        let asm =
            context.create_inline_asm(asm_type, String::new(), "{no-such-register}".into(), true, false, None, false);
        b.call_indirect(asm_type, asm, &[types.i32.const_zero().into()]).unwrap();
        b.ret(None).unwrap();
        let _ = setup.machine.write_to_memory_buffer(&module, FileType::Object);
        let error = diagnostics.check().unwrap_err();
        assert!(error.to_string().contains("no-such-register"), "{error}");
    }
}

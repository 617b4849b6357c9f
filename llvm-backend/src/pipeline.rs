//! Optimization and machine-code emission.
//!
//! The module is verified before anything else touches it (an invalid
//! module is a kiln bug, and LLVM's passes may crash on one), optimized
//! with the new pass manager's standard pipeline for the requested level,
//! then the NaN-canonicalization wrappers are lowered
//! ([`crate::canonicalize`]) and the result is verified again.

use crate::OptLevel;
use crate::canonicalize;
use crate::codegen::builder::Types;
use crate::error::{CompileError, Result};
use inkwell::module::Module;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{FileType, TargetMachine};
use object::{Object, ObjectSection, SectionKind};

/// Checks that `module` is well-formed IR.
pub(crate) fn verify(module: &Module<'_>) -> Result<()> {
    module.verify().map_err(|e| CompileError::internal(format_args!("LLVM verifier: {}", e.to_string_lossy())))
}

/// Runs the optimization pipeline for `level`, then lowers the NaN
/// canonicalization markers (`quieting`: see
/// [`canonicalize::lower_canonicalize`]).
pub(crate) fn optimize<'ctx>(
    module: &Module<'ctx>,
    machine: &TargetMachine,
    level: OptLevel,
    types: Types<'ctx>,
    quieting: canonicalize::Quieting,
) -> Result<()> {
    verify(module)?;
    let options = PassBuilderOptions::create();
    let vectorize = matches!(level, OptLevel::O2 | OptLevel::O3 | OptLevel::Os);
    options.set_loop_vectorization(vectorize);
    options.set_loop_slp_vectorization(vectorize);
    options.set_loop_unrolling(matches!(level, OptLevel::O2 | OptLevel::O3));
    module
        .run_passes(level.pipeline(), machine, options)
        .map_err(|e| CompileError::internal(format_args!("LLVM pass pipeline: {}", e.to_string_lossy())))?;
    canonicalize::lower_canonicalize(module, types, quieting)?;
    verify(module)
}

/// Generates an object file or assembly text.
pub(crate) fn emit(module: &Module<'_>, machine: &TargetMachine, kind: FileType) -> Result<Vec<u8>> {
    machine
        .write_to_memory_buffer(module, kind)
        .map(|buffer| buffer.as_slice().to_vec())
        .map_err(|e| CompileError::internal(format_args!("LLVM code generation: {}", e.to_string_lossy())))
}

/// Bytes of machine code in an object: the sum of its executable sections.
pub(crate) fn code_size(object: &[u8]) -> Result<u64> {
    let file = object::File::parse(object)
        .map_err(|e| CompileError::internal(format_args!("cannot read the generated object: {e}")))?;
    Ok(file.sections().filter(|s| s.kind() == SectionKind::Text).map(|s| s.size()).sum())
}

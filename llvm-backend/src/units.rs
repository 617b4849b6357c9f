//! Code generation on several threads: the optimized module split into
//! codegen units.
//!
//! Optimization runs on the whole module, so the inliner and the
//! interprocedural passes see every function. Machine-code generation is
//! then a per-function job, and about half of the compile time; it runs in
//! parallel on **codegen units**: the optimized module's bitcode is loaded
//! once per unit into a context of its own (LLVM contexts are
//! single-threaded), and each unit keeps the bodies of its own functions
//! while every other definition becomes `available_externally` and is then
//! dropped to a declaration (`elim-avail-extern`). Unit 0 also keeps every
//! global variable and the module's inline assembly. Symbols one unit
//! refers to in another are made hidden and external first, so the
//! objects link into one library without exporting anything more.
//!
//! The partition depends only on the module: units are runs of
//! consecutive functions in module order, about [`UNIT_INSTRUCTIONS`] IR
//! instructions each, balanced. The number of threads only decides how
//! many units are generated at once, so the same input gives the same
//! objects on any machine.

use crate::diagnostics::Diagnostics;
use crate::error::{CompileError, Result};
use crate::pipeline;
use crate::target::TargetSetup;
use inkwell::GlobalVisibility;
use inkwell::context::Context;
use inkwell::memory_buffer::MemoryBuffer;
use inkwell::module::{Linkage, Module};
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{FileType, TargetMachine};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// IR instructions a codegen unit aims at. Large enough that loading the
/// module's bitcode once more per unit stays a small part of the work.
const UNIT_INSTRUCTIONS: usize = 6_000;

/// Most units a module is split into.
const MAX_UNITS: usize = 16;

/// Generates the objects for `module` (already optimized): one object if
/// `split` is false or the module is small, else one per codegen unit.
/// `machine` makes a target machine for a thread.
pub(crate) fn emit_objects(
    module: &Module<'_>,
    setup: &TargetSetup,
    split: bool,
    machine: impl Fn() -> Result<TargetMachine> + Sync,
) -> Result<Vec<Vec<u8>>> {
    let partition = partition(module);
    let units = partition.values().copied().max().map_or(1, |last| last + 1);
    if !split || units == 1 {
        return Ok(vec![pipeline::emit(module, &setup.machine, FileType::Object)?]);
    }
    externalize(module);
    let bitcode = module.write_bitcode_to_memory();
    let bitcode = bitcode.as_slice();

    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Vec<u8>>>>> = Mutex::new((0..units).map(|_| None).collect());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(units);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let unit = next.fetch_add(1, Ordering::Relaxed);
                    if unit >= units {
                        break;
                    }
                    let object = emit_unit(bitcode, unit, &partition, &machine);
                    results.lock().unwrap_or_else(|e| e.into_inner())[unit] = Some(object);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|object| object.unwrap_or_else(|| Err(CompileError::internal("a codegen unit was not generated"))))
        .collect()
}

/// The unit of every defined function, by name.
fn partition(module: &Module<'_>) -> HashMap<String, usize> {
    let sizes: Vec<(String, usize)> = module
        .get_functions()
        .filter(|f| f.count_basic_blocks() > 0)
        .map(|f| {
            let size = f.get_basic_block_iter().map(|b| b.get_instructions().count()).sum();
            (f.get_name().to_string_lossy().into_owned(), size)
        })
        .collect();
    let total: usize = sizes.iter().map(|(_, size)| size).sum();
    let units = total.div_ceil(UNIT_INSTRUCTIONS).clamp(1, MAX_UNITS);
    let mut done = 0;
    sizes
        .into_iter()
        .map(|(name, size)| {
            // The unit whose share of the total this function starts in.
            let unit = (done * units / total.max(1)).min(units - 1);
            done += size;
            (name, unit)
        })
        .collect()
}

/// Gives every internal or private definition hidden, external linkage
/// (and a name, if it has none), so another unit can refer to it.
fn externalize(module: &Module<'_>) {
    let globals = module.get_globals();
    let functions = module.get_functions().filter(|f| f.count_basic_blocks() > 0).map(|f| f.as_global_value());
    for (index, global) in globals.chain(functions).enumerate() {
        if global.get_name().to_bytes().starts_with(b"llvm.") {
            continue;
        }
        if matches!(global.get_linkage(), Linkage::Internal | Linkage::Private) {
            if global.get_name().is_empty() {
                global.set_name(&format!("kiln_unit_symbol_{index}"));
            }
            global.set_linkage(Linkage::External);
            global.set_visibility(GlobalVisibility::Hidden);
        }
    }
}

/// Loads the module into a fresh context, keeps what `unit` defines and
/// generates its object.
fn emit_unit(
    bitcode: &[u8],
    unit: usize,
    partition: &HashMap<String, usize>,
    machine: &impl Fn() -> Result<TargetMachine>,
) -> Result<Vec<u8>> {
    let diagnostics = Diagnostics::default();
    let context = Context::create();
    diagnostics.install(&context);
    let buffer = MemoryBuffer::create_from_memory_range(bitcode, "kiln-unit");
    let module = Module::parse_bitcode_from_buffer(&buffer, &context)
        .map_err(|e| CompileError::internal(format_args!("reloading a codegen unit: {}", e.to_string_lossy())))?;
    for function in module.get_functions().filter(|f| f.count_basic_blocks() > 0) {
        if partition.get(&*function.get_name().to_string_lossy()) != Some(&unit) {
            function.set_linkage(Linkage::AvailableExternally);
        }
    }
    if unit != 0 {
        for global in module.get_globals() {
            if global.get_initializer().is_some() && !global.get_name().to_bytes().starts_with(b"llvm.") {
                global.set_linkage(Linkage::AvailableExternally);
            }
        }
        module.set_inline_assembly("");
    }
    let machine = machine()?;
    module
        .run_passes("elim-avail-extern", &machine, PassBuilderOptions::create())
        .map_err(|e| CompileError::internal(format_args!("splitting a codegen unit: {}", e.to_string_lossy())))?;
    let object = pipeline::emit(&module, &machine, FileType::Object)?;
    diagnostics.check()?;
    Ok(object)
}

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
use std::sync::atomic::{AtomicUsize, Ordering};

/// IR instructions a codegen unit aims at. Large enough that loading the
/// module's bitcode once more per unit stays a small part of the work.
const UNIT_INSTRUCTIONS: usize = 6_000;

/// Most units a module is split into.
const MAX_UNITS: usize = 16;

/// Generates the objects for `module` (already optimized): one object if
/// `split` is false or the module is small, else one per codegen unit.
/// `machine` makes a target machine for a thread. The partition is only
/// computed when splitting is allowed.
pub(crate) fn emit_objects(
    module: &Module<'_>,
    setup: &TargetSetup,
    split: bool,
    machine: impl Fn() -> Result<TargetMachine> + Sync,
) -> Result<Vec<Vec<u8>>> {
    let (partition, units) = if split { partition(module) } else { (HashMap::new(), 1) };
    if units == 1 {
        return Ok(vec![pipeline::emit(module, &setup.machine, FileType::Object)?]);
    }
    externalize(module);
    let bitcode = module.write_bitcode_to_memory();
    let bitcode = bitcode.as_slice();

    // Each thread takes the next unit until none is left, on a target
    // machine of its own.
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(units);
    let generated = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let machine = machine()?;
                    let mut objects = Vec::new();
                    loop {
                        let unit = next.fetch_add(1, Ordering::Relaxed);
                        if unit >= units {
                            return Ok(objects);
                        }
                        objects.push((unit, emit_unit(bitcode, unit, &partition, &machine)?));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect::<Result<Vec<Vec<(usize, Vec<u8>)>>>>()
    })?;
    let mut objects: Vec<(usize, Vec<u8>)> = generated.into_iter().flatten().collect();
    objects.sort_unstable_by_key(|(unit, _)| *unit);
    Ok(objects.into_iter().map(|(_, object)| object).collect())
}

/// The unit of every defined function, by name, and the number of units
/// (every unit from 0 up holds at least one function).
fn partition(module: &Module<'_>) -> (HashMap<String, usize>, usize) {
    let sizes: Vec<(String, usize)> = module
        .get_functions()
        .filter(|f| f.count_basic_blocks() > 0)
        .map(|f| {
            let size = f.get_basic_block_iter().map(|b| b.get_instructions().count()).sum();
            (f.get_name().to_string_lossy().into_owned(), size)
        })
        .collect();
    let total: usize = sizes.iter().map(|(_, size)| size).sum();
    let shares = total.div_ceil(UNIT_INSTRUCTIONS).clamp(1, MAX_UNITS);
    let (mut done, mut share, mut unit) = (0, 0, 0);
    let mut units = HashMap::with_capacity(sizes.len());
    for (name, size) in sizes {
        // A function starts a new unit when it starts in a later share of
        // the total (a function larger than a share skips shares, not units).
        let starts_in = (done * shares / total.max(1)).min(shares - 1);
        if starts_in != share {
            (share, unit) = (starts_in, unit + 1);
        }
        units.insert(name, unit);
        done += size;
    }
    let count = if units.is_empty() { 1 } else { unit + 1 };
    (units, count)
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
    machine: &TargetMachine,
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
    pipeline::run_passes(&module, "elim-avail-extern", machine, PassBuilderOptions::create(), "splitting a codegen unit")?;
    let object = pipeline::emit(&module, machine, FileType::Object)?;
    diagnostics.check()?;
    Ok(object)
}

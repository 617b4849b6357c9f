//! Optimization and machine-code emission.
//!
//! The module is verified before anything else touches it (an invalid
//! module is a kiln bug, and LLVM's passes may crash on one), optimized
//! with the new pass manager's standard pipeline for the requested level
//! (at the vectorizing levels, float sums lose the NaN markers they do not
//! need first: [`crate::running_sums`]), then the NaN-canonicalization
//! wrappers are lowered
//! ([`crate::canonicalize`]) and the result is verified again.
//!
//! # LLVM options
//!
//! Eight pipeline settings have no working per-pass-manager knob and are
//! set once per process through LLVM's command-line options
//! ([`LLVM_OPTIONS`]):
//!
//! * Induction-variable widening is off. Wasm addresses are
//!   `zext(i32 arithmetic)`, and clang's wasm loops often count an `i32`
//!   from a negative offset up to zero. `indvars` widens such a counter to
//!   `i64` by zero extension; the exit test `trunc(iv) == 0` then becomes
//!   `iv & 0xfffffffc == 0` (InstCombine), for which scalar evolution
//!   cannot compute a trip count, and the loop vectorizer gives up ("could
//!   not determine number of loop iterations"). With the counter left at
//!   `i32` the trip count is known and the vectorizer proves the `zext`ed
//!   addresses consecutive with run-time no-wrap checks. Widening is not
//!   free to give up, though: where an `i32` counter and a pointer advance
//!   together, the widened counter let loop strength reduction merge them
//!   into one scaled index, and without it the loop keeps both plus a
//!   compare (editdist's LCS loop: 10 instructions per iteration instead
//!   of 8, 18-28% slower; stencil3d 2.5x and stencil2d 1.5x faster).
//! * The SLP vectorizer is off. Its cost model counts each
//!   `llvm.canonicalize` marker as an instruction that packing saves, but
//!   nearly all of them vanish after optimization, so it packs scalar float
//!   chains that are faster unpacked (mandelbrot's loop-carried `zr`/`zi`
//!   pair got shuffles on its critical path: 1.5x native, 1.03x without
//!   SLP). It cannot run after the markers are lowered instead: clearing
//!   `PassBuilderOptions::set_loop_slp_vectorization` does not remove it
//!   from LLVM 19's `default<O2>` (checked with `-print-after`), only this
//!   option does. The loop vectorizer is unaffected and explicit SIMD code
//!   needs neither.
//! * The machine scheduler bounds its memory-dependence maps at 256 nodes
//!   (`-dag-maps-huge-region`, 1000 by default): past that it chains the
//!   older memory operations behind a barrier instead of comparing each new
//!   one with all of them. Wasm code straight out of a generator can have a
//!   basic block with tens of thousands of loads and stores (all through
//!   the one memory base), where the default made code generation grow
//!   with block size times 1000: a 200 000-instruction function spent
//!   12.4 s in code generation, 4.1 s with the bound at 200. The largest
//!   block in the benchmark programs has 76 memory operations, far below
//!   either bound, so ordinary code is scheduled exactly as before.
//! * The loop vectorizer interleaves (unrolls a vectorized loop to run
//!   several vector iterations side by side) only loops whose estimated
//!   cost is below `-small-loop-cost`, 20 by default, a figure tuned on
//!   native code, where an array access folds its index into the
//!   instruction's addressing mode. A wasm access first computes its 32-bit
//!   address (`lea` of the index and the array's offset, which may wrap),
//!   so the same loop costs more and was left at one vector iteration
//!   (stencil2d's 5-point loop: 1.10 s, 0.88 s with two iterations
//!   interleaved; medians of 5 alternating runs). The bound is 40: five of
//!   the benchmark programs compile differently (stencil2d, stencil3d
//!   faster; lu, matmul, sha256 unchanged within the machine's noise).
//! * Partial unrolling (several iterations per trip through a loop with a
//!   constant trip count) allows bodies of up to 64 micro-ops after
//!   unrolling (`-unroll-partial-threshold`), instead of the size of the
//!   loop buffer in x86's scheduling model (28 for `generic`), again a
//!   figure sized for native loops: with a 32-bit address computed per
//!   access, a wasm loop of native shape is past it before unrolling once.
//!   Run-time unrolling (a trip count known only at run time, with a
//!   remainder loop) stays off (`-unroll-runtime=false`): it adds a trip
//!   count computation and a remainder loop to loops that often run a few
//!   iterations (fannkuch's prefix reversals: 2% more instructions, 7%
//!   slower). Instructions executed: editdist -14%, mandelbrot -13%,
//!   matmul -11%, spectralnorm -11%, sha256 -10%, lz -3%, sort -1%, none
//!   more; editdist 7% faster (medians of 7 alternating runs), the others
//!   within the machine's noise; compile time and code size unchanged.
//! * Float sums are vectorized in order (`-force-ordered-reductions`):
//!   a loop that adds up terms one by one keeps doing so, but computes two
//!   terms per instruction and adds the lanes of each pair in turn, which
//!   is exactly the scalar loop's arithmetic. x86 leaves this off, but it
//!   pays where the terms cost more than the additions: each division or
//!   square root occupies the divider for several cycles, and `divpd` does
//!   two in the time of one `divsd`. Such sums are visible to the
//!   vectorizer only without their NaN markers ([`crate::running_sums`],
//!   which runs after [`EARLY_SIMPLIFICATION`] and before the pipeline).
//!   spectralnorm 0.58 -> 0.49 s and nbody 0.68 -> 0.51 s (medians of 7
//!   alternating runs, results bit-identical); the other 16 benchmark
//!   programs have no such loop and execute the same number of
//!   instructions (cachegrind).
//! * x86's machine combiner is off (`-x86-machine-combiner=false`). It
//!   reassociates integer sums to shorten the critical path through a
//!   block, counting a loop's `phi`s as ready when the block starts; for a
//!   value carried around the loop that is exactly wrong, and it undid
//!   [`crate::carried_sums`], which adds the carried value last. Off, bigint
//!   runs 5% faster (0.750 -> 0.713 s, medians of 7 alternating runs; its
//!   multiply loop is two cycles per limb instead of three); the 11 other
//!   programs whose code changes (the order of a few additions and
//!   exclusive ors) are unchanged within the machine's noise.
//! * x86's cmov converter is off (`-x86-cmov-converter=false`). It turns a
//!   `cmov` into a branch and moves the load the `cmov` reads into the
//!   branch that uses it, even a `volatile` one; with guard regions a
//!   volatile load is the access that stands for its bounds check
//!   ([`crate::bounds`]) and must happen whether or not its value is
//!   used, as a `cmov` with a memory operand does.

use crate::OptLevel;
use crate::bounds;
use crate::canonicalize;
use crate::carried_sums;
use crate::reroll;
use crate::running_sums;
use crate::codegen::builder::Types;
use crate::error::{CompileError, Result};
use crate::zext_phis;
use inkwell::module::Module;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{FileType, TargetMachine};
use inkwell::llvm_sys::support::LLVMParseCommandLineOptions;
use object::{Object, ObjectSection, SectionKind};
use std::ffi::{CStr, c_char, c_int};
use std::sync::Once;

/// Checks that `module` is well-formed IR.
pub(crate) fn verify(module: &Module<'_>) -> Result<()> {
    module.verify().map_err(|e| CompileError::internal(format_args!("LLVM verifier: {}", e.to_string_lossy())))
}

/// Verifies `module` after one of kiln's own passes edited it, in debug
/// builds (the tests and the fuzzers): LLVM passes assume valid IR and may
/// crash on invalid, far from the edit that made it so.
fn verified_in_debug(module: &Module<'_>) -> Result<()> {
    if cfg!(debug_assertions) { verify(module) } else { Ok(()) }
}

/// Rolls up loops the producer unrolled ([`reroll`]) and frees float
/// running sums of their markers ([`running_sums`]) where the loop
/// vectorizer runs, runs the optimization pipeline for `level`, then lowers the NaN
/// canonicalization markers (`quieting`: see
/// [`canonicalize::lower_canonicalize`]) and, when optimizing, rewrites the
/// loops' counters ([`zext_phis`]) and carried sums ([`carried_sums`]) for
/// code generation.
pub(crate) fn optimize<'ctx>(
    module: &Module<'ctx>,
    machine: &TargetMachine,
    level: OptLevel,
    types: Types<'ctx>,
    quieting: canonicalize::Quieting,
    sandbox: &bounds::Sandbox,
    guard: Option<&bounds::GuardFacts>,
) -> Result<()> {
    verify(module)?;
    set_llvm_options();
    let vectorize = matches!(level, OptLevel::O2 | OptLevel::O3 | OptLevel::Os);
    if vectorize {
        // Wasm locals become SSA values first: an induction variable or a
        // running sum is a `phi`, an unrolled loop body one block.
        run_passes(module, EARLY_SIMPLIFICATION, machine, PassBuilderOptions::create(), "LLVM early simplification")?;
        reroll::reroll_loops(module)?;
        running_sums::unmark_running_sums(module)?;
        verified_in_debug(module)?;
    }
    bounds::insert_checks(module, types, sandbox, inline_threshold(level))?;
    verified_in_debug(module)?;
    let options = PassBuilderOptions::create();
    // SLP vectorization is off through `LLVM_OPTIONS`; see above.
    options.set_loop_slp_vectorization(false);
    if vectorize {
        // Simplification and inlining first, without vectorizing or
        // unrolling; then each loop gets a copy without the checks a test
        // before the loop stands for, and the optimization passes run again
        // with the vectorizer and the unroller.
        options.set_loop_vectorization(false);
        options.set_loop_unrolling(false);
        run_passes(module, level.pipeline(), machine, options, "LLVM pass pipeline")?;
        run_passes(module, LOOP_FORM, machine, PassBuilderOptions::create(), "LLVM loop canonicalization")?;
        bounds::version_loops(module, types, sandbox.trap_code)?;
        verified_in_debug(module)?;
        run_passes(module, &late_optimization(level), machine, PassBuilderOptions::create(), "LLVM vectorization pipeline")?;
    } else {
        options.set_loop_vectorization(false);
        options.set_loop_unrolling(false);
        run_passes(module, level.pipeline(), machine, options, "LLVM pass pipeline")?;
    }
    canonicalize::lower_canonicalize(module, types, quieting)?;
    verified_in_debug(module)?;
    if let Some(facts) = guard {
        bounds::rely_on_guard_region(module, facts)?;
        verified_in_debug(module)?;
        if level != OptLevel::O0 {
            // A block whose check went ends in a branch to the rest of it:
            // merged again, a checked loop may be one block (as
            // `carried_sums` wants).
            run_passes(module, MERGE_BLOCKS, machine, PassBuilderOptions::create(), "LLVM block merging")?;
        }
    }
    if level != OptLevel::O0 {
        // Strength reduction runs in code generation too, and makes the
        // counters it creates there `i32` phis extended at every use; run
        // here, the counters it makes get widened with the others.
        run_passes(module, STRENGTH_REDUCTION, machine, PassBuilderOptions::create(), "LLVM loop strength reduction")?;
        zext_phis::widen_zext_phis(module, types)?;
        carried_sums::add_carried_values_last(module, types)?;
    }
    verify(module)
}

/// Runs the pass pipeline `passes` on `module`; a failure is reported as
/// `what`.
pub(crate) fn run_passes(
    module: &Module<'_>,
    passes: &str,
    machine: &TargetMachine,
    options: PassBuilderOptions,
    what: &str,
) -> Result<()> {
    module
        .run_passes(passes, machine, options)
        .map_err(|e| CompileError::internal(format_args!("{what}: {}", e.to_string_lossy())))
}

/// The first function passes of LLVM 19's `default<O2>` and `default<O3>`
/// with their parameters (`opt -print-pipeline-passes`), up to and including
/// the one that turns wasm locals into SSA values. Run ahead of the
/// pipeline, they leave it nothing to do when it runs them again, so
/// running them early changes no decision the pipeline takes.
const EARLY_SIMPLIFICATION: &str = "function(lower-expect,simplifycfg<bonus-inst-threshold=1;no-forward-switch-cond;\
    no-switch-range-to-icmp;no-switch-to-lookup;keep-loops;no-hoist-common-insts;no-sink-common-insts;speculate-blocks;\
    simplify-cond-branch;no-speculate-unpredictables>,sroa<modify-cfg>)";

/// LLVM 19's inliner threshold for the level, if it inlines: 225 (its
/// `-inline-threshold`) at -O1 and -O2, 250 at -O3, 50 for size.
fn inline_threshold(level: OptLevel) -> Option<u32> {
    match level {
        OptLevel::O0 => None,
        OptLevel::O1 | OptLevel::O2 => Some(225),
        OptLevel::O3 => Some(250),
        OptLevel::Os => Some(50),
    }
}

/// The canonical loop form [`bounds::version_loops`] works on: one
/// preheader and one latch per loop, and every value used after a loop
/// passed through a `phi` at its exit.
const LOOP_FORM: &str = "function(loop-simplify,lcssa)";

/// The optimization half of LLVM 19's `default<O2>` (its module
/// optimization pipeline, `opt -passes='default<O2>'
/// -print-pipeline-passes` from `float2int` on), run once loops are
/// versioned, after a simplification that folds the checks versioning made
/// constant, merges the blocks they split and deletes what they left
/// unused. -O3 adds `chr` and unrolls as -O3 does; -Os does not unroll.
fn late_optimization(level: OptLevel) -> String {
    const FOLD_CHECKS: &str = "function(simplifycfg<bonus-inst-threshold=1;no-forward-switch-cond;\
        no-switch-range-to-icmp;no-switch-to-lookup;keep-loops;no-hoist-common-insts;no-sink-common-insts;\
        speculate-blocks;simplify-cond-branch;no-speculate-unpredictables>,dce)";
    const INSTCOMBINE: &str = "instcombine<max-iterations=1;no-use-loop-info;no-verify-fixpoint>";
    let (chr, unroll) = match level {
        OptLevel::O3 => ("chr,", "loop-unroll<O3>,"),
        OptLevel::Os => ("", ""),
        _ => ("", "loop-unroll<O2>,"),
    };
    format!(
        "{FOLD_CHECKS},function<eager-inv>(float2int,lower-constant-intrinsics,{chr}\
         loop(loop-rotate<header-duplication;no-prepare-for-lto>,loop-deletion),loop-distribute,\
         inject-tli-mappings,loop-vectorize<no-interleave-forced-only;no-vectorize-forced-only;>,\
         infer-alignment,loop-load-elim,{INSTCOMBINE},\
         simplifycfg<bonus-inst-threshold=1;forward-switch-cond;switch-range-to-icmp;switch-to-lookup;\
         no-keep-loops;hoist-common-insts;sink-common-insts;speculate-blocks;simplify-cond-branch;\
         no-speculate-unpredictables>,slp-vectorizer,vector-combine,{INSTCOMBINE},{unroll}\
         transform-warning,sroa<preserve-cfg>,infer-alignment,{INSTCOMBINE},\
         loop-mssa(licm<allowspeculation>),alignment-from-assumptions,loop-sink,instsimplify,div-rem-pairs,\
         tailcallelim,simplifycfg<bonus-inst-threshold=1;no-forward-switch-cond;switch-range-to-icmp;\
         no-switch-to-lookup;keep-loops;no-hoist-common-insts;no-sink-common-insts;speculate-blocks;\
         simplify-cond-branch;speculate-unpredictables>)"
    )
}

/// The pipeline's last CFG simplification (`keep-loops`), after checks
/// were handed to the hardware.
const MERGE_BLOCKS: &str = "function(simplifycfg<bonus-inst-threshold=1;no-forward-switch-cond;switch-range-to-icmp;\
    no-switch-to-lookup;keep-loops;no-hoist-common-insts;no-sink-common-insts;speculate-blocks;simplify-cond-branch;\
    speculate-unpredictables>)";

/// Loop strength reduction, run before [`zext_phis`] (see [`optimize`]).
const STRENGTH_REDUCTION: &str = "function(loop(loop-reduce))";

/// LLVM command-line options kiln's pipeline depends on; see the module
/// documentation. Each must exist in the LLVM kiln links: LLVM exits the
/// process on an unknown option.
const LLVM_OPTIONS: &[&CStr] = &[
    c"-indvars-widen-indvars=false",
    c"-vectorize-slp=false",
    c"-dag-maps-huge-region=256",
    c"-small-loop-cost=40",
    c"-unroll-partial-threshold=64",
    c"-unroll-runtime=false",
    c"-force-ordered-reductions",
    c"-x86-machine-combiner=false",
    c"-x86-cmov-converter=false",
];

/// Sets [`LLVM_OPTIONS`], once per process (they are process-wide, and
/// LLVM refuses an option given twice).
fn set_llvm_options() {
    static SET: Once = Once::new();
    SET.call_once(|| {
        let program = std::iter::once(c"kiln");
        let argv: Vec<*const c_char> = program.chain(LLVM_OPTIONS.iter().copied()).map(CStr::as_ptr).collect();
        let argc = argv.len() as c_int; // the program name and a few options
        // SAFETY: `argv` holds `argc` pointers to NUL-terminated static
        // strings, and the overview may be null. `Once` keeps a second
        // thread from parsing at the same time; kiln starts no LLVM work
        // that reads these options before this returns.
        unsafe { LLVMParseCommandLineOptions(argc, argv.as_ptr(), std::ptr::null()) };
    });
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

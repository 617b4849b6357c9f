//! kiln's compiler: WebAssembly in, one relocatable native object plus the
//! module's metadata out.
//!
//! ```text
//! wasm ─► validate ─► environ ─► codegen/translate ─► optimize ─► canonicalize ─► object
//!        (wasmparser) (sections,   (LLVM IR: functions,   (new PM      (quiet NaNs)    (TargetMachine,
//!                      metadata)    trampolines, table)    default<O>)                  PIC)
//! ```
//!
//! * [`validate`] accepts exactly the features kiln implements and tells
//!   malformed and invalid input apart from input that is merely ahead of
//!   kiln (`decode` checks the binary format on its own for that);
//! * [`environ`] reads the sections into the metadata the runtime will see;
//! * `codegen` builds the LLVM module: one internal function per wasm
//!   function (lowered by `translate`, one file per instruction family),
//!   the per-signature trampolines, and the one exported function table;
//! * `pipeline` optimizes and emits; `canonicalize` is the post-optimization
//!   pass that keeps float NaN results quiet without blocking the optimizer;
//!   before optimizing, `reroll` rolls loops the producer unrolled back up
//!   and `running_sums` takes the markers off float sums that need none,
//!   so the loop vectorizer can see both; `zext_phis`
//!   and `carried_sums` reshape loops after optimization for code
//!   generation (counters, sums carried around a loop).
//!
//! Everything generated code and the runtime must agree on — the VM
//! context layout, trap codes, builtins, symbol names, metadata — comes
//! from `kiln-abi`. Output is deterministic: the same input and options
//! give byte-identical objects.
//!
//! No input makes the compiler panic: invalid or unsupported input is a
//! [`CompileError`], and a panic from a kiln bug is caught and reported as
//! [`CompileError::Internal`].
#![warn(missing_docs)]

mod bounds;
mod branch_hints;
mod canonicalize;
mod carried_sums;
mod cfg;
mod codegen;
mod decode;
mod diagnostics;
mod environ;
mod error;
mod ir;
mod pipeline;
mod proposals;
mod reroll;
mod running_sums;
mod target;
mod translate;
mod units;
mod validate;
mod zext_phis;

pub use branch_hints::check as check_branch_hints;
pub use error::CompileError;
pub use proposals::{KILN_PROPOSALS, WasmProposal, proposals_used, split_features};
pub use validate::{KILN_FEATURES, beyond_wasm3};

use codegen::builder::Types;
use diagnostics::Diagnostics;
use environ::ModuleEnv;
use inkwell::context::Context;
use inkwell::module::Module;
use inkwell::targets::FileType;
use kiln_abi::ModuleMetadata;
use kiln_abi::metadata::BoundsChecks;
use kiln_abi::symbols;
use kiln_abi::target::Target;
use sha2::{Digest, Sha256};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// How hard LLVM optimizes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OptLevel {
    /// No optimization.
    O0,
    /// Light optimization.
    O1,
    /// The standard pipeline.
    #[default]
    O2,
    /// Aggressive optimization.
    O3,
    /// Optimize for size.
    Os,
}

impl OptLevel {
    /// The level as recorded in metadata: 0–3, or 4 for `Os`.
    pub fn metadata_value(self) -> u8 {
        match self {
            OptLevel::O0 => 0,
            OptLevel::O1 => 1,
            OptLevel::O2 => 2,
            OptLevel::O3 => 3,
            OptLevel::Os => 4,
        }
    }

    /// The new pass manager's pipeline for this level. -O0 folds
    /// constant expressions (`instsimplify`, linear in the code): LLVM 19's
    /// `llc -O0` can loop forever in its DAG combiner on a chain of vector
    /// operations on constants (wasm-smith writes such chains; see
    /// `fuzz/tests/bounded.rs`, seed 5303).
    fn pipeline(self) -> &'static str {
        match self {
            OptLevel::O0 => "default<O0>,function(instsimplify)",
            OptLevel::O1 => "default<O1>",
            OptLevel::O2 => "default<O2>",
            OptLevel::O3 => "default<O3>",
            OptLevel::Os => "default<Os>",
        }
    }
}

/// What to compile for, and how.
#[derive(Clone, Debug)]
pub struct CompileOptions {
    /// The target; the host by default.
    pub target: Target,
    /// LLVM CPU name; `None` means the target's default
    /// ([`Target::default_cpu`]). `native` means this host's CPU.
    pub cpu: Option<String>,
    /// Extra LLVM CPU features, each `+name` or `-name`.
    pub features: Vec<String>,
    /// WebAssembly proposals turned off, by their `--features` names
    /// ([`WasmProposal::flag`]): a module that uses one is refused with
    /// [`CompileError::Disabled`].
    pub disabled_proposals: Vec<String>,
    /// Optimization level.
    pub opt_level: OptLevel,
    /// How memory accesses are kept in bounds.
    pub bounds_checks: BoundsChecks,
    /// Prefix for the exported function table symbol (for static archives
    /// holding several modules).
    pub symbol_prefix: Option<String>,
    /// The object goes into a static archive: the function table ends with
    /// the addresses of `kiln_abi::symbols::CODE_START` and `CODE_END`,
    /// which the linker defines at the bounds of the code section.
    pub static_library: bool,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            target: Target::host(),
            cpu: None,
            features: Vec::new(),
            disabled_proposals: Vec::new(),
            opt_level: OptLevel::default(),
            bounds_checks: BoundsChecks::default(),
            symbol_prefix: None,
            static_library: false,
        }
    }
}

/// A compiled module: one relocatable object (all code, trampolines and
/// the function table) and the metadata the linker embeds beside it.
#[derive(Clone, Debug)]
pub struct CompiledModule {
    /// Everything the runtime needs to know about the module.
    pub metadata: ModuleMetadata,
    /// The object files, position-independent: one per codegen unit (one
    /// for a static archive), linked together into the library.
    pub objects: Vec<Vec<u8>>,
    /// Number of pointers in the exported function table: the entries
    /// the metadata refers to, plus the code-range slots of a static
    /// archive. A program that links the archive declares the table with
    /// this length.
    pub function_slots: usize,
}

/// Which text [`compile_to_text`] produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TextKind {
    /// LLVM IR as translated, before optimization.
    LlvmIrUnoptimized,
    /// LLVM IR after optimization (what code generation sees).
    LlvmIr,
    /// Assembly for the target.
    Assembly,
}

/// Compiles a WebAssembly binary to a native object for `opts.target`.
pub fn compile(wasm: &[u8], opts: &CompileOptions) -> Result<CompiledModule, CompileError> {
    guard(|| {
        let diagnostics = Diagnostics::default();
        let context = Context::create();
        diagnostics.install(&context);
        let mut lowered = lower(&context, wasm, opts)?;
        lowered.optimize(opts.opt_level)?;
        let objects =
            units::emit_objects(&lowered.module, &lowered.setup, !opts.static_library, || Ok(target::setup(opts)?.machine))?;
        diagnostics.check()?;
        let mut metadata = std::mem::take(&mut lowered.metadata);
        metadata.code_size = objects.iter().map(|object| pipeline::code_size(object)).sum::<Result<u64, _>>()?;
        metadata.target = lowered.setup.info.clone();
        metadata.wasm_sha256 = Sha256::digest(wasm).into();
        metadata.opt_level = opts.opt_level.metadata_value();
        metadata.bounds_checks = opts.bounds_checks;
        Ok(CompiledModule { metadata, objects, function_slots: lowered.function_slots })
    })
}

/// Checks, without generating code, that `wasm` is a module kiln can
/// compile: the same [`CompileError::Malformed`], [`CompileError::Invalid`]
/// and [`CompileError::Unsupported`] answers [`compile`] would give, much
/// faster (for `assert_invalid`-style checks).
pub fn validate(wasm: &[u8]) -> Result<(), CompileError> {
    guard(|| {
        validate::validate(wasm, KILN_FEATURES)?;
        ModuleEnv::parse(wasm).map(drop)
    })
}

/// Compiles `wasm` and returns LLVM IR or assembly text instead of an
/// object (the CLI's `--emit llvm-ir` / `--emit asm`).
pub fn compile_to_text(wasm: &[u8], opts: &CompileOptions, kind: TextKind) -> Result<String, CompileError> {
    guard(|| {
        let diagnostics = Diagnostics::default();
        let context = Context::create();
        diagnostics.install(&context);
        let lowered = lower(&context, wasm, opts)?;
        let text = match kind {
            TextKind::LlvmIrUnoptimized => {
                pipeline::verify(&lowered.module)?;
                Ok(lowered.module.print_to_string().to_string())
            }
            TextKind::LlvmIr => {
                lowered.optimize(opts.opt_level)?;
                Ok(lowered.module.print_to_string().to_string())
            }
            TextKind::Assembly => {
                lowered.optimize(opts.opt_level)?;
                let text = pipeline::emit(&lowered.module, &lowered.setup.machine, FileType::Assembly)?;
                String::from_utf8(text).map_err(|e| CompileError::internal(format_args!("assembly is not UTF-8: {e}")))
            }
        };
        diagnostics.check()?;
        text
    })
}

/// A module lowered to unoptimized LLVM IR.
struct Lowered<'ctx> {
    module: Module<'ctx>,
    types: Types<'ctx>,
    setup: target::TargetSetup,
    metadata: ModuleMetadata,
    function_slots: usize,
    /// Where bounds checks find memory lengths and the trap builtin.
    sandbox: bounds::Sandbox,
    /// Set with guard regions: what handing checks to the hardware needs.
    guard: Option<bounds::GuardFacts>,
}

impl Lowered<'_> {
    fn optimize(&self, level: OptLevel) -> Result<(), CompileError> {
        pipeline::optimize(
            &self.module,
            &self.setup.machine,
            level,
            self.types,
            self.setup.quieting,
            &self.sandbox,
            self.guard.as_ref(),
        )
    }
}

/// Validates, reads and translates `wasm`.
fn lower<'ctx>(context: &'ctx Context, wasm: &[u8], opts: &CompileOptions) -> Result<Lowered<'ctx>, CompileError> {
    validate::validate(wasm, proposals::enabled(&opts.disabled_proposals)?)?;
    let setup = target::setup(opts)?;
    let mut env = ModuleEnv::parse(wasm)?;
    let table = codegen::function_table(&mut env);
    let (module, types) = codegen::build_module(context, &env, &table, &setup, opts)?;
    let function_slots = table.len() + if opts.static_library { symbols::CODE_RANGE_SLOTS } else { 0 };
    let offsets = kiln_abi::VMOffsets::new(opts.target.pointer_size(), &env.meta.shape());
    let imported = env.num_imported.memories;
    let sandbox = bounds::Sandbox {
        lengths: (0..imported + env.meta.memories.len() as u32)
            .map(|i| match i.checked_sub(imported) {
                None => bounds::LengthAt::Imported {
                    slot: offsets.imported_memory(i),
                    field: offsets.memory_definition_current_length(),
                },
                Some(defined) => bounds::LengthAt::Defined(
                    offsets.defined_memory(defined) + offsets.memory_definition_current_length(),
                ),
            })
            .collect(),
        memory64: env.memories.iter().map(|m| m.memory64).collect(),
        builtins: offsets.builtins(),
        raise_trap: kiln_abi::Builtin::raise_trap.index() * offsets.ptr_size().bytes(),
        trap_code: kiln_abi::TrapCode::MemoryOutOfBounds.as_u32(),
    };
    let guard = (opts.bounds_checks == BoundsChecks::Guard).then(|| {
        bounds::GuardFacts {
            precise_stores: opts.target.architecture() == target_lexicon::Architecture::X86_64,
            length_after_base: i64::from(offsets.memory_definition_current_length())
                - i64::from(offsets.memory_definition_base()),
            trap_code: kiln_abi::TrapCode::MemoryOutOfBounds.as_u32(),
            unguarded: (sandbox.lengths.iter().zip(&env.memories))
                .filter(|&(_, memory)| !memory.guarded())
                .map(|(&place, _)| place)
                .collect(),
        }
    });
    Ok(Lowered { module, types, setup, metadata: env.meta, function_slots, sandbox, guard })
}

/// Runs `f`, turning a panic (a kiln bug) into an internal error.
fn guard<T>(f: impl FnOnce() -> Result<T, CompileError>) -> Result<T, CompileError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        Err(CompileError::Internal(format!("panic: {message}")))
    })
}

/// This machine's CPU as LLVM names it, and its feature string: what
/// `--cpu native` resolves to.
pub fn host_cpu() -> (String, String) {
    use inkwell::targets::TargetMachine;
    (TargetMachine::get_host_cpu_name().to_string(), TargetMachine::get_host_cpu_features().to_string())
}

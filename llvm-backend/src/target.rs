//! The LLVM target machine for a compile, and what the artifact requires of
//! the host that runs it.
//!
//! LLVM's C API has no way to ask whether a CPU or feature name exists; an
//! unknown one only produces a warning on stderr and is ignored, which
//! would silently build code for the wrong machine. So kiln checks names
//! itself against LLVM's own tables for the target (`subtarget`, a small
//! C++ shim over `MCSubtargetInfo`): every CPU name LLVM 19 knows is
//! accepted, as clang accepts them, and `native` means "this host", whose
//! CPU and features LLVM detects. Errors for unknown names suggest a close
//! known one and say where the full list comes from.
//!
//! The artifact records what its code may use: the features LLVM enables
//! for the CPU and `--features` (with everything they imply, as LLVM
//! computes it), less those of the architecture's baseline CPU, which
//! every host has, and less those that are not hardware requirements
//! ([`kiln_abi::cpu`]: tuning, umbrellas, pseudo features). The loader
//! checks each against its host before anything of the library is mapped.

mod subtarget;

use crate::canonicalize::Quieting;
use crate::error::{CompileError, Result};
use crate::{CompileOptions, OptLevel};
use inkwell::OptimizationLevel;
use inkwell::targets::{CodeModel, InitializationConfig, RelocMode, TargetMachine, TargetTriple};
use kiln_abi::metadata::TargetInfo;
use kiln_abi::target::{Target, did_you_mean};
use std::sync::Once;
use subtarget::Subtarget;
use target_lexicon::Architecture;

/// Features that define the calling convention or the architecture itself:
/// changing them would make objects disagree about how floats are passed,
/// make LLVM abort, or (RISC-V `m`, `a`) turn plain arithmetic into calls
/// of runtime functions no kiln library may import.
fn changes_abi(arch: Architecture, feature: &str) -> bool {
    let features: &[&str] = match arch {
        Architecture::X86_64 => {
            &["-sse", "-sse2", "-x87", "-64bit", "+soft-float", "-64bit-mode", "+32bit-mode", "+16bit-mode"]
        }
        Architecture::Aarch64(_) => &["-fp-armv8", "-neon"],
        Architecture::Riscv64(_) => {
            &["-64bit", "+32bit", "-m", "-a", "-f", "-d", "+e", "+zfinx", "+zdinx", "+zhinx", "+zhinxmin"]
        }
        _ => &[],
    };
    features.contains(&feature)
}

/// A configured target machine and the facts metadata records about it.
pub(crate) struct TargetSetup {
    pub machine: TargetMachine,
    pub info: TargetInfo,
    /// Name of the stack pointer register for `llvm.read_register`.
    pub stack_pointer: Option<&'static str>,
    /// Which target vector instructions SIMD lowering may use directly.
    pub vector_isa: VectorIsa,
    /// Whether LLVM can make a guaranteed (`musttail`) call that passes
    /// arguments on the stack: not on riscv64, where LLVM 19 can only
    /// guarantee tail calls whose arguments all travel in registers.
    pub tail_call_stack_arguments: bool,
    /// Which float operations besides arithmetic quiet NaNs in the code
    /// LLVM generates for the target.
    pub quieting: Quieting,
    /// Whether the target has no C library the artifact may import from
    /// (Windows: no CRT is linked), so the module must define `memcpy`,
    /// `memmove`, `memset` and the stack probe itself.
    pub freestanding: bool,
    /// Whether every function needs unwind information: on every target,
    /// since a wasm exception unwinds through frames of any module (one
    /// without exception handling may lie between a `throw` and its
    /// handler, and an unwinder stops at a frame it cannot step over).
    /// Win64 requires it anyway of every function that calls another or
    /// uses the stack: Windows walks frames with it (stack walks, and the
    /// unwinding `longjmp` a runtime would use to leave a trap), where a
    /// frame without it is taken for a leaf and the walk goes wrong. It
    /// adds call frame information (`.eh_frame`, `.pdata`), never
    /// instructions.
    pub unwind_tables: bool,
    /// The CPU LLVM tunes instruction choice for (`tune-cpu` on every
    /// function), when it is not the target CPU itself: a baseline CPU
    /// such as `x86-64-v2` carries one vendor's tuning (there, `shld` for
    /// rotates, slow on AMD), so code for the default CPU is tuned for
    /// `generic`, as clang does; a CPU the user names is tuned for itself.
    pub tune_cpu: Option<&'static str>,
}

/// The vector instruction set the SIMD lowering may name directly, for the
/// few wasm operations generic LLVM IR cannot express efficiently (see
/// `translate::simd`). Derived from the features the artifact *requires*
/// of its host, so code never uses an instruction the loader did not check
/// for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VectorIsa {
    /// x86-64: SSE2 always; SSSE3 (`pshufb`, `pmulhrsw`), SSE4.1
    /// (`roundpd`, `pmaxsd`, `packusdw`, `blendvps`) and FMA
    /// (`vfmadd231ps`) when the CPU has them.
    X86 { ssse3: bool, sse41: bool, fma: bool },
    /// AArch64 with Advanced SIMD (NEON), which kiln always requires there.
    Aarch64,
    /// Generic IR only.
    Generic,
}

/// Registers the LLVM targets kiln can generate code for, once per process.
fn initialize_llvm() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let config = InitializationConfig::default();
        inkwell::targets::Target::initialize_x86(&config);
        inkwell::targets::Target::initialize_aarch64(&config);
        inkwell::targets::Target::initialize_riscv(&config);
    });
}

/// Builds the target machine `opts` ask for.
pub(crate) fn setup(opts: &CompileOptions) -> Result<TargetSetup> {
    initialize_llvm();
    let target = &opts.target;
    let arch = target.architecture();
    let unsupported = || CompileError::Target(format!("kiln cannot generate code for `{target}`"));
    let baseline_cpu = kiln_abi::cpu::baseline_cpu(arch).ok_or_else(unsupported)?;
    let llvm = Subtarget::new(&target.llvm_triple()).ok_or_else(unsupported)?;
    let (cpu, cpu_features) = resolve_cpu(target, &llvm, opts.cpu.as_deref())?;
    let baseline_features: Vec<String> = target.baseline_features().iter().map(|f| f.to_string()).collect();
    let mut llvm_features = baseline_features.clone();
    llvm_features.extend(cpu_features);
    for feature in &opts.features {
        let name = match feature.split_at_checked(1) {
            Some(("+" | "-", name)) => name,
            _ => return Err(CompileError::Target(format!("CPU feature `{feature}` must start with `+` or `-`"))),
        };
        if !llvm.has_feature(name) {
            return Err(CompileError::Target(format!(
                "unknown CPU feature `{name}` for target `{target}`; {}kiln accepts LLVM 19's names, which \
                 `llc-19 -mtriple={} -mattr=help` lists",
                did_you_mean(
                    name,
                    llvm.features.iter().map(String::as_str).chain(crate::KILN_PROPOSALS.iter().map(|p| p.flag))
                ),
                target.llvm_triple()
            )));
        }
        if changes_abi(arch, feature) {
            return Err(CompileError::Target(format!(
                "CPU feature `{feature}` would change the calling convention or the baseline of `{target}`"
            )));
        }
        llvm_features.push(feature.clone());
    }
    let enabled = llvm.enabled(&cpu, &llvm_features);
    if llvm.has_feature("64bit") && !enabled.iter().any(|f| f == "64bit") {
        return Err(CompileError::Target(format!(
            "CPU `{cpu}` does not run 64-bit code, which `{target}` is; the default is {}",
            target.default_cpu()
        )));
    }
    let baseline = llvm.enabled(baseline_cpu, &baseline_features);
    let required: Vec<String> =
        enabled.into_iter().filter(|f| !baseline.contains(f) && kiln_abi::cpu::is_requirement(arch, f)).collect();

    let triple = TargetTriple::create(&target.llvm_triple());
    let llvm_target = inkwell::targets::Target::from_triple(&triple)
        .map_err(|e| CompileError::Target(format!("LLVM does not know target `{target}`: {e}")))?;
    let machine = llvm_target
        .create_target_machine(
            &triple,
            &cpu,
            &llvm_features.join(","),
            codegen_level(opts.opt_level),
            RelocMode::PIC,
            CodeModel::Default,
        )
        .ok_or_else(|| CompileError::Target(format!("LLVM cannot create a target machine for `{target}`")))?;
    let stack_pointer = match arch {
        Architecture::X86_64 => Some("rsp"),
        Architecture::Aarch64(_) | Architecture::Riscv64(_) => Some("sp"),
        _ => None,
    };
    let has = |feature: &str| required.iter().any(|f| f == feature);
    // Without a C library to call, `floor` and friends must be single
    // instructions (SSE4.1 `roundss`/`roundsd`).
    let freestanding = target.is_windows();
    if arch == Architecture::X86_64 && !target.is_linux() && !has("sse4.1") {
        return Err(CompileError::Target(format!(
            "x86_64 code for `{target}` needs SSE4.1 (float rounding cannot call a C library there): \
             use a CPU that has it, such as the default {}, or add +sse4.1",
            target.default_cpu()
        )));
    }
    let vector_isa = match arch {
        Architecture::X86_64 => VectorIsa::X86 { ssse3: has("ssse3"), sse41: has("sse4.1"), fma: has("fma") },
        Architecture::Aarch64(_) => VectorIsa::Aarch64,
        _ => VectorIsa::Generic,
    };
    let info = TargetInfo {
        triple: target.name(),
        cpu,
        features: required,
        pointer_size: target.pointer_size().bytes() as u8,
    };
    let quieting = Quieting {
        min_max: matches!(arch, Architecture::Aarch64(_) | Architecture::Riscv64(_)),
        rounding: !matches!(arch, Architecture::Riscv64(_)),
    };
    let unwind_tables = true;
    let tune_cpu = opts.cpu.is_none().then_some("generic");
    Ok(TargetSetup {
        machine,
        info,
        stack_pointer,
        vector_isa,
        tail_call_stack_arguments: !matches!(arch, Architecture::Riscv64(_)),
        quieting,
        freestanding,
        unwind_tables,
        tune_cpu,
    })
}

/// The CPU name to give LLVM and the features that go with it (those
/// LLVM detects on this host, for `native`).
fn resolve_cpu(target: &Target, llvm: &Subtarget, cpu: Option<&str>) -> Result<(String, Vec<String>)> {
    match cpu.unwrap_or(target.default_cpu()) {
        "native" => {
            if Target::host().architecture() != target.architecture() {
                return Err(CompileError::Target(format!(
                    "`native` CPU is only meaningful when compiling for the host, not for `{target}`"
                )));
            }
            let (name, features) = crate::host_cpu();
            let features = features.split(',').filter(|f| !f.is_empty()).map(str::to_string).collect();
            Ok((llvm_cpu_name(target, &name), features))
        }
        name if llvm.has_cpu(name) => Ok((llvm_cpu_name(target, name), Vec::new())),
        name => Err(CompileError::Target(format!(
            "unknown CPU `{name}` for target `{target}`; {}kiln accepts LLVM 19's CPU names, which \
             `llc-19 -mtriple={} -mcpu=help` lists, and `native`; the default is `{}`",
            did_you_mean(name, llvm.cpus.iter().map(String::as_str)),
            target.llvm_triple(),
            target.default_cpu()
        ))),
    }
}

/// The CPU LLVM's back end uses for `name`: RISC-V's `generic` is the
/// generic CPU of the triple's width, as LLVM's target factory maps it.
fn llvm_cpu_name(target: &Target, name: &str) -> String {
    match (target.architecture(), name) {
        (Architecture::Riscv64(_), "generic") => "generic-rv64".to_string(),
        _ => name.to_string(),
    }
}

fn codegen_level(level: OptLevel) -> OptimizationLevel {
    match level {
        OptLevel::O0 => OptimizationLevel::None,
        OptLevel::O1 => OptimizationLevel::Less,
        OptLevel::O2 | OptLevel::Os => OptimizationLevel::Default,
        OptLevel::O3 => OptimizationLevel::Aggressive,
    }
}

#[cfg(test)]
mod tests;

//! Command-line interface: argument parsing and dispatch. Each command
//! lives in its own file; the work itself is done by the library crates.

mod cache;
mod inspect;
mod invoke;
mod run;
mod threads;
mod wast;

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};
use kiln::{CompileOptions, Emit, OptLevel};
use kiln_abi::metadata::BoundsChecks;
use kiln_abi::target::Target;
use std::path::PathBuf;
use std::process::ExitCode;

/// kiln compiles WebAssembly ahead of time, through LLVM, into ordinary
/// native libraries, and runs them in a sandbox.
#[derive(Parser)]
#[command(name = "kiln", version, about, long_about = None, propagate_version = true)]
#[command(after_help = "Examples:\n  \
    kiln compile app.wasm -o app.so          compile for this machine at -O2\n  \
    kiln compile app.wasm -o libapp.a --emit a --prefix app\n  \
                                             static archive exporting app_kiln_metadata, app_kiln_functions\n  \
    kiln run app.so --invoke add 2 3         call an export and print its results\n  \
    kiln inspect app.so                      show target, imports, exports, sizes\n  \
    kiln wast tests/*.wast                   run WebAssembly spec test scripts")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile a .wasm or .wat module into a native library (or object, IR, assembly).
    Compile(CompileArgs),
    /// Run a module: call an exported function and print its results.
    Run(run::RunArgs),
    /// Show what a compiled library holds: target, CPU features, imports, exports, sizes.
    Inspect(inspect::InspectArgs),
    /// Run WebAssembly spec test scripts (.wast) and report passed/failed/unsupported.
    Wast(wast::WastArgs),
    /// List the targets this kiln can compile for.
    Targets,
    /// Manage the cache of libraries `kiln run` compiled from .wasm/.wat files.
    #[command(subcommand)]
    Cache(cache::CacheCommand),
}

#[derive(Args)]
struct CompileArgs {
    /// Input module: WebAssembly binary (.wasm) or text (.wat).
    input: PathBuf,
    /// Output file; `-` prints text outputs (--emit llvm-ir, asm) to standard output.
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    codegen: CodegenArgs,
    /// What to produce.
    #[arg(long, value_enum, default_value_t = EmitArg::So)]
    emit: EmitArg,
    /// Prefix of the two kiln symbols, NAME_kiln_metadata and
    /// NAME_kiln_functions, so several modules link into one program.
    /// Required by `--emit a`; a C identifier. Shared libraries are never
    /// prefixed (the runtime finds their symbols by the plain names).
    #[arg(long, visible_alias = "symbol-prefix", value_name = "NAME")]
    prefix: Option<String>,
}

/// Options that change generated code; shared by `compile` and `run`.
#[derive(Args, Clone)]
pub(crate) struct CodegenArgs {
    /// Optimization level: 0, 1, 2, 3 or s (size), as in -O2.
    #[arg(short = 'O', value_name = "LEVEL", default_value = "2", value_parser = parse_opt_level)]
    opt: OptLevel,
    /// Target triple to compile for (default: this machine). See `kiln targets`.
    #[arg(long, value_name = "TRIPLE")]
    target: Option<String>,
    /// CPU to generate code for (default: the target's baseline, e.g. x86-64-v2).
    #[arg(long, value_name = "NAME")]
    cpu: Option<String>,
    /// Comma separated: extra CPU features by their LLVM names (+avx2,-sse4.2),
    /// and WebAssembly proposals to turn off (-tail-call,-simd; `kiln inspect`
    /// lists those a module uses), so a module that uses one is refused
    #[arg(long, value_name = "LIST", value_delimiter = ',', allow_hyphen_values = true)]
    features: Vec<String>,
    /// How out-of-bounds accesses are caught: guard regions (the hardware
    /// catches most, fast) or explicit checks (for hosts without 8 GiB of
    /// address space per memory). Traps are exact either way.
    #[arg(long, value_enum, default_value_t = BoundsArg::Guard)]
    bounds_checks: BoundsArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum EmitArg {
    /// Shared library (.so), loadable by `kiln run` and the kiln runtime.
    So,
    /// Relocatable object file holding code and metadata.
    Obj,
    /// Static archive (.a; a .lib for Windows targets) to link into a
    /// program, loaded with `Module::from_static`. Needs --prefix; every
    /// symbol but the two prefixed ones is local.
    #[value(alias = "lib")]
    A,
    /// LLVM IR after optimization.
    LlvmIr,
    /// LLVM IR as generated, before optimization.
    LlvmIrUnopt,
    /// Target assembly.
    Asm,
}

#[derive(Clone, Copy, ValueEnum)]
enum BoundsArg {
    /// Reserve 8 GiB of address space per memory; an access that follows
    /// its check at once faults instead of comparing.
    Guard,
    /// Check every access that is not proven in bounds against the
    /// memory's current size.
    Explicit,
}

fn parse_opt_level(s: &str) -> Result<OptLevel, String> {
    Ok(match s {
        "0" => OptLevel::O0,
        "1" => OptLevel::O1,
        "2" => OptLevel::O2,
        "3" => OptLevel::O3,
        "s" => OptLevel::Os,
        _ => return Err(format!("unknown optimization level `{s}`: use 0, 1, 2, 3 or s")),
    })
}

impl CodegenArgs {
    pub(crate) fn options(&self) -> Result<CompileOptions> {
        let target = match &self.target {
            Some(t) => Target::parse(t)?,
            None => Target::host(),
        };
        let (features, disabled_proposals) = kiln::split_features(&self.features)?;
        Ok(CompileOptions {
            target,
            cpu: self.cpu.clone(),
            features,
            disabled_proposals,
            opt_level: self.opt,
            bounds_checks: match self.bounds_checks {
                BoundsArg::Guard => BoundsChecks::Guard,
                BoundsArg::Explicit => BoundsChecks::Explicit,
            },
            ..CompileOptions::default()
        })
    }
}

/// Parses the command line, runs the command, and turns any error into one
/// line on stderr and a non-zero exit code.
pub fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("kiln: internal error: {info}. Please report this with the input that caused it.");
    }));
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Run(_)) {
        // Reports go to stdout: `kiln inspect x.so | head` ends kiln quietly
        // when `head` stops reading, as it ends any Unix tool. `kiln run`
        // keeps the signal ignored, so a WASI program writing to a closed
        // pipe gets EPIPE.
        // SAFETY: sets the default disposition of one signal, before any
        // thread is started; no handler runs.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    let result = match cli.command {
        Command::Compile(args) => compile(args),
        Command::Run(args) => run::run(args),
        Command::Inspect(args) => inspect::inspect(args),
        Command::Wast(args) => wast::wast(args),
        Command::Targets => targets(),
        Command::Cache(command) => cache::cache(command),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kiln: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn compile(args: CompileArgs) -> Result<ExitCode> {
    let mut opts = args.codegen.options()?;
    let emit = match args.emit {
        EmitArg::So => Emit::SharedLibrary,
        EmitArg::Obj => Emit::Object,
        EmitArg::A => Emit::StaticLibrary,
        EmitArg::LlvmIr => Emit::LlvmIr,
        EmitArg::LlvmIrUnopt => Emit::LlvmIrUnoptimized,
        EmitArg::Asm => Emit::Assembly,
    };
    match (&args.prefix, emit) {
        (None, Emit::StaticLibrary) => anyhow::bail!(
            "--emit a needs --prefix NAME: the archive's symbols are NAME_kiln_metadata and NAME_kiln_functions"
        ),
        (Some(_), Emit::SharedLibrary) => anyhow::bail!(
            "--prefix is for --emit a and --emit obj: the runtime finds a shared library's symbols by their plain names"
        ),
        (Some(p), _) if !kiln_abi::symbols::is_valid_prefix(p) => {
            anyhow::bail!(
                "--prefix `{p}` is not a C identifier (ASCII letters, digits and `_`, not starting with a digit)"
            )
        }
        _ => {}
    }
    opts.symbol_prefix = args.prefix.clone();
    let report = kiln::compile_file(&args.input, &opts, emit, &args.output)?;
    if matches!(emit, Emit::SharedLibrary | Emit::Object | Emit::StaticLibrary) && args.output.as_os_str() != "-" {
        eprintln!(
            "kiln: compiled {} ({} bytes of wasm, {} functions) for {} in {:.2?} (+{:.2?} link): {} bytes of code -> {}",
            args.input.display(),
            report.wasm_size,
            report.functions,
            opts.target,
            report.compile_time,
            report.link_time,
            report.code_size,
            args.output.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn targets() -> Result<ExitCode> {
    let host = Target::host().name();
    println!("{:<28} {:<12}", "TARGET", "DEFAULT CPU");
    for (triple, cpu) in kiln_abi::target::SUPPORTED {
        let mark = if *triple == host { "  (host)" } else { "" };
        println!("{triple:<28} {cpu:<12}{mark}");
    }
    Ok(ExitCode::SUCCESS)
}

//! `kiln run`: load (or compile and load) a module and run it — a WASI
//! command through `_start`, or one export with `--invoke`; a program
//! that imports `wasi`.`thread-spawn` runs its threads on OS threads
//! (`super::threads`).

use super::invoke::{format_val, parse_params};
use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use kiln::cache::{Cache, Lookup};
use kiln::runtime::{Config, DEFAULT_MAX_WASM_STACK, Engine, Error, Linker, Module, Store, Val};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use super::threads::Threads;

/// The exit status when wasm traps, as for a native program that aborts
/// (128 + SIGABRT).
pub(crate) const TRAP_EXIT_CODE: u8 = 134;

#[derive(Args)]
#[command(after_help = "Exit status: the program's own (its proc_exit code, 0 when _start returns); \
    134 when the wasm code traps; 1 when kiln cannot read, compile, load or link the module.\n\n\
    Examples:\n  \
    kiln run app.wasm -- input.txt -v      run a WASI program with two arguments\n  \
    kiln run app.wasm --dir data::/data    let it read and write ./data as /data\n  \
    kiln run app.wasm --dir . --env LANG=C the current directory, one variable\n  \
    kiln run lib.so --invoke add 2 3       call an export and print its results")]
pub(crate) struct RunArgs {
    /// A library compiled by kiln (.so), or a .wasm/.wat module, which is
    /// compiled on first use and kept in the compiled-artifact cache.
    module: PathBuf,
    /// Arguments: for a WASI program (after `--`), its argv[1..]; with
    /// `--invoke`, the function's parameters, parsed by type (integers in
    /// decimal or 0x hex, floats like 1.5, -0, inf, nan).
    #[arg(allow_negative_numbers = true, value_name = "ARGS")]
    args: Vec<String>,
    /// Call this exported function instead of the WASI entry point `_start`,
    /// and print its results.
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
    /// Give the program a host directory, as GUEST (default: the same path).
    /// It cannot reach anything outside it. Repeatable.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Set an environment variable for the program. Repeatable; nothing of
    /// kiln's own environment is passed on.
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_env)]
    envs: Vec<(String, String)>,
    #[command(flatten)]
    codegen: super::CodegenArgs,
    /// Compile a .wasm/.wat module into a temporary directory instead of
    /// using the compiled-artifact cache (see `kiln cache`).
    #[arg(long)]
    no_cache: bool,
    /// Report on stderr where the library came from (cache hit, or a
    /// compile and its timing).
    #[arg(short, long)]
    verbose: bool,
    /// How much native stack wasm code may use before a call traps with
    /// "call stack exhausted": bytes, or with a K, M or G suffix (8M).
    /// Deeply recursive programs (parsers, code built at -O0) may need
    /// more than the default of 1M.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "1M")]
    max_wasm_stack: usize,
}

/// `SIZE` in bytes: a number with an optional K, M or G suffix (powers of
/// 1024).
fn parse_size(s: &str) -> Result<usize, String> {
    let (digits, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c.to_ascii_uppercase()),
        _ => (s, 'B'),
    };
    let n: usize = digits.parse().map_err(|_| format!("`{s}` is not a size such as 512K or 8M"))?;
    let shift = match unit {
        'B' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        _ => return Err(format!("`{s}`: the unit must be K, M or G")),
    };
    n.checked_mul(1 << shift).filter(|&b| b >= 64 << 10).ok_or_else(|| format!("`{s}`: between 64K and the address space"))
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some(("", _)) => Err(format!("`{s}`: the variable name is empty")),
        Some((name, value)) => Ok((name.to_string(), value.to_string())),
        None => Err(format!("`{s}` is not NAME=VALUE")),
    }
}

pub(crate) fn run(args: RunArgs) -> Result<ExitCode> {
    if args.max_wasm_stack <= DEFAULT_MAX_WASM_STACK {
        return run_here(args);
    }
    // More than the main thread's stack may hold: run on a thread with
    // room for the limit and for the host's own frames.
    let stack = args.max_wasm_stack.saturating_add(8 << 20);
    let thread = std::thread::Builder::new().name("main".into()).stack_size(stack).spawn(move || run_here(args));
    thread
        .context("starting a thread with a larger stack")?
        .join()
        .unwrap_or_else(|_| Err(anyhow!("the thread running the module panicked")))
}

fn run_here(args: RunArgs) -> Result<ExitCode> {
    let mut config = Config::new();
    config.max_wasm_stack(args.max_wasm_stack);
    let engine = Engine::new(&config);
    let scratch = tempfile::Builder::new().prefix("kiln-run-").tempdir().context("creating a temporary directory")?;
    let module = load(&engine, &args, scratch.path())?;
    let file = args.module.display();
    let mut store = Store::new(&engine);
    let mut linker = Linker::new(&engine);
    let wasi = Arc::new(Mutex::new(wasi_context(&args)?));
    kiln_wasi::add_to_linker_shared(&mut linker, &mut store, Arc::clone(&wasi)).map_err(|e| anyhow!("{file}: {e}"))?;
    if let Some(threads) = Threads::new(&engine, &module, wasi, file.to_string())? {
        threads.define(&mut linker, &mut store).map_err(|e| anyhow!("{file}: {e}"))?;
    }

    let instance = match linker.instantiate(&mut store, &module) {
        Ok(instance) => instance,
        Err(e) => return finish(&file, "instantiation", e),
    };
    let (name, func) = match &args.invoke {
        Some(name) => {
            let func = instance.get_func(&store, name).ok_or_else(|| {
                let exports: Vec<String> = module.exports().map(|(n, _)| format!("`{n}`")).collect();
                anyhow!("{file}: no exported function `{name}` (exports: {})", exports.join(", "))
            })?;
            (name.as_str(), func)
        }
        None => match instance.get_func(&store, "_start") {
            Some(f) => ("_start", f),
            None => return Ok(ExitCode::SUCCESS),
        },
    };
    let ty = func.ty(&store)?;
    let params = match &args.invoke {
        Some(_) => parse_params(&ty, name, &args.args).with_context(|| format!("{file}"))?,
        None if ty.params.is_empty() && ty.results.is_empty() => Vec::new(),
        None => bail!("{file}: `_start` has type {ty}, not [] -> []; use --invoke to call it with arguments"),
    };
    let mut results: Vec<Val> = ty.results.iter().map(|t| Val::default_for(*t)).collect();
    if let Err(e) = func.call(&mut store, &params, &mut results) {
        return finish(&file, &format!("`{name}`"), e);
    }
    for r in results {
        println!("{}", format_val(&r));
    }
    Ok(ExitCode::SUCCESS)
}

/// The exit status for a run that ended in `error`: the program's own
/// code if it called `proc_exit`, else a report on stderr.
fn finish(file: &dyn std::fmt::Display, during: &str, error: Error) -> Result<ExitCode> {
    if let Some(code) = kiln_wasi::exit_code(&error) {
        // What a native `exit(code)` reports: the low 8 bits.
        return Ok(ExitCode::from(code as u8));
    }
    match error {
        Error::Trap(trap) => {
            eprintln!("kiln: error: {file}: {during}: wasm trap: {trap} (trap code {:?})", trap.code());
            Ok(ExitCode::from(TRAP_EXIT_CODE))
        }
        other => Err(anyhow!("{file}: {during}: {other}")),
    }
}

/// The program's WASI view: its arguments, environment, preopened
/// directories and this process's standard streams.
fn wasi_context(args: &RunArgs) -> Result<kiln_wasi::WasiCtx> {
    let mut builder = kiln_wasi::WasiCtxBuilder::new();
    builder.arg(args.module.to_string_lossy());
    if args.invoke.is_none() {
        builder.args(&args.args);
    }
    for (name, value) in &args.envs {
        builder.env(name, value);
    }
    for dir in &args.dirs {
        let (host, guest) = dir.split_once("::").unwrap_or((dir, dir));
        builder.preopened_dir(host, guest).with_context(|| format!("--dir {dir}"))?;
    }
    builder.inherit_stdio();
    Ok(builder.build())
}

/// Opens a compiled library, or a wasm/wat module compiled through the
/// cache (or into `scratch` with `--no-cache`). A file is taken for a
/// library if it is an ELF file or is named like one.
fn load(engine: &Engine, args: &RunArgs, scratch: &Path) -> Result<Module> {
    let path = &args.module;
    let bytes = std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let library_name = path.extension().is_some_and(|e| e == "so" || e == "dylib" || e == "dll");
    if bytes.starts_with(b"\x7fELF") || library_name {
        return Ok(Module::from_file(engine, path)?);
    }
    let opts = args.codegen.options()?;
    let wasm = kiln::module_from_bytes(bytes, path)?;
    if args.no_cache {
        let library = scratch.join("module.so");
        let report = kiln::compile_to_file(&wasm, path, &opts, kiln::Emit::SharedLibrary, &library)?;
        if args.verbose {
            eprintln!("kiln: compiled {} in {:.2?} (cache not used)", path.display(), report.compile_time + report.link_time);
        }
        return Ok(Module::from_file(engine, &library)?);
    }
    let cache = Cache::user()?;
    let announce = || {
        if args.verbose || std::io::stderr().is_terminal() {
            eprintln!("kiln: compiling {} (the library is cached for the next run)", path.display());
        }
    };
    let entry = cache.get_or_compile(&wasm, path, &opts, announce)?;
    if args.verbose {
        let library = entry.library.display();
        match &entry.lookup {
            Lookup::Hit => eprintln!("kiln: cache hit, loading {library} (no compilation)"),
            Lookup::Compiled(r) => eprintln!("kiln: compiled in {:.2?}, cached as {library}", r.compile_time + r.link_time),
            Lookup::Rebuilt { reason, report: r } => eprintln!(
                "kiln: cache entry was damaged ({reason}); recompiled in {:.2?}, cached as {library}",
                r.compile_time + r.link_time
            ),
        }
    }
    Ok(Module::from_file(engine, &entry.library)?)
}

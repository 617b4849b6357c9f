//! `kiln run`: load (or compile and load) a module, call an export, print
//! its results.

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use kiln::runtime::{Engine, Error, Func, Linker, Module, Store, Val, ValType};
use kiln::cache::{Cache, Lookup};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub(crate) struct RunArgs {
    /// A library compiled by kiln (.so), or a .wasm/.wat module, which is
    /// compiled on first use and kept in the compiled-artifact cache.
    module: PathBuf,
    /// Exported function to call. Without it, the module is instantiated
    /// (running its start function) and `_start` is called if exported.
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
    /// Arguments for the function, parsed by parameter type: integers in
    /// decimal or 0x hex, floats like 1.5, -0, inf, nan.
    #[arg(allow_negative_numbers = true, value_name = "ARGS")]
    args: Vec<String>,
    #[command(flatten)]
    codegen: super::CodegenArgs,
    /// Compile a .wasm/.wat module into a temporary directory instead of
    /// using the compiled-artifact cache (see `kiln cache`).
    #[arg(long)]
    no_cache: bool,
    /// Report on stderr where the library came from (cache hit, compile
    /// and its timing).
    #[arg(short, long)]
    verbose: bool,
}

pub(crate) fn run(args: RunArgs) -> Result<ExitCode> {
    let engine = Engine::default();
    let scratch = tempfile::Builder::new().prefix("kiln-run-").tempdir().context("creating a temporary directory")?;
    let module = load(&engine, &args, scratch.path())?;
    let mut store = Store::new(&engine);
    let file = args.module.display();
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .map_err(|e| anyhow!("{file}: cannot instantiate: {}", describe(&e)))?;

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
            None if args.args.is_empty() => return Ok(ExitCode::SUCCESS),
            None => bail!("{file}: arguments given but no --invoke NAME and no `_start` export"),
        },
    };
    let results = call(&mut store, func, name, &args.args).map_err(|e| anyhow!("{file}: {e:#}"))?;
    for r in results {
        println!("{}", format_val(&r));
    }
    Ok(ExitCode::SUCCESS)
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
    let wasm = kiln::read_module(path)?;
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

fn call(store: &mut Store, func: Func, name: &str, args: &[String]) -> Result<Vec<Val>> {
    let ty = func.ty(&*store)?;
    if ty.params.len() != args.len() {
        let params: Vec<String> = ty.params.iter().map(|t| t.to_string()).collect();
        bail!("`{name}` takes {} argument(s) ({}), {} given", ty.params.len(), params.join(" "), args.len());
    }
    let params = ty
        .params
        .iter()
        .zip(args)
        .enumerate()
        .map(|(i, (t, a))| parse_arg(*t, a).with_context(|| format!("argument {} of `{name}`", i + 1)))
        .collect::<Result<Vec<_>>>()?;
    let mut results: Vec<Val> = ty.results.iter().map(|t| Val::default_for(*t)).collect();
    func.call(&mut *store, &params, &mut results).map_err(|e| anyhow!("`{name}`: {}", describe(&e)))?;
    Ok(results)
}

fn describe(e: &Error) -> String {
    match e {
        Error::Trap(t) => format!("wasm trap: {t} (trap code {:?})", t.code()),
        other => other.to_string(),
    }
}

fn parse_arg(ty: ValType, s: &str) -> Result<Val> {
    let int = |s: &str| -> Result<i128> {
        let (neg, digits) = s.strip_prefix('-').map_or((false, s), |d| (true, d));
        let v = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
            Some(hex) => i128::from_str_radix(hex, 16),
            None => digits.parse::<i128>(),
        }
        .map_err(|_| anyhow!("`{s}` is not an integer"))?;
        Ok(if neg { -v } else { v })
    };
    Ok(match ty {
        ValType::I32 => {
            let v = int(s)?;
            if !(i128::from(i32::MIN)..=i128::from(u32::MAX)).contains(&v) {
                bail!("`{s}` does not fit in an i32");
            }
            Val::I32(v as u32 as i32)
        }
        ValType::I64 => {
            let v = int(s)?;
            if !(i128::from(i64::MIN)..=i128::from(u64::MAX)).contains(&v) {
                bail!("`{s}` does not fit in an i64");
            }
            Val::I64(v as u64 as i64)
        }
        ValType::F32 => Val::from_f32(s.parse().map_err(|_| anyhow!("`{s}` is not a number"))?),
        ValType::F64 => Val::from_f64(s.parse().map_err(|_| anyhow!("`{s}` is not a number"))?),
        other => bail!("parameters of type {other} cannot be given on the command line"),
    })
}

fn format_val(v: &Val) -> String {
    match v {
        Val::I32(x) => x.to_string(),
        Val::I64(x) => x.to_string(),
        Val::F32(b) => format_float(f64::from(f32::from_bits(*b)), f32::from_bits(*b).is_nan(), u64::from(b & 0x7f_ffff), *b >> 31 == 1),
        Val::F64(b) => format_float(f64::from_bits(*b), f64::from_bits(*b).is_nan(), b & 0xf_ffff_ffff_ffff, *b >> 63 == 1),
        Val::V128(b) => format!("{b:#034x}"),
        Val::FuncRef(None) | Val::ExternRef(None) => "null".into(),
        Val::FuncRef(Some(_)) => "funcref".into(),
        Val::ExternRef(Some(_)) => "externref".into(),
    }
}

fn format_float(v: f64, is_nan: bool, payload: u64, negative: bool) -> String {
    if is_nan {
        let sign = if negative { "-" } else { "" };
        return format!("{sign}nan:{payload:#x}");
    }
    v.to_string()
}

//! In-process timing of kiln's runtime for scripts/bench.
//!
//! `kiln-bench-harness load LIB.so REPS` loads a library compiled by
//! `kiln compile` and instantiates it with a WASI context, REPS times (a
//! fresh engine and store each time, `_start` not called), and prints one
//! line per repetition: `load_seconds instantiate_seconds`.
//!
//! `kiln-bench-harness run LIB.so TIMEFILE` loads the library (not timed),
//! then times instantiation plus `_start`, as the wasmtime and node runners
//! do, and writes `{"run": seconds}` to TIMEFILE. The program's output goes
//! to this process's stdout; its exit code becomes ours.

use std::process::ExitCode;
use std::time::Instant;

use kiln_loader::{Engine, Error, Instance, Linker, Module, Store};

fn usage() -> ExitCode {
    eprintln!("usage: kiln-bench-harness load LIB.so REPS | run LIB.so TIMEFILE");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["load", library, reps] => match reps.parse() {
            Ok(reps) => load(library, reps),
            Err(_) => return usage(),
        },
        ["run", library, time_file] => run(library, time_file),
        _ => return usage(),
    };
    result.unwrap_or_else(|message| {
        eprintln!("kiln-bench-harness: {message}");
        ExitCode::FAILURE
    })
}

fn open(engine: &Engine, library: &str) -> Result<Module, String> {
    Module::from_file(engine, library).map_err(|e| format!("{library}: {e}"))
}

fn instantiate(engine: &Engine, store: &mut Store, module: &Module, library: &str) -> Result<Instance, Error> {
    let mut linker = Linker::new(engine);
    let wasi = kiln_wasi::WasiCtxBuilder::new().arg(library).inherit_stdio().build();
    kiln_wasi::add_to_linker(&mut linker, store, wasi)?;
    linker.instantiate(store, module)
}

fn load(library: &str, reps: u32) -> Result<ExitCode, String> {
    for _ in 0..reps {
        let engine = Engine::default();
        let start = Instant::now();
        let module = open(&engine, library)?;
        let loaded = Instant::now();
        let mut store = Store::new(&engine);
        instantiate(&engine, &mut store, &module, library).map_err(|e| format!("{library}: instantiation: {e}"))?;
        let instantiated = Instant::now();
        println!("{:.9} {:.9}", (loaded - start).as_secs_f64(), (instantiated - loaded).as_secs_f64());
    }
    Ok(ExitCode::SUCCESS)
}

fn run(library: &str, time_file: &str) -> Result<ExitCode, String> {
    let engine = Engine::default();
    let module = open(&engine, library)?;
    let mut store = Store::new(&engine);
    let start = Instant::now();
    let outcome = match instantiate(&engine, &mut store, &module, library) {
        Ok(instance) => {
            let entry = instance.get_func(&store, "_start").ok_or_else(|| format!("{library}: no `_start` export"))?;
            entry.call(&mut store, &[], &mut [])
        }
        Err(e) => Err(e),
    };
    let seconds = start.elapsed().as_secs_f64();
    let code = match outcome {
        Ok(()) => 0,
        Err(e) => kiln_wasi::exit_code(&e).ok_or_else(|| format!("{library}: {e}"))?,
    };
    std::fs::write(time_file, format!("{{\"run\": {seconds:.9}}}\n")).map_err(|e| format!("{time_file}: {e}"))?;
    Ok(ExitCode::from(code as u8))
}

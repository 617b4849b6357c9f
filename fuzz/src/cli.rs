//! The command line shared by `kiln-fuzz` and the fuzz target binaries
//! built without libFuzzer: a seeded campaign, or one seed reproduced.

use crate::driver::{self, Campaign};
use crate::target::{Target, TargetName, Verdict, bounds_checks};
use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

/// Seeded fuzzing of kiln on a stable toolchain.
#[derive(Parser, Debug)]
#[command(name = "kiln-fuzz")]
struct Args {
    /// differential, compile or loader.
    target: String,
    /// Run for this many minutes.
    #[arg(long)]
    minutes: Option<f64>,
    /// Run this many inputs (with --minutes, whichever ends first).
    #[arg(long)]
    inputs: Option<u64>,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Worker processes (default: the number of cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Bounds-check mode of the differential target's kiln builds.
    #[arg(long, default_value = "guard")]
    bounds_checks: String,
    /// Where failing inputs are saved (default fuzz/artifacts/TARGET); with
    /// --repro, where the seed's input is saved whatever its verdict.
    #[arg(long)]
    artifacts: Option<PathBuf>,
    /// Run only `--seed` in this process and print its verdict.
    #[arg(long)]
    repro: bool,
    /// Differential target: run this module (.wasm or .wat, which must
    /// export its fuel global as `kiln-fuzz:fuel` if it has one) instead
    /// of generated ones, with the --call plan, and print the verdict.
    #[arg(long)]
    module: Option<PathBuf>,
    /// With --module: call NAME with the arguments, each TYPE:VALUE (i32:5,
    /// i64:-1, f32:BITS, f64:BITS, v128:BITS; bits in hex with 0x or
    /// decimal). Repeatable; without it every exported function is called
    /// once with zeros.
    #[arg(long = "call", value_name = "NAME[,ARG...]")]
    calls: Vec<String>,
    /// Internal: serve seeds from standard input for a campaign.
    #[arg(long, hide = true)]
    worker: bool,
}

/// Runs the command line; `preset` is the target of a fuzz target binary,
/// used when the first argument is not a target name.
pub fn main(preset: Option<TargetName>) -> anyhow::Result<()> {
    let mut argv: Vec<String> = std::env::args().collect();
    if let Some(preset) = preset
        && argv.get(1).is_none_or(|a| a.parse::<TargetName>().is_err())
    {
        argv.insert(1, preset.as_str().to_string());
    }
    let args = Args::parse_from(argv);
    let name: TargetName = args.target.parse().map_err(anyhow::Error::msg)?;
    let mode = bounds_checks(&args.bounds_checks).map_err(anyhow::Error::msg)?;
    let make = move || Target::new(name, mode).map_err(anyhow::Error::msg);
    if args.worker {
        return driver::on_big_stack(move || driver::worker(make()?, name).map_err(anyhow::Error::from));
    }
    if let Some(path) = &args.module {
        let wasm = kiln::read_module(path)?;
        let plan = match args.calls.is_empty() {
            true => crate::differential::exported_functions(&wasm)
                .map_err(anyhow::Error::msg)?
                .into_iter()
                .map(|e| (e.name, e.params.iter().map(|&t| crate::differential::zero(t)).collect()))
                .collect(),
            false => args.calls.iter().map(|c| parse_call(c)).collect::<anyhow::Result<Vec<_>>>()?,
        };
        let verdict = driver::on_big_stack(move || {
            let crate::target::Target::Differential(d) = make()? else {
                anyhow::bail!("--module runs the differential target");
            };
            Ok(d.run_module(&wasm, &plan))
        })?;
        println!("{verdict:?}");
        if let Verdict::Fail(_) = verdict {
            std::process::exit(1);
        }
        return Ok(());
    }
    if args.repro {
        let seed = args.seed;
        let verdict = driver::on_big_stack(move || {
            Ok::<_, anyhow::Error>(driver::run_one(&make()?, &driver::input(name, seed)))
        })?;
        println!("seed {seed}: {verdict:?}");
        if let Some(dir) = &args.artifacts {
            let message = match &verdict {
                Verdict::Fail(m) => m.clone(),
                other => format!("{other:?}"),
            };
            driver::save(name, seed, &message, dir)?;
        }
        if let Verdict::Fail(_) = verdict {
            std::process::exit(1);
        }
        return Ok(());
    }
    if args.minutes.is_none() && args.inputs.is_none() {
        anyhow::bail!("say how long to run: --minutes M and/or --inputs N");
    }
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let campaign = Campaign {
        target: name,
        worker_args: vec!["--bounds-checks".into(), args.bounds_checks.clone()],
        duration: args.minutes.map(|m| Duration::from_secs_f64(m * 60.0)),
        inputs: args.inputs,
        first_seed: args.seed,
        jobs: jobs.max(1),
        artifacts: args.artifacts.unwrap_or_else(|| PathBuf::from("fuzz/artifacts").join(name.as_str())),
    };
    let summary = campaign.run()?;
    for (seed, message) in summary.failures.iter().take(50) {
        println!("failed: seed {seed}: {message}");
    }
    println!("{} calls compared, {} of them trapped; {} inputs skipped", summary.calls, summary.traps, summary.skipped);
    println!("{}", summary.totals_line());
    if summary.failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

/// The target as libFuzzer runs it: the differential target compiles
/// with the bounds-check mode in `KILN_FUZZ_BOUNDS_CHECKS` (default
/// `guard`). Panics if it cannot be set up, which libFuzzer reports.
pub fn libfuzzer_target(name: TargetName) -> Target {
    let mode = std::env::var("KILN_FUZZ_BOUNDS_CHECKS").unwrap_or_else(|_| "guard".into());
    let mode = bounds_checks(&mode).unwrap_or_else(|e| panic!("KILN_FUZZ_BOUNDS_CHECKS: {e}"));
    Target::new(name, mode).unwrap_or_else(|e| panic!("cannot set up the {name} target: {e}"))
}

/// `NAME,TYPE:VALUE,...` as a planned call.
fn parse_call(text: &str) -> anyhow::Result<(String, Vec<crate::state::Value>)> {
    use crate::state::Value;
    let mut parts = text.split(',');
    let name = parts.next().unwrap_or_default().to_string();
    let args = parts
        .map(|arg| {
            let (ty, v) = arg.split_once(':').ok_or_else(|| anyhow::anyhow!("argument `{arg}` is not TYPE:VALUE"))?;
            let bits = |v: &str| -> anyhow::Result<u128> {
                Ok(match v.strip_prefix("0x") {
                    Some(hex) => u128::from_str_radix(hex, 16)?,
                    None => v.parse::<i128>()? as u128,
                })
            };
            Ok(match ty {
                "i32" => Value::I32(bits(v)? as i32),
                "i64" => Value::I64(bits(v)? as i64),
                "f32" => Value::F32(bits(v)? as u32),
                "f64" => Value::F64(bits(v)? as u64),
                "v128" => Value::V128(bits(v)?),
                "funcref" => Value::FuncRef(None),
                "externref" => Value::ExternRef(false),
                other => anyhow::bail!("unknown argument type `{other}`"),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((name, args))
}

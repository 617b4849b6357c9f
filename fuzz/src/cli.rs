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

//! `kiln wast`: run spec test scripts.

use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub(crate) struct WastArgs {
    /// Script files (.wast).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    codegen: super::CodegenArgs,
    /// Print every failed directive, not just the first few per file.
    #[arg(long)]
    all_failures: bool,
    /// Also print the directives that passed although kiln words its reason
    /// for rejecting the module differently from the script.
    #[arg(long)]
    reasons: bool,
    /// Also print each unsupported directive with the feature kiln named.
    #[arg(long)]
    unsupported: bool,
}

pub(crate) fn wast(args: WastArgs) -> Result<ExitCode> {
    let opts = args.codegen.options()?;
    let mut reports = Vec::new();
    for (i, file) in args.files.iter().enumerate() {
        eprintln!("[{}/{}] {}", i + 1, args.files.len(), file.display());
        let report = kiln::wast::run_file(file, &opts);
        let shown = if args.all_failures { usize::MAX } else { 5 };
        for failure in report.failures.iter().take(shown) {
            eprintln!("  FAIL {}", report.describe(failure));
        }
        if report.failures.len() > shown {
            eprintln!("  ... {} more failures (--all-failures shows them)", report.failures.len() - shown);
        }
        if args.unsupported {
            for (line, feature) in &report.unsupported_lines {
                eprintln!("  unsupported {}:{line}: {feature}", report.name);
            }
        }
        if args.reasons {
            for r in &report.rewordings {
                eprintln!("  reworded {}:{}: expected `{}`, kiln: `{}`", report.name, r.line, r.expected, r.actual);
            }
        }
        reports.push(report);
    }
    print!("{}", kiln::wast::format_table(&reports));
    let failed = reports.iter().any(|r| r.failed > 0);
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

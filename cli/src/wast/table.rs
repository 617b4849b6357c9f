//! The per-file results table printed by `kiln wast` and the spec test.

use super::Report;
use std::fmt::Write;

/// Formats reports as an aligned table with a totals line:
/// `N passed, M failed, K skipped`.
pub fn format_table(reports: &[Report]) -> String {
    let width = reports.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let mut out = String::new();
    let _ = writeln!(out, "{:<width$}  {:>7} {:>7} {:>7}  skipped for", "file", "passed", "failed", "skipped");
    for r in reports {
        let _ = writeln!(
            out,
            "{:<width$}  {:>7} {:>7} {:>7}  {}",
            r.name,
            r.passed,
            r.failed,
            r.skipped,
            r.skip_summary()
        );
    }
    let _ = writeln!(out, "{}", totals_line(reports));
    out
}

/// `N passed, M failed, K skipped` over all reports.
pub fn totals_line(reports: &[Report]) -> String {
    let (p, f, s) = reports.iter().fold((0, 0, 0), |(p, f, s), r| (p + r.passed, f + r.failed, s + r.skipped));
    format!("{p} passed, {f} failed, {s} skipped")
}

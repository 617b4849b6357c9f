//! The per-file results table printed by `kiln wast` and the spec test.

use super::Report;
use std::fmt::Write;

/// Formats reports as an aligned table — passed, failed and unsupported
/// directives per file, with the features kiln reported as unsupported —
/// and a totals line.
pub fn format_table(reports: &[Report]) -> String {
    let width = reports.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  {:>7} {:>7} {:>11}  unsupported features",
        "file", "passed", "failed", "unsupported"
    );
    for r in reports {
        let _ = writeln!(
            out,
            "{:<width$}  {:>7} {:>7} {:>11}  {}",
            r.name,
            r.passed,
            r.failed,
            r.unsupported_total(),
            r.unsupported_summary()
        );
    }
    let _ = writeln!(out, "{}", totals_line(reports));
    out
}

/// `N passed, M failed, K unsupported` over all reports.
pub fn totals_line(reports: &[Report]) -> String {
    let (p, f, u) =
        reports.iter().fold((0, 0, 0), |(p, f, u), r| (p + r.passed, f + r.failed, u + r.unsupported_total()));
    format!("{p} passed, {f} failed, {u} unsupported")
}

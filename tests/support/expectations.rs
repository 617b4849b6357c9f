//! The spec testsuite's expectations file: what kiln does not implement
//! yet, as the testsuite shows it.
//!
//! Two kinds of lines (blank lines and `#` comments aside). The first, one
//! per (file, feature), gives the number of directives of that file kiln
//! reports as unsupported for that feature; the feature is the rest of the
//! line:
//!
//! ```text
//! table64.wast                           12  table64
//! imports.wast                           59  exception handling
//! ```
//!
//! The second names one directive, by file and line, that must fail
//! because the script expects what an older standard said and a later one
//! changed (kiln follows the later one), with the reason:
//!
//! ```text
//! proposals/threads/imports.wast:309  superseded  wasm 2.0 allows several tables
//! ```
//!
//! Every directive not listed must pass. [`Expectations::check`] compares
//! a script's report with its lines in both directions — a directive that
//! fails, an unsupported count that grew, one that shrank because a
//! feature started to work, a superseded directive that no longer fails —
//! so the file stays true. [`Expectations::render`] writes the file back
//! (the spec test does this from a run when `KILN_BLESS=1`), with the
//! totals per feature in a comment block, which [`Expectations::parse`]
//! checks too.

use kiln::wast::Report;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Unsupported directives per feature, and superseded directives, per
/// testsuite file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expectations {
    /// file → feature → directives.
    pub unsupported: BTreeMap<String, BTreeMap<String, u32>>,
    /// file → line → why the directive's expectation is superseded.
    pub superseded: BTreeMap<String, BTreeMap<usize, String>>,
}

/// The comment that starts each totals line of the rendered file.
const TOTAL: &str = "# total ";

/// The word that marks a superseded directive's line.
const SUPERSEDED: &str = "superseded";

impl Expectations {
    /// Reads the file's text; errors name the line.
    pub fn parse(text: &str) -> Result<Expectations, String> {
        let mut expectations = Expectations::default();
        let mut totals: BTreeMap<String, (u32, u32)> = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let at = |what: String| format!("line {}: {what}", i + 1);
            if let Some(total) = line.strip_prefix(TOTAL) {
                let (feature, counts) = parse_total(total).ok_or_else(|| at(format!("malformed total `{line}`")))?;
                totals.insert(feature, counts);
                continue;
            }
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (first, tail) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let (second, rest) = tail.trim_start().split_once(char::is_whitespace).unwrap_or((tail, ""));
            let rest = rest.trim();
            if second.is_empty() || rest.is_empty() {
                return Err(at(format!("expected `file count feature` or `file:line superseded reason`: `{line}`")));
            }
            if second == SUPERSEDED {
                let (file, number) = first.rsplit_once(':').ok_or_else(|| at(format!("`{first}` is not file:line")))?;
                let number: usize = number.parse().map_err(|_| at(format!("`{number}` is not a line number")))?;
                let lines = expectations.superseded.entry(file.to_string()).or_default();
                if lines.insert(number, rest.to_string()).is_some() {
                    return Err(at(format!("{first} is listed twice")));
                }
                continue;
            }
            let count: u32 = second.parse().map_err(|_| at(format!("`{second}` is not a count")))?;
            if count == 0 {
                return Err(at(format!("a count must be above zero: `{line}`")));
            }
            let features = expectations.unsupported.entry(first.to_string()).or_default();
            if features.insert(rest.to_string(), count).is_some() {
                return Err(at(format!("{first} lists `{rest}` twice")));
            }
        }
        let computed = expectations.totals();
        if totals != computed {
            return Err(format!(
                "the totals block does not match the lines above it (edit the lines, then rewrite the file \
                 with KILN_BLESS=1): it says {totals:?}, the lines give {computed:?}"
            ));
        }
        Ok(expectations)
    }

    /// What a set of reports shows: their unsupported counts, and those of
    /// `superseded`'s directives that still fail (the reasons come from
    /// people, never from a run).
    pub fn from_reports<'r>(reports: impl IntoIterator<Item = &'r Report>, superseded: &Expectations) -> Expectations {
        let mut expectations = Expectations::default();
        for report in reports {
            if !report.unsupported.is_empty() {
                expectations.unsupported.insert(report.name.clone(), report.unsupported.clone());
            }
            let listed = superseded.superseded.get(&report.name);
            let still: BTreeMap<usize, String> = report
                .failures
                .iter()
                .filter_map(|f| listed.and_then(|l| l.get(&f.line)).map(|reason| (f.line, reason.clone())))
                .collect();
            if !still.is_empty() {
                expectations.superseded.insert(report.name.clone(), still);
            }
        }
        expectations
    }

    /// Per feature: how many files list it, and how many directives.
    pub fn totals(&self) -> BTreeMap<String, (u32, u32)> {
        let mut totals: BTreeMap<String, (u32, u32)> = BTreeMap::new();
        for features in self.unsupported.values() {
            for (feature, count) in features {
                let total = totals.entry(feature.clone()).or_default();
                total.0 += 1;
                total.1 += count;
            }
        }
        totals
    }

    /// Every file the expectations mention.
    pub fn files(&self) -> BTreeSet<&String> {
        self.unsupported.keys().chain(self.superseded.keys()).collect()
    }

    /// Replaces what the expectations say about the files of `other` with
    /// what `other` says.
    pub fn update(&mut self, files: &[&String], other: Expectations) {
        for file in files {
            self.unsupported.remove(*file);
            self.superseded.remove(*file);
        }
        self.unsupported.extend(other.unsupported);
        self.superseded.extend(other.superseded);
    }

    /// Checks a script's report against the file: every failed directive
    /// must be listed as superseded and every superseded one must fail, and
    /// the unsupported count of every feature must be exactly the one
    /// listed. The error lists every difference.
    pub fn check(&self, report: &Report) -> Result<(), String> {
        let mut problems = Vec::new();
        let superseded = self.superseded.get(&report.name);
        let unexpected: Vec<_> =
            report.failures.iter().filter(|f| !superseded.is_some_and(|s| s.contains_key(&f.line))).collect();
        if !unexpected.is_empty() {
            problems.push(format!("{} directive(s) failed:", unexpected.len()));
            for failure in unexpected.iter().take(30) {
                problems.push(format!("  {}", report.describe(failure)));
            }
            if unexpected.len() > 30 {
                problems.push(format!("  ... and {} more", unexpected.len() - 30));
            }
        }
        for line in superseded.into_iter().flat_map(|s| s.keys()) {
            if !report.failures.iter().any(|f| f.line == *line) {
                problems.push(format!(
                    "{}:{line} is listed as superseded but did not fail; take it off the list",
                    report.name
                ));
            }
        }
        if report.total() == 0 {
            problems.push("the script has no directives".into());
        }
        let expected = self.unsupported.get(&report.name).cloned().unwrap_or_default();
        let features: BTreeSet<&String> = expected.keys().chain(report.unsupported.keys()).collect();
        for feature in features {
            let want = expected.get(feature).copied().unwrap_or(0);
            let got = report.unsupported.get(feature).copied().unwrap_or(0);
            if want != got {
                problems.push(format!(
                    "`{feature}`: the expectations file lists {want} unsupported directive(s), kiln reported {got}"
                ));
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        Err(format!(
            "{}: {} passed, {} failed, {} unsupported\n{}",
            report.name,
            report.passed,
            report.failed,
            report.unsupported_total(),
            problems.join("\n")
        ))
    }

    /// The file's text: `header` (as comments), one aligned line per
    /// (file, feature), the superseded directives, then the totals per
    /// feature.
    pub fn render(&self, header: &str) -> String {
        let mut out = String::new();
        for line in header.lines() {
            let _ = writeln!(out, "# {line}");
        }
        let width = self.unsupported.keys().map(String::len).max().unwrap_or(4).max(4);
        let _ = writeln!(out, "\n# {:<w$}  {:>10}  feature", "file", "directives", w = width.saturating_sub(2));
        for (file, features) in &self.unsupported {
            for (feature, count) in features {
                let _ = writeln!(out, "{file:<width$}  {count:>10}  {feature}");
            }
        }
        if !self.superseded.is_empty() {
            let _ = writeln!(
                out,
                "\n# Directives that expect what an older standard said, which a later one\n\
                 # changed; kiln follows the later one, so each must fail.\n"
            );
            for (file, lines) in &self.superseded {
                for (line, reason) in lines {
                    let _ = writeln!(out, "{file}:{line}  {SUPERSEDED}  {reason}");
                }
            }
        }
        let _ = writeln!(out, "\n# Totals per feature: files, directives.");
        for (feature, (files, directives)) in self.totals() {
            let _ = writeln!(out, "{TOTAL}{feature}: {files} files, {directives} directives");
        }
        out
    }
}

/// Reads `feature: N files, M directives`.
fn parse_total(text: &str) -> Option<(String, (u32, u32))> {
    let (feature, counts) = text.rsplit_once(": ")?;
    let (files, directives) = counts.split_once(", ")?;
    let files = files.strip_suffix(" files")?.parse().ok()?;
    let directives = directives.strip_suffix(" directives")?.parse().ok()?;
    Some((feature.to_string(), (files, directives)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln::wast::Failure;

    fn report(name: &str, passed: u32, failed_lines: &[usize], unsupported: &[(&str, u32)]) -> Report {
        let mut report = Report::new(name);
        report.passed = passed;
        report.failed = failed_lines.len() as u32;
        report.failures = failed_lines.iter().map(|&line| Failure { line, col: 1, message: "wrong".into() }).collect();
        report.unsupported = unsupported.iter().map(|(f, n)| (f.to_string(), *n)).collect();
        report
    }

    fn expectations() -> Expectations {
        let mut e = Expectations::from_reports(
            &[report("a.wast", 5, &[], &[("GC", 3), ("tail calls", 1)]), report("b.wast", 9, &[], &[])],
            &Expectations::default(),
        );
        e.superseded.entry("b.wast".into()).or_default().insert(12, "wasm 2.0 allows it".into());
        e
    }

    #[test]
    fn rendering_reads_back() {
        let text = expectations().render("What kiln does not implement yet.");
        assert!(text.contains("\na.wast           3  GC\n"), "{text}");
        assert!(text.contains("\nb.wast:12  superseded  wasm 2.0 allows it\n"), "{text}");
        assert!(text.contains("# total GC: 1 files, 3 directives\n"), "{text}");
        assert_eq!(Expectations::parse(&text), Ok(expectations()));
    }

    #[test]
    fn exact_expectations_pass() {
        let e = expectations();
        assert_eq!(e.check(&report("a.wast", 5, &[], &[("GC", 3), ("tail calls", 1)])), Ok(()));
        assert_eq!(e.check(&report("b.wast", 9, &[12], &[])), Ok(()));
    }

    #[test]
    fn every_difference_fails() {
        let e = expectations();
        let wrong = [
            // A failed directive, whatever the counts.
            report("a.wast", 4, &[7], &[("GC", 3), ("tail calls", 1)]),
            // A listed feature that started to pass.
            report("a.wast", 6, &[], &[("GC", 2), ("tail calls", 1)]),
            report("a.wast", 6, &[], &[("GC", 3)]),
            // More unsupported than listed, or a feature not listed.
            report("a.wast", 4, &[], &[("GC", 4), ("tail calls", 1)]),
            report("b.wast", 9, &[12], &[("threads", 1)]),
            // A superseded directive that passed, or another failure.
            report("b.wast", 10, &[], &[]),
            report("b.wast", 8, &[12, 13], &[]),
            // Nothing ran.
            report("c.wast", 0, &[], &[]),
        ];
        for r in wrong {
            assert!(e.check(&r).is_err(), "{r:?} should not meet the expectations");
        }
    }

    #[test]
    fn blessing_keeps_only_superseded_directives_that_still_fail() {
        let old = expectations();
        let run = [report("a.wast", 6, &[], &[("GC", 2)]), report("b.wast", 9, &[12, 20], &[])];
        let new = Expectations::from_reports(&run, &old);
        assert_eq!(new.unsupported["a.wast"], BTreeMap::from([("GC".to_string(), 2)]));
        assert_eq!(new.superseded["b.wast"], BTreeMap::from([(12, "wasm 2.0 allows it".to_string())]));
        let passed = Expectations::from_reports(&[report("b.wast", 10, &[], &[])], &old);
        assert!(passed.superseded.is_empty());
    }

    #[test]
    fn bad_files_are_errors_with_a_line() {
        for (text, line) in [
            ("a.wast 3\n", "line 1"),
            ("\na.wast x GC\n", "line 2"),
            ("a.wast 0 GC\n", "line 1"),
            ("a.wast 1 GC\na.wast 2 GC\n", "line 2"),
            ("a.wast superseded why\n", "line 1"),
            ("a.wast:x superseded why\n", "line 1"),
            ("a.wast:3 superseded why\na.wast:3 superseded again\n", "line 2"),
            ("a.wast 1 GC\n# total GC: 1 files, 2 directives\n", "totals"),
        ] {
            let e = Expectations::parse(text).unwrap_err();
            assert!(e.contains(line), "{text:?}: {e}");
        }
    }
}

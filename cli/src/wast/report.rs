//! What running a script found: one [`Outcome`] per directive, gathered
//! into a [`Report`] per script.

use std::collections::BTreeMap;

/// How one directive ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It did what the script says.
    Pass,
    /// A module was rejected in the phase the script expects (or a link
    /// failed, for `assert_unlinkable`), but kiln words the reason
    /// differently from the script's text. Counts as passed; the report
    /// keeps both texts.
    PassReworded {
        /// The script's text.
        expected: String,
        /// kiln's reason.
        actual: String,
    },
    /// Anything else that went wrong, explained.
    Fail(String),
    /// kiln reported that it does not implement the named feature, for this
    /// directive or for the module it depends on.
    Unsupported(String),
}

impl Outcome {
    /// The outcome of a rejection that happened as expected: passed, and
    /// reworded when kiln's reason does not start with the script's text
    /// (the reference interpreter's rule for messages).
    pub(crate) fn rejected(expected: &str, actual: &str) -> Outcome {
        if actual.starts_with(expected) {
            Outcome::Pass
        } else {
            Outcome::PassReworded { expected: expected.to_string(), actual: actual.to_string() }
        }
    }
}

/// A directive that passed although kiln gave a different reason than the
/// script's text for rejecting a module or failing to link it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewording {
    /// Line of the directive (1-based).
    pub line: usize,
    /// The script's text.
    pub expected: String,
    /// kiln's reason.
    pub actual: String,
}

/// A directive that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Line of the directive (1-based).
    pub line: usize,
    /// Column of the directive (1-based).
    pub col: usize,
    /// What went wrong.
    pub message: String,
}

/// The outcome of one script.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The script's name (usually its path).
    pub name: String,
    /// Directives that passed.
    pub passed: u32,
    /// Directives that failed.
    pub failed: u32,
    /// Directives kiln reported as unsupported, per feature.
    pub unsupported: BTreeMap<String, u32>,
    /// The unsupported directives one by one: line (1-based) and feature.
    pub unsupported_lines: Vec<(usize, String)>,
    /// The failed directives, in script order.
    pub failures: Vec<Failure>,
    /// Passed directives whose reason kiln words differently.
    pub rewordings: Vec<Rewording>,
}

impl Report {
    /// A report for the script `name` with nothing recorded yet.
    pub fn new(name: &str) -> Report {
        Report { name: name.to_string(), ..Report::default() }
    }

    /// Directives kiln reported as unsupported, over all features.
    pub fn unsupported_total(&self) -> u32 {
        self.unsupported.values().sum()
    }

    /// Total directives counted.
    pub fn total(&self) -> u32 {
        self.passed + self.failed + self.unsupported_total()
    }

    /// The unsupported features as one short string, most frequent first:
    /// `GC (12), exception handling (3)`.
    pub fn unsupported_summary(&self) -> String {
        let mut features: Vec<_> = self.unsupported.iter().collect();
        features.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        features.iter().map(|(f, n)| format!("{f} ({n})")).collect::<Vec<_>>().join(", ")
    }

    /// A failure as one line: `name:line:col: what went wrong`.
    pub fn describe(&self, failure: &Failure) -> String {
        format!("{}:{}:{}: {}", self.name, failure.line, failure.col, failure.message)
    }

    /// Records the outcome of the directive at `line`:`col` (1-based).
    pub(crate) fn record(&mut self, line: usize, col: usize, outcome: Outcome) {
        match outcome {
            Outcome::Pass => self.passed += 1,
            Outcome::PassReworded { expected, actual } => {
                self.passed += 1;
                self.rewordings.push(Rewording { line, expected, actual });
            }
            Outcome::Fail(message) => {
                self.failed += 1;
                self.failures.push(Failure { line, col, message });
            }
            Outcome::Unsupported(feature) => {
                *self.unsupported.entry(feature.clone()).or_default() += 1;
                self.unsupported_lines.push((line, feature));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_counted() {
        let mut report = Report::new("t.wast");
        report.record(1, 1, Outcome::Pass);
        report.record(2, 1, Outcome::rejected("type mismatch", "type mismatch: expected i32, found i64"));
        report.record(3, 1, Outcome::rejected("unknown global", "global index out of bounds"));
        report.record(4, 3, Outcome::Fail("wrong".into()));
        report.record(5, 1, Outcome::Unsupported("GC".into()));
        report.record(6, 1, Outcome::Unsupported("GC".into()));
        report.record(7, 1, Outcome::Unsupported("tail calls".into()));
        assert_eq!((report.passed, report.failed, report.unsupported_total(), report.total()), (3, 1, 3, 7));
        assert_eq!(report.failures.iter().map(|f| report.describe(f)).collect::<Vec<_>>(), ["t.wast:4:3: wrong"]);
        assert_eq!(report.unsupported_summary(), "GC (2), tail calls (1)");
        assert_eq!(
            report.rewordings,
            [Rewording { line: 3, expected: "unknown global".into(), actual: "global index out of bounds".into() }]
        );
    }
}

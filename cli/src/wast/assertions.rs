//! The assertions about modules that must not make it: each passes only
//! when kiln rejects the module in the phase the assertion names.
//!
//! * `assert_malformed`: the text parser (for a module in the text format)
//!   or the decoder must reject it — validation rejecting it is a failure;
//! * `assert_invalid`: validation must reject it — a module that does not
//!   decode, or whose text does not assemble, is a failure;
//! * `assert_unlinkable`: the module compiles, and linking its imports
//!   fails — a trap in its start function is a failure;
//! * `assert_malformed_custom` / `assert_invalid_custom`: the same for the
//!   annotations and custom sections that proposals define (branch hints,
//!   `@custom`, `@name`).
//!
//! kiln's reasons are the text parser's, decoder's or validator's own
//! messages, which often word things differently from the spec's
//! reference interpreter; a rejection in the right phase passes, and when
//! kiln's reason does not start with the script's text both are kept in
//! the report ([`super::report::Rewording`]).
//!
//! A module kiln reports as unsupported makes the assertion unsupported
//! for that feature, except under `assert_invalid` when the feature is a
//! proposal past wasm 3.0 (stack switching, custom descriptors): such a
//! module is invalid in the standard kiln implements, which is what the
//! assertion checks.

use super::env::{InstantiateFailure, Rejection};
use super::report::Outcome;
use super::runner::{Runner, first_line};
use wast::{QuoteWat, Wat};

impl Runner {
    pub(super) fn assert_invalid(&mut self, mut module: QuoteWat<'_>, message: &str) -> Outcome {
        let bytes = match module.encode() {
            Ok(bytes) => bytes,
            Err(e) => {
                let e = first_line(&e.to_string()).to_string();
                return Outcome::Fail(format!("the module text does not assemble ({e}); expected `{message}`"));
            }
        };
        match self.env.validate(&bytes) {
            Ok(()) => Outcome::Fail(format!("kiln accepted the module; expected it invalid: `{message}`")),
            Err(Rejection::Invalid(reason)) => Outcome::rejected(message, &reason),
            Err(Rejection::Malformed(reason)) => Outcome::Fail(format!(
                "kiln rejected the module while decoding (`{reason}`); expected it invalid: `{message}`"
            )),
            // Valid only with a proposal past wasm 3.0 (a tag with results
            // needs stack switching): invalid in the standard kiln
            // implements, as the script says.
            Err(Rejection::Unsupported(feature)) if kiln_llvm::beyond_wasm3(&feature) => {
                Outcome::rejected(message, &format!("valid only with {feature}, which is not part of wasm 3.0"))
            }
            Err(Rejection::Unsupported(feature)) => Outcome::Unsupported(feature),
            Err(Rejection::Other(e)) => Outcome::Fail(e),
        }
    }

    pub(super) fn assert_malformed(&mut self, mut module: QuoteWat<'_>, message: &str) -> Outcome {
        let bytes = match module.encode() {
            Ok(bytes) => bytes,
            Err(e) => return Outcome::rejected(message, first_line(&e.to_string())),
        };
        match self.env.validate(&bytes) {
            Ok(()) => Outcome::Fail(format!("kiln accepted the module; expected it malformed: `{message}`")),
            Err(Rejection::Malformed(reason)) => Outcome::rejected(message, &reason),
            Err(Rejection::Invalid(reason)) => Outcome::Fail(format!(
                "kiln decoded the module and rejected it in validation (`{reason}`); expected it malformed: \
                 `{message}`"
            )),
            Err(Rejection::Unsupported(feature)) => Outcome::Unsupported(feature),
            Err(Rejection::Other(e)) => Outcome::Fail(e),
        }
    }

    pub(super) fn assert_unlinkable(&mut self, module: Wat<'_>, message: &str) -> Outcome {
        let module = match self.module(&mut QuoteWat::Wat(module)) {
            Ok(m) => m,
            Err(u) => return u.outcome(self.line),
        };
        if let Some(u) = self.missing_import(&module) {
            return u.outcome(self.line);
        }
        match self.env.instantiate(&module) {
            Ok(_) => Outcome::Fail(format!("the module instantiated; expected a link error: `{message}`")),
            Err(InstantiateFailure::Link(reason)) => Outcome::rejected(message, &reason),
            Err(InstantiateFailure::Trap(t)) => {
                Outcome::Fail(format!("trapped during instantiation (`{t}`); expected a link error: `{message}`"))
            }
            Err(InstantiateFailure::Unsupported(feature)) => Outcome::Unsupported(feature),
            Err(InstantiateFailure::Other(e)) => Outcome::Fail(e),
        }
    }

    /// The annotation's text must be rejected by the text parser.
    pub(super) fn assert_malformed_custom(&mut self, mut module: QuoteWat<'_>, message: &str) -> Outcome {
        match module.encode() {
            Err(e) => Outcome::rejected(message, first_line(&e.to_string())),
            Ok(_) => Outcome::Fail(format!("the text parser accepted the module; expected `{message}`")),
        }
    }

    /// The module is valid, but a custom section in it is not. The custom
    /// section proposals define that kiln reads is the branch-hint section
    /// ([`kiln_llvm::check_branch_hints`]); kiln compiles such a module
    /// and ignores the section, and the assertion passes when kiln finds
    /// the section wrong.
    pub(super) fn assert_invalid_custom(&mut self, mut module: QuoteWat<'_>, message: &str) -> Outcome {
        let bytes = match module.encode() {
            Ok(bytes) => bytes,
            Err(e) => {
                let e = first_line(&e.to_string()).to_string();
                return Outcome::Fail(format!("the module text does not assemble ({e}); expected `{message}`"));
            }
        };
        if let Err(u) = self.compile(&bytes) {
            return u.outcome(self.line);
        }
        match kiln_llvm::check_branch_hints(&bytes) {
            Some(reason) => Outcome::rejected(message, &format!("@metadata.code.branch_hint annotation: {reason}")),
            None => Outcome::Fail(format!("kiln accepted the module and its custom sections; expected `{message}`")),
        }
    }
}

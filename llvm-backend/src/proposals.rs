//! The WebAssembly proposals kiln implements beyond wasm 1.0, by name:
//! which of them a module uses (`kiln inspect`), and turning each off
//! (`--features -tail-call`), so that a build can promise its artifacts
//! need nothing newer than a chosen set of engines supports.
//!
//! A module uses a proposal when it does not validate without it. That
//! is the validator's own answer, so it is exact whatever construct needs
//! the proposal (an instruction, a value type, a second memory, a
//! multi-value block type), at the price of one validation per proposal,
//! which is why it is asked only by `kiln inspect` and when a module is
//! refused for a proposal turned off.

use crate::error::CompileError;
use crate::validate::KILN_FEATURES;
use wasmparser::{Validator, WasmFeatures};

/// A proposal kiln implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WasmProposal {
    /// How `--features` names it (`tail-call`), after the proposal's
    /// repository.
    pub flag: &'static str,
    /// The name users read (`tail calls`).
    pub name: &'static str,
    /// Its bit in wasmparser's feature set.
    features: WasmFeatures,
    /// The proposals it builds on, whose absence turns it off too.
    requires: WasmFeatures,
}

const fn proposal(flag: &'static str, name: &'static str, features: WasmFeatures) -> WasmProposal {
    WasmProposal { flag, name, features, requires: WasmFeatures::empty() }
}

/// Every proposal in [`KILN_FEATURES`] beyond wasm 1.0, in the order of
/// the standards that took them in.
pub const KILN_PROPOSALS: &[WasmProposal] = &[
    proposal("sign-extension", "sign-extension operators", WasmFeatures::SIGN_EXTENSION),
    proposal("saturating-float-to-int", "non-trapping float-to-int conversions", WasmFeatures::SATURATING_FLOAT_TO_INT),
    proposal("multi-value", "multiple values", WasmFeatures::MULTI_VALUE),
    proposal("reference-types", "reference types", WasmFeatures::REFERENCE_TYPES),
    proposal("bulk-memory", "bulk memory", WasmFeatures::BULK_MEMORY),
    proposal("simd", "SIMD", WasmFeatures::SIMD),
    WasmProposal { requires: WasmFeatures::SIMD, ..proposal("relaxed-simd", "relaxed SIMD", WasmFeatures::RELAXED_SIMD) },
    WasmProposal {
        requires: WasmFeatures::REFERENCE_TYPES,
        ..proposal("function-references", "typed function references", WasmFeatures::FUNCTION_REFERENCES)
    },
    proposal("extended-const", "extended constant expressions", WasmFeatures::EXTENDED_CONST),
    proposal("multi-memory", "multiple memories", WasmFeatures::MULTI_MEMORY),
    proposal("tail-call", "tail calls", WasmFeatures::TAIL_CALL),
    proposal("wide-arithmetic", "wide arithmetic", WasmFeatures::WIDE_ARITHMETIC),
    proposal("memory64", "memory64 and table64", WasmFeatures::MEMORY64),
    proposal("custom-page-sizes", "custom page sizes", WasmFeatures::CUSTOM_PAGE_SIZES),
    WasmProposal {
        requires: WasmFeatures::REFERENCE_TYPES,
        ..proposal("exceptions", "exception handling", WasmFeatures::EXCEPTIONS)
    },
    WasmProposal {
        requires: WasmFeatures::EXCEPTIONS,
        ..proposal("legacy-exceptions", "legacy exception handling", WasmFeatures::LEGACY_EXCEPTIONS)
    },
    proposal("threads", "threads", WasmFeatures::THREADS),
];

/// Proposals kiln knows by name but does not implement yet: asking for
/// one is an error that says so, not an unknown name.
const NOT_YET: &[(&str, &str)] = &[
    ("gc", "GC"),
    ("stack-switching", "stack switching"),
];

/// The proposal `--features` calls `flag`, if kiln implements it.
pub fn proposal_by_flag(flag: &str) -> Option<&'static WasmProposal> {
    KILN_PROPOSALS.iter().find(|p| p.flag == flag)
}

/// Whether `flag` names a WebAssembly proposal (implemented or not), as
/// opposed to a CPU feature.
pub fn is_proposal_flag(flag: &str) -> bool {
    proposal_by_flag(flag).is_some() || NOT_YET.iter().any(|(f, _)| *f == flag)
}

/// Splits a `--features` list into CPU features (`+avx2`, kept as they
/// are for the target to check) and the WebAssembly proposals it turns
/// off (`-tail-call` gives `tail-call`). `+` on a proposal kiln implements
/// changes nothing (they are all on); on one it does not, it is an error.
pub fn split_features(list: &[String]) -> Result<(Vec<String>, Vec<String>), CompileError> {
    let (mut cpu, mut disabled) = (Vec::new(), Vec::new());
    for entry in list {
        let (sign, name) = match entry.split_at_checked(1) {
            Some((sign @ ("+" | "-"), name)) => (sign, name),
            _ => ("", entry.as_str()),
        };
        if !is_proposal_flag(name) {
            cpu.push(entry.clone());
            continue;
        }
        match sign {
            "-" => disabled.push(name.to_string()),
            "+" if proposal_by_flag(name).is_some() => {}
            "+" => return Err(not_implemented(name)),
            _ => {
                return Err(CompileError::Proposal(format!(
                    "`{name}` is a WebAssembly proposal: write `-{name}` to turn it off (all are on by default)"
                )));
            }
        }
    }
    enabled(&disabled)?;
    Ok((cpu, disabled))
}

/// Why `flag` names no proposal kiln implements: one it does not
/// implement yet, or no proposal at all.
fn not_implemented(flag: &str) -> CompileError {
    let known: Vec<&str> = KILN_PROPOSALS.iter().map(|p| p.flag).collect();
    CompileError::Proposal(match NOT_YET.iter().find(|(f, _)| *f == flag) {
        Some((_, name)) => format!("kiln does not implement {name} yet, so there is nothing to turn off"),
        None => format!("unknown WebAssembly proposal `{flag}`; kiln's are {}", known.join(", ")),
    })
}

/// The features a module may use when the proposals `disabled` (flags)
/// are turned off, with every proposal that builds on one of them.
pub(crate) fn enabled(disabled: &[String]) -> Result<WasmFeatures, CompileError> {
    let mut features = KILN_FEATURES;
    for flag in disabled {
        let Some(proposal) = proposal_by_flag(flag) else { return Err(not_implemented(flag)) };
        features.remove(proposal.features);
    }
    for proposal in KILN_PROPOSALS {
        if !features.contains(proposal.requires) {
            features.remove(proposal.features);
        }
    }
    Ok(features)
}

/// The proposals a valid module uses: those it does not validate without.
/// Errors with the validator's answer if it is not valid under
/// [`KILN_FEATURES`].
pub fn proposals_used(wasm: &[u8]) -> Result<Vec<&'static WasmProposal>, CompileError> {
    crate::validate::validate(wasm, KILN_FEATURES)?;
    Ok(KILN_PROPOSALS
        .iter()
        .filter(|p| {
            let without = enabled(&[p.flag.to_string()]).unwrap_or(KILN_FEATURES);
            Validator::new_with_features(without).validate_all(wasm).is_err()
        })
        .collect())
}

/// The proposal turned off that the construct at `offset`, where
/// validation under `enabled` stopped, needs: the one whose return lets
/// validation get past that point.
pub(crate) fn needed_of_disabled(wasm: &[u8], enabled: WasmFeatures, offset: usize) -> Option<&'static WasmProposal> {
    KILN_PROPOSALS.iter().filter(|p| !enabled.contains(p.features)).find(|p| {
        let with = enabled.union(p.features).union(p.requires);
        Validator::new_with_features(with).validate_all(wasm).map_or_else(|e| e.offset() as usize > offset, |_| true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wat(text: &str) -> Vec<u8> {
        wat::parse_str(text).unwrap()
    }

    fn flags(wasm: &[u8]) -> Vec<&'static str> {
        proposals_used(wasm).unwrap().iter().map(|p| p.flag).collect()
    }

    #[test]
    fn every_proposal_is_one_kiln_implements() {
        let all = KILN_PROPOSALS.iter().fold(WasmFeatures::WASM1, |f, p| f.union(p.features));
        assert_eq!(all, KILN_FEATURES);
    }

    #[test]
    fn the_validator_says_what_a_module_uses() {
        assert_eq!(flags(&wat("(module (func (result i32) (i32.const 1)))")), Vec::<&str>::new());
        assert_eq!(flags(&wat("(module (func $f (return_call $f)))")), ["tail-call"]);
        let simd = wat("(module (func (param v128 v128) (result v128) (i8x16.relaxed_swizzle (local.get 0) (local.get 1))))");
        assert_eq!(flags(&simd), ["simd", "relaxed-simd"]);
        let two = wat("(module (memory 1) (memory 1) (func (result i32) (i32.const 1) (i32.const 2) (i32.add)))");
        assert_eq!(flags(&two), ["multi-memory"]);
        let pair = wat("(module (func (result i32 i64) (i32.const 1) (i64.const 2)))");
        assert_eq!(flags(&pair), ["multi-value"]);
        assert_eq!(flags(&wat("(module (memory 1 1 shared))")), ["threads"]);
        let atomic = wat("(module (memory 1) (func (result i32) (i32.atomic.load (i32.const 0))))");
        assert_eq!(flags(&atomic), ["threads"]);
    }

    #[test]
    fn turning_one_off_turns_off_what_builds_on_it() {
        let features = enabled(&["simd".into()]).unwrap();
        assert!(!features.contains(WasmFeatures::SIMD) && !features.contains(WasmFeatures::RELAXED_SIMD));
        assert!(features.contains(WasmFeatures::TAIL_CALL));
        // Both turned off: the first use found names its own proposal.
        let both = wat("(module (func $f (param v128)) (func $g (return_call $g)))");
        let off = enabled(&["tail-call".into(), "simd".into()]).unwrap();
        let Err(error) = Validator::new_with_features(off).validate_all(&both) else { panic!("valid without them") };
        assert_eq!(needed_of_disabled(&both, off, error.offset() as usize).map(|p| p.flag), Some("simd"));
        assert!(matches!(enabled(&["gc".into()]), Err(CompileError::Proposal(m)) if m.contains("does not implement GC")));
        assert!(matches!(enabled(&["avx2".into()]), Err(CompileError::Proposal(m)) if m.contains("unknown WebAssembly proposal")));
    }

    #[test]
    fn a_features_list_splits_into_cpu_features_and_proposals() {
        let list: Vec<String> = ["+avx2", "-tail-call", "+simd", "-sse4.2", "-relaxed-simd"].map(String::from).to_vec();
        let (cpu, disabled) = split_features(&list).unwrap();
        assert_eq!(cpu, ["+avx2", "-sse4.2"]);
        assert_eq!(disabled, ["tail-call", "relaxed-simd"]);
        let e = split_features(&["+gc".to_string()]).unwrap_err().to_string();
        assert!(e.contains("does not implement GC"), "{e}");
        let (_, disabled) = split_features(&["-threads".to_string(), "-custom-page-sizes".to_string()]).unwrap();
        assert_eq!(disabled, ["threads", "custom-page-sizes"]);
        let (_, disabled) = split_features(&["-exceptions".to_string()]).unwrap();
        assert_eq!(disabled, ["exceptions"]);
        let features = enabled(&disabled).unwrap();
        assert!(!features.contains(WasmFeatures::EXCEPTIONS) && !features.contains(WasmFeatures::LEGACY_EXCEPTIONS));
        let e = split_features(&["simd".to_string()]).unwrap_err().to_string();
        assert!(e.contains("write `-simd`"), "{e}");
    }
}

//! Validation: nothing is lowered before `wasmparser` has accepted it.
//!
//! The module is validated with [`KILN_FEATURES`], the proposals kiln
//! implements. When that fails, the question is whether the input is broken
//! or merely ahead of kiln: it is validated again with every proposal
//! wasmparser knows. If that succeeds the module is fine and kiln is
//! missing a feature ([`CompileError::Unsupported`], which the spec-test
//! runner reports as skipped, not failed); otherwise the first error is the
//! answer ([`CompileError::Invalid`]). To name the missing feature, each
//! proposal is tried on its own on top of kiln's set; the validator's
//! message is the fallback when more than one is needed.
//!
//! Errors carry the byte offset from wasmparser and, when the offset lies in
//! a function body, that function's index, found by parsing the module
//! leniently for its body ranges.

use crate::error::CompileError;
use wasmparser::{Parser, Payload, TypeRef, Validator, WasmFeatures};

/// The WebAssembly features kiln compiles today. Widen this one constant
/// (and implement the operators) to support another proposal.
///
/// Wasm 2.0 without SIMD, plus typed function references (a 3.0 proposal:
/// `(ref $t)`, `call_ref`, `br_on_null`, non-nullable locals, table
/// initializers), which spec scripts mix into otherwise-2.0 modules.
pub const KILN_FEATURES: WasmFeatures = WasmFeatures::WASM1
    .union(WasmFeatures::SIGN_EXTENSION)
    .union(WasmFeatures::SATURATING_FLOAT_TO_INT)
    .union(WasmFeatures::MULTI_VALUE)
    .union(WasmFeatures::REFERENCE_TYPES)
    .union(WasmFeatures::BULK_MEMORY)
    .union(WasmFeatures::FUNCTION_REFERENCES)
    .union(WasmFeatures::SIMD);

/// A proposal beyond [`KILN_FEATURES`], as kiln names it in errors.
struct Proposal {
    /// wasmparser's name for it in `for_each_operator!` (`@simd`).
    ident: &'static str,
    /// The name users see.
    name: &'static str,
    /// The features it needs on top of kiln's (including the ones it
    /// depends on).
    features: WasmFeatures,
}

/// Candidate proposals, smallest first, so the first one that makes a module
/// valid is the most specific name.
const PROPOSALS: &[Proposal] = &[
    Proposal { ident: "simd", name: "SIMD", features: WasmFeatures::SIMD },
    Proposal {
        ident: "relaxed_simd",
        name: "relaxed SIMD",
        features: WasmFeatures::SIMD.union(WasmFeatures::RELAXED_SIMD),
    },
    Proposal { ident: "reference_types", name: "reference types", features: WasmFeatures::REFERENCE_TYPES },
    Proposal { ident: "bulk_memory", name: "bulk memory", features: WasmFeatures::BULK_MEMORY },
    Proposal { ident: "multi_memory", name: "multiple memories", features: WasmFeatures::MULTI_MEMORY },
    Proposal { ident: "memory64", name: "memory64", features: WasmFeatures::MEMORY64 },
    Proposal { ident: "tail_call", name: "tail calls", features: WasmFeatures::TAIL_CALL },
    Proposal { ident: "extended_const", name: "extended constant expressions", features: WasmFeatures::EXTENDED_CONST },
    Proposal { ident: "threads", name: "threads", features: WasmFeatures::THREADS },
    Proposal { ident: "wide_arithmetic", name: "wide arithmetic", features: WasmFeatures::WIDE_ARITHMETIC },
    Proposal { ident: "custom_page_sizes", name: "custom page sizes", features: WasmFeatures::CUSTOM_PAGE_SIZES },
    Proposal {
        ident: "exceptions",
        name: "exception handling",
        features: WasmFeatures::EXCEPTIONS.union(WasmFeatures::REFERENCE_TYPES),
    },
    Proposal {
        ident: "legacy_exceptions",
        name: "legacy exception handling",
        features: WasmFeatures::LEGACY_EXCEPTIONS,
    },
    Proposal {
        ident: "function_references",
        name: "typed function references",
        features: WasmFeatures::FUNCTION_REFERENCES.union(WasmFeatures::REFERENCE_TYPES),
    },
    Proposal {
        ident: "gc",
        name: "GC",
        features: WasmFeatures::GC.union(WasmFeatures::FUNCTION_REFERENCES).union(WasmFeatures::REFERENCE_TYPES),
    },
    Proposal {
        ident: "stack_switching",
        name: "stack switching",
        features: WasmFeatures::STACK_SWITCHING
            .union(WasmFeatures::EXCEPTIONS)
            .union(WasmFeatures::FUNCTION_REFERENCES)
            .union(WasmFeatures::REFERENCE_TYPES),
    },
    Proposal { ident: "shared_everything_threads", name: "shared-everything threads", features: WasmFeatures::all() },
    Proposal { ident: "acquire_release_atomics", name: "acquire-release atomics", features: WasmFeatures::all() },
    Proposal { ident: "custom_descriptors", name: "custom descriptors", features: WasmFeatures::all() },
];

/// The user-facing name of a wasmparser proposal (`"simd"` → `"SIMD"`),
/// also accepting the spellings validator messages use.
pub(crate) fn proposal_name(ident: &str) -> &str {
    let canonical = match ident {
        "exception_handling" => "exceptions",
        "multiple_memories" => "multi_memory",
        "tail_calls" => "tail_call",
        other => other,
    };
    PROPOSALS.iter().find(|p| p.ident.eq_ignore_ascii_case(canonical)).map_or(ident, |p| p.name)
}

/// Validates `wasm` against [`KILN_FEATURES`].
pub(crate) fn validate(wasm: &[u8]) -> Result<(), CompileError> {
    let Err(error) = Validator::new_with_features(KILN_FEATURES).validate_all(wasm) else {
        return Ok(());
    };
    let offset = error.offset() as usize;
    let func_index = function_at(wasm, error.offset());
    if Validator::new_with_features(WasmFeatures::all()).validate_all(wasm).is_err() {
        return Err(CompileError::Invalid { message: error.message().to_string(), offset, func_index });
    }
    let feature = PROPOSALS
        .iter()
        .filter(|p| p.features != WasmFeatures::all())
        .find(|p| Validator::new_with_features(KILN_FEATURES.union(p.features)).validate_all(wasm).is_ok())
        .map_or_else(|| feature_from_message(error.message()), |p| p.name.to_string());
    Err(CompileError::Unsupported { feature, offset, func_index })
}

/// Names the feature a validator message complains about: "bulk memory"
/// from "bulk memory support is not enabled", "GC" from "gc proposal must
/// be enabled to use subtypes", "... requires `gc` proposal to be enabled"
/// or "... not supported without the gc feature"; the whole message if it
/// follows none of these shapes.
fn feature_from_message(message: &str) -> String {
    const SUFFIXES: &[&str] =
        &[" support is not enabled", " proposal not enabled", " is not enabled", " are not enabled"];
    let named = SUFFIXES
        .iter()
        .find_map(|s| message.strip_suffix(s))
        .or_else(|| message.split_once(" proposal must be enabled").map(|(name, _)| name))
        .or_else(|| {
            message
                .strip_suffix(" feature")
                .and_then(|head| head.rsplit_once(" not supported without the "))
                .map(|(_, name)| name)
        })
        .or_else(|| {
            message
                .split_once(" proposal to be enabled")
                .and_then(|(head, _)| head.rsplit_once(' '))
                .map(|(_, name)| name)
        });
    match named {
        Some(name) => {
            let name = name.trim_matches('`');
            let ident = name.replace(['-', ' '], "_");
            match proposal_name(&ident) {
                known if known != ident => known.to_string(),
                _ => name.to_string(),
            }
        }
        None => message.to_string(),
    }
}

/// The index (in the function index space) of the function whose body
/// contains byte `offset`, if any. Parses leniently: a module broken
/// further on still yields the bodies before the break.
fn function_at(wasm: &[u8], offset: u64) -> Option<u32> {
    let mut imported = 0u32;
    let mut defined = 0u32;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.ok()? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if matches!(import.ok()?.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        imported += 1;
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                if body.range().contains(&offset) || body.range().end == offset {
                    return Some(imported + defined);
                }
                defined += 1;
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_feature() {
        assert_eq!(feature_from_message("bulk memory support is not enabled"), "bulk memory");
        assert_eq!(feature_from_message("exceptions proposal not enabled"), "exception handling");
        assert_eq!(feature_from_message("gc proposal must be enabled to use subtypes"), "GC");
        assert_eq!(feature_from_message("rec group usage requires `gc` proposal to be enabled"), "GC");
        assert_eq!(feature_from_message("SIMD support is not enabled"), "SIMD");
        assert_eq!(feature_from_message("array indexed types not supported without the gc feature"), "GC");
        assert_eq!(
            feature_from_message("exception refs not supported without the exception handling feature"),
            "exception handling"
        );
        assert_eq!(feature_from_message("something else"), "something else");
    }

    #[test]
    fn proposal_idents_map_to_names() {
        assert_eq!(proposal_name("simd"), "SIMD");
        assert_eq!(proposal_name("tail_call"), "tail calls");
        assert_eq!(proposal_name("unheard_of"), "unheard_of");
    }
}

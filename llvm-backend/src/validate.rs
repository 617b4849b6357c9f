//! Validation: nothing is lowered before `wasmparser` has accepted it.
//!
//! The module is validated with [`KILN_FEATURES`], the proposals kiln
//! implements. When that fails, the error says which of three things is
//! true, in this order:
//!
//! 1. the module is fine but ahead of kiln ([`CompileError::Unsupported`]):
//!    it is valid under the newest standard plus every proposal kiln can
//!    name, or under every proposal wasmparser knows. The feature named is
//!    the one proposal that makes it valid on top of kiln's (tried one at a
//!    time, smallest first, so the name is the most specific one), else the
//!    first pair that does, else the proposal the validator's message
//!    names;
//! 2. it is *malformed* ([`CompileError::Malformed`]): it does not decode
//!    under the binary format of the newest standard ([`crate::decode`]);
//! 3. it is *invalid* ([`CompileError::Invalid`]), with the newest
//!    standard's validator message — unless kiln's own validation stopped
//!    at a construct of a proposal kiln lacks and says so ("gc proposal
//!    must be enabled ..."): kiln cannot judge the rest of such a module,
//!    so that too is `Unsupported`, for the proposal named.
//!
//! The spec-test runner relies on the distinction: `assert_malformed`
//! expects (2), `assert_invalid` expects (3), and (1) is what it counts as
//! unsupported.
//!
//! Errors carry the byte offset from wasmparser and, when the offset lies in
//! a function body, that function's index, found by parsing the module
//! leniently for its body ranges.

use crate::error::CompileError;
use wasmparser::{Parser, Payload, TypeRef, Validator, WasmFeatures};

/// The WebAssembly features kiln compiles today. Widen this one constant
/// (and implement the operators) to support another proposal.
///
/// Wasm 2.0 (with SIMD), plus from 3.0: typed function references
/// (`(ref $t)`, `call_ref`, `br_on_null`, non-nullable locals, table
/// initializers), which spec scripts mix into otherwise-2.0 modules, and
/// extended constant expressions (`i32`/`i64` `add`, `sub`, `mul` in
/// initializers and offsets), and multiple memories (a memory index on
/// every memory instruction, data segment, import and export); and the
/// wide-arithmetic proposal (`i64.add128`, `i64.sub128`,
/// `i64.mul_wide_s/u`), relaxed SIMD, tail calls, 64-bit memories and
/// tables (memory64 and table64, one wasmparser feature), custom page
/// sizes (memories of one-byte pages), exception handling (and its legacy
/// instructions), and threads (shared memories, atomic accesses,
/// `memory.atomic.wait/notify`).
pub const KILN_FEATURES: WasmFeatures = WasmFeatures::WASM1
    .union(WasmFeatures::SIGN_EXTENSION)
    .union(WasmFeatures::SATURATING_FLOAT_TO_INT)
    .union(WasmFeatures::MULTI_VALUE)
    .union(WasmFeatures::REFERENCE_TYPES)
    .union(WasmFeatures::BULK_MEMORY)
    .union(WasmFeatures::FUNCTION_REFERENCES)
    .union(WasmFeatures::EXTENDED_CONST)
    .union(WasmFeatures::MULTI_MEMORY)
    .union(WasmFeatures::WIDE_ARITHMETIC)
    .union(WasmFeatures::SIMD)
    .union(WasmFeatures::RELAXED_SIMD)
    .union(WasmFeatures::TAIL_CALL)
    .union(WasmFeatures::MEMORY64)
    .union(WasmFeatures::CUSTOM_PAGE_SIZES)
    .union(WasmFeatures::EXCEPTIONS)
    .union(WasmFeatures::LEGACY_EXCEPTIONS)
    .union(WasmFeatures::THREADS);

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
    Proposal { ident: "reference_types", name: "reference types", features: WasmFeatures::REFERENCE_TYPES },
    Proposal { ident: "bulk_memory", name: "bulk memory", features: WasmFeatures::BULK_MEMORY },
    Proposal { ident: "extended_const", name: "extended constant expressions", features: WasmFeatures::EXTENDED_CONST },
    Proposal { ident: "threads", name: "threads", features: WasmFeatures::THREADS },
    Proposal { ident: "wide_arithmetic", name: "wide arithmetic", features: WasmFeatures::WIDE_ARITHMETIC },
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
        other => other,
    };
    PROPOSALS.iter().find(|p| p.ident.eq_ignore_ascii_case(canonical)).map_or(ident, |p| p.name)
}

/// The newest standard (wasm 3.0) plus every proposal kiln can name that
/// does not change what a 3.0 binary means: the reference for telling
/// malformed, invalid and unsupported modules apart. (wasmparser's full set
/// also has proposals that give meaning to bits 3.0 reserves, such as
/// atomic orderings in memory arguments.)
const STANDARD: WasmFeatures = {
    let mut features = KILN_FEATURES.union(WasmFeatures::WASM3);
    let mut i = 0;
    while i < PROPOSALS.len() {
        if PROPOSALS[i].features.bits() != WasmFeatures::all().bits() {
            features = features.union(PROPOSALS[i].features);
        }
        i += 1;
    }
    features
};

/// Validates `wasm` against `enabled`: [`KILN_FEATURES`], or fewer when
/// the options turned proposals off.
pub(crate) fn validate(wasm: &[u8], enabled: WasmFeatures) -> Result<(), CompileError> {
    let Err(error) = validate_with(wasm, enabled) else {
        return Ok(());
    };
    let under_kiln = if enabled == KILN_FEATURES { Err(error.clone()) } else { validate_with(wasm, KILN_FEATURES) };
    let Err(error) = under_kiln else {
        let offset = error.offset();
        let proposal = crate::proposals::needed_of_disabled(wasm, enabled, offset as usize)
            .ok_or_else(|| CompileError::internal("no proposal turned off explains the validation error"))?;
        let (feature, flag) = (proposal.name.to_string(), proposal.flag.to_string());
        return Err(CompileError::Disabled { feature, flag, offset: offset as usize, func_index: function_at(wasm, offset) });
    };
    let unsupported = |feature: String| {
        let offset = error.offset() as usize;
        Err(CompileError::Unsupported { feature, offset, func_index: function_at(wasm, error.offset()) })
    };
    let standard = validate_with(wasm, STANDARD);
    if standard.is_ok() || validate_with(wasm, WasmFeatures::all()).is_ok() {
        let feature = missing_proposals(wasm)
            .or_else(|| named_proposal(error.message()).map(str::to_string))
            .unwrap_or_else(|| format!("several proposals ({})", error.message()));
        return unsupported(feature);
    }
    crate::decode::decode(wasm, STANDARD)?;
    if let Some(name) = named_proposal(error.message()) {
        return unsupported(name.to_string());
    }
    let error = standard.err().unwrap_or(error);
    let (message, offset) = (error.message().to_string(), error.offset());
    Err(CompileError::Invalid { message, offset: offset as usize, func_index: function_at(wasm, offset) })
}

/// Whether `feature`, a name [`CompileError::Unsupported`] gives (one
/// proposal, or two joined by ` + `), needs a proposal that is not part of
/// WebAssembly 3.0, such as stack switching or custom descriptors. A module
/// that needs one is invalid under the 3.0 standard, which is what a 3.0
/// test script asserting it invalid checks.
pub fn beyond_wasm3(feature: &str) -> bool {
    feature.split(" + ").any(|name| {
        PROPOSALS.iter().any(|p| p.name == name && !WasmFeatures::WASM3.union(KILN_FEATURES).contains(p.features))
    })
}

fn validate_with(wasm: &[u8], features: WasmFeatures) -> Result<(), wasmparser::BinaryReaderError> {
    Validator::new_with_features(features).validate_all(wasm).map(drop)
}

/// The proposals that, added to kiln's features, make `wasm` valid: the
/// first single one that does, else the first pair, named `"A + B"`.
fn missing_proposals(wasm: &[u8]) -> Option<String> {
    // Proposals kiln has since implemented stay in the list for their
    // names in validator messages, but adding them changes nothing.
    let candidates: Vec<&Proposal> =
        PROPOSALS.iter().filter(|p| p.features != WasmFeatures::all() && !KILN_FEATURES.contains(p.features)).collect();
    let valid_with = |features: WasmFeatures| validate_with(wasm, KILN_FEATURES.union(features)).is_ok();
    if let Some(p) = candidates.iter().find(|p| valid_with(p.features)) {
        return Some(p.name.to_string());
    }
    for (i, first) in candidates.iter().enumerate() {
        if let Some(second) = candidates[i + 1..].iter().find(|q| valid_with(first.features.union(q.features))) {
            return Some(format!("{} + {}", first.name, second.name));
        }
    }
    None
}

/// The proposal a validator message says must be enabled, by kiln's name
/// for it: "GC" from "gc proposal must be enabled to use subtypes", "...
/// requires `gc` proposal to be enabled", "... not supported without the
/// gc feature" or "... because the GC proposal is disabled"; "bulk memory"
/// from "bulk memory support is not enabled"; "custom descriptors" from
/// "custom descriptors required for exact reference types". `None` when
/// the message does not say a proposal is missing.
fn named_proposal(message: &str) -> Option<&'static str> {
    const MISSING: &[&str] = &[
        "not enabled",
        "must be enabled",
        "to be enabled",
        "is disabled",
        "not supported without the",
        "required for",
        "feature required",
    ];
    let lower = message.to_ascii_lowercase();
    if !MISSING.iter().any(|m| lower.contains(m)) {
        return None;
    }
    let words: Vec<&str> =
        lower.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == ' ')).collect();
    // Longest spelling first, so "legacy exceptions" is not read as
    // "exceptions".
    let mut spellings: Vec<(String, &'static str)> = PROPOSALS
        .iter()
        .flat_map(|p| {
            let from_ident = p.ident.replace('_', " ");
            [(p.ident.to_string(), p.name), (from_ident, p.name), (p.name.to_ascii_lowercase(), p.name)]
        })
        .chain(ALIASES.iter().map(|(spelling, ident)| (spelling.to_string(), proposal_name(ident))))
        .collect();
    spellings.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
    spellings.into_iter().find_map(|(spelling, name)| {
        let found = words.iter().any(|w| contains_words(&w.replace(['-', '_'], " "), &spelling.replace('_', " ")));
        found.then_some(name).filter(|name| PROPOSALS.iter().any(|p| p.name == *name))
    })
}

/// Other spellings of proposals in wasmparser's messages.
const ALIASES: &[(&str, &str)] = &[
    ("exceptions", "exceptions"),
    ("exception handling", "exceptions"),
    ("legacy exceptions", "legacy_exceptions"),
    ("function references", "function_references"),
];

/// Whether `text` contains `phrase` as whole words.
fn contains_words(text: &str, phrase: &str) -> bool {
    let text: Vec<&str> = text.split_whitespace().collect();
    let phrase: Vec<&str> = phrase.split_whitespace().collect();
    !phrase.is_empty() && text.windows(phrase.len()).any(|w| w == phrase.as_slice())
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
        let cases = [
            ("bulk memory support is not enabled", Some("bulk memory")),
            ("exceptions proposal not enabled", Some("exception handling")),
            ("gc proposal must be enabled to use subtypes", Some("GC")),
            ("rec group usage requires `gc` proposal to be enabled", Some("GC")),
            ("SIMD support is not enabled", Some("SIMD")),
            ("array indexed types not supported without the gc feature", Some("GC")),
            ("exception refs not supported without the exception handling feature", Some("exception handling")),
            ("unknown type 0: type index out of bounds because the GC proposal is disabled", Some("GC")),
            ("custom descriptors required for exact reference types", Some("custom descriptors")),
            ("legacy_exceptions feature required for try instruction", Some("legacy exception handling")),
            ("threads must be enabled to use atomic operations", Some("threads")),
            ("type mismatch: expected i32, found i64", None),
            ("unknown memory 1", None),
            ("something else is not enabled", None),
        ];
        for (message, expected) in cases {
            assert_eq!(named_proposal(message), expected, "{message}");
        }
    }

    #[test]
    fn proposals_beyond_the_standard_are_known() {
        assert!(beyond_wasm3("stack switching") && beyond_wasm3("custom descriptors"));
        assert!(beyond_wasm3("GC + stack switching"));
        assert!(!beyond_wasm3("GC") && !beyond_wasm3("exception handling") && !beyond_wasm3("SIMD"));
        assert!(!beyond_wasm3("something else"));
    }

    #[test]
    fn the_standard_has_every_nameable_proposal() {
        assert!(STANDARD.contains(KILN_FEATURES));
        assert!(STANDARD.contains(WasmFeatures::WASM3));
        assert!(STANDARD.contains(WasmFeatures::CUSTOM_PAGE_SIZES | WasmFeatures::WIDE_ARITHMETIC));
        assert!(!STANDARD.contains(WasmFeatures::all()), "only proposals kiln can name");
    }

    fn wat(text: &str) -> Vec<u8> {
        wat::parse_str(text).unwrap()
    }

    #[test]
    fn rejections_are_told_apart() {
        let gc = wat("(module (type (struct)))");
        assert!(matches!(validate(&gc, KILN_FEATURES), Err(CompileError::Unsupported { feature, .. }) if feature == "GC"));
        let invalid = wat("(module (func (result i32) (i64.const 1)))");
        assert!(matches!(validate(&invalid, KILN_FEATURES), Err(CompileError::Invalid { func_index: Some(0), .. })));
        let malformed = b"\0asm\x01\0\0\0\x01\x7f";
        assert!(matches!(validate(malformed, KILN_FEATURES), Err(CompileError::Malformed { .. })));
        // Invalid under any standard, and kiln's validation stopped at the
        // GC type: kiln cannot judge the rest.
        let invalid_gc = wat("(module (type $s (struct)) (func (result i32) (struct.new $s)))");
        assert!(matches!(validate(&invalid_gc, KILN_FEATURES), Err(CompileError::Unsupported { feature, .. }) if feature == "GC"));
        // A 64-bit offset on a 32-bit memory: malformed in wasm 2.0's binary
        // format, a validation error in 3.0's.
        let offset = wat("(module (memory 1) (func (drop (i32.load offset=0x100000000 (i32.const 0)))))");
        assert!(matches!(validate(&offset, KILN_FEATURES), Err(CompileError::Invalid { .. })), "{:?}", validate(&offset, KILN_FEATURES));
    }

    #[test]
    fn multiple_memories_are_kilns_own() {
        let two = wat("(module (memory 1) (memory 0) (func (i32.store 1 (i32.const 0) (i32.load 0 (i32.const 0)))))");
        assert!(validate(&two, KILN_FEATURES).is_ok(), "{:?}", validate(&two, KILN_FEATURES));
        // Shared memories are kiln's own too (threads).
        let shared = wat("(module (memory 1) (memory 1 1 shared))");
        assert!(validate(&shared, KILN_FEATURES).is_ok(), "{:?}", validate(&shared, KILN_FEATURES));
    }

    #[test]
    fn memory64_is_kilns_own() {
        let wide = wat("(module (memory 1) (memory i64 1) (func (i64.store 1 (i64.const 8) (i64.const 1))))");
        assert!(validate(&wide, KILN_FEATURES).is_ok(), "{:?}", validate(&wide, KILN_FEATURES));
    }

    #[test]
    fn proposal_idents_map_to_names() {
        assert_eq!(proposal_name("simd"), "SIMD");
        assert_eq!(proposal_name("exceptions"), "exception handling");
        assert_eq!(proposal_name("unheard_of"), "unheard_of");
    }
}

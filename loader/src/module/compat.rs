//! Whether an artifact fits this host: target triple, pointer size and CPU
//! features.

use super::LoadErrorKind;
use super::cpu;
use kiln_abi::PtrSize;
use kiln_abi::metadata::ArchivedModuleMetadata;
use kiln_abi::target::{Target, cpu_required_features};

/// Checks that code described by `meta` can run here.
pub(crate) fn check_host(meta: &ArchivedModuleMetadata) -> Result<(), LoadErrorKind> {
    let host = Target::host();
    let recorded = meta.target.triple.as_str();
    let built_for = Target::parse(recorded).map(|t| t.name()).unwrap_or_else(|_| recorded.to_string());
    if built_for != host.name() {
        return Err(LoadErrorKind::WrongTarget { built_for, host: host.name() });
    }
    if u32::from(meta.target.pointer_size) != PtrSize::HOST.bytes() {
        return Err(LoadErrorKind::PointerSize { built_for: meta.target.pointer_size, host: PtrSize::HOST.bytes() });
    }
    // A CPU name kiln knows implies features; any other name must come with
    // its features listed explicitly (the compiler records them).
    let implied = cpu_required_features(host.architecture(), meta.target.cpu.as_str()).unwrap_or(&[]);
    let listed = meta.target.features.iter().map(|f| f.as_str());
    check_features(implied.iter().copied().chain(listed), cpu::host_has)
}

/// Checks every required feature with `has`; names the first one that
/// cannot be checked, or all that are missing.
fn check_features<'a>(
    features: impl Iterator<Item = &'a str>,
    has: impl Fn(&str) -> Option<bool>,
) -> Result<(), LoadErrorKind> {
    let mut missing = Vec::new();
    for feature in features {
        // LLVM feature strings may carry a sign; `-x` disables a feature and
        // requires nothing.
        if feature.starts_with('-') {
            continue;
        }
        let feature = feature.trim_start_matches('+');
        match has(feature) {
            Some(true) => {}
            Some(false) => {
                if !missing.iter().any(|m| m == feature) {
                    missing.push(feature.to_string());
                }
            }
            None => return Err(LoadErrorKind::UnverifiableCpuFeature(feature.to_string())),
        }
    }
    if missing.is_empty() { Ok(()) } else { Err(LoadErrorKind::MissingCpuFeatures(missing)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(f: &str) -> Option<bool> {
        match f {
            "a" | "b" => Some(true),
            "x" | "y" => Some(false),
            _ => None,
        }
    }

    #[test]
    fn features_are_checked_and_named() {
        assert!(check_features(["a", "+b", "-zz"].into_iter(), fake).is_ok());
        match check_features(["a", "x", "y", "x"].into_iter(), fake) {
            Err(LoadErrorKind::MissingCpuFeatures(m)) => assert_eq!(m, ["x", "y"]),
            other => panic!("{other:?}"),
        }
        match check_features(["a", "what"].into_iter(), fake) {
            Err(LoadErrorKind::UnverifiableCpuFeature(f)) => assert_eq!(f, "what"),
            other => panic!("{other:?}"),
        }
    }
}

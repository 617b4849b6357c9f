//! Whether an artifact fits this host: target triple, pointer size and CPU
//! features.

use super::LoadErrorKind;
use crate::cpu::HostCpu;
use kiln_abi::PtrSize;
use kiln_abi::metadata::ArchivedModuleMetadata;
use kiln_abi::target::Target;

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
    // The compiler records every feature the CPU and `--features` imply
    // beyond the architecture's baseline.
    HostCpu::current().check(meta.target.features.iter().map(|f| f.as_str()))
}

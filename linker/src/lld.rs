//! Finding and running LLD.

use crate::{LinkError, LinkRequest, OutputKind};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The soname every kiln library carries, so output does not depend on the
/// file name chosen by the user.
const SONAME: &str = "libkiln-module.so";

/// Locates `ld.lld`: `$KILN_LLD` if set, else Debian's `ld.lld-19`, else
/// `ld.lld` on `PATH`.
pub fn find_lld() -> Result<PathBuf, LinkError> {
    if let Some(path) = std::env::var_os("KILN_LLD") {
        return Ok(PathBuf::from(path));
    }
    let candidates = ["ld.lld-19", "/usr/lib/llvm-19/bin/ld.lld", "ld.lld"];
    for c in candidates {
        let p = Path::new(c);
        if p.is_absolute() {
            if p.is_file() {
                return Ok(p.to_path_buf());
            }
        } else if let Some(found) = search_path(c) {
            return Ok(found);
        }
    }
    Err(LinkError::LinkerNotFound { tried: candidates.iter().map(|s| s.to_string()).collect() })
}

fn search_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(name)).find(|p| p.is_file())
}

/// Runs LLD over `inputs`, writing `output`.
pub(crate) fn run(request: &LinkRequest<'_>, inputs: &[PathBuf], output: &Path) -> Result<(), LinkError> {
    let lld = find_lld()?;
    let mut cmd = Command::new(&lld);
    match request.kind {
        OutputKind::SharedLibrary => {
            cmd.args(["-shared", "-nostdlib", "--build-id=none", "--hash-style=gnu"])
                .args(["-z", "now", "-z", "relro", "-z", "noexecstack", "-z", "text"])
                .args(["--no-undefined-version", "-soname", SONAME]);
        }
        OutputKind::Object => {
            cmd.arg("-r");
        }
    }
    cmd.arg("-o").arg(output).args(inputs);
    let out = cmd.output().map_err(|e| LinkError::io("running the linker", &lld, e))?;
    if !out.status.success() {
        return Err(LinkError::LinkerFailed {
            linker: lld.display().to_string(),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim_end().to_string(),
        });
    }
    Ok(())
}

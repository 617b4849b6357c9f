//! Records the git commit kiln is built from, so compiled-artifact cache
//! keys change whenever the compiler does (`KILN_GIT_COMMIT`, `unknown`
//! outside a git checkout).

use std::process::Command;

fn main() {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    // Rebuild when HEAD moves (a checkout or a commit).
    if let Some(head) = git(&["rev-parse", "--path-format=absolute", "--git-path", "HEAD"]) {
        println!("cargo:rerun-if-changed={head}");
    }
    let branch = git(&["symbolic-ref", "-q", "HEAD"]);
    let branch_file = branch.and_then(|r| git(&["rev-parse", "--path-format=absolute", "--git-path", &r]));
    let packed = git(&["rev-parse", "--path-format=absolute", "--git-path", "packed-refs"]);
    // A path that does not exist would make cargo rerun this every build.
    for path in branch_file.into_iter().chain(packed).filter(|p| std::path::Path::new(p).exists()) {
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rustc-env=KILN_GIT_COMMIT={commit}");
}

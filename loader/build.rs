//! Builds the small C part of the runtime: the host-to-wasm entry helper,
//! the trap builtin and the fault handler (they use `sigsetjmp`).

fn main() {
    let target_family = std::env::var("CARGO_CFG_TARGET_FAMILY").unwrap_or_default();
    if target_family.split(',').any(|f| f == "unix") {
        let source = "src/sys/unix/traps.c";
        println!("cargo:rerun-if-changed={source}");
        cc::Build::new().file(source).warnings(true).extra_warnings(true).compile("kiln_loader_traps");
    }
}

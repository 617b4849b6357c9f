//! The `loader` fuzz target (see `kiln_fuzz::loader`). Under `cargo fuzz`
//! libFuzzer drives it; built by plain cargo, `main` runs seeded inputs
//! (`kiln-fuzz loader --help`).
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    use kiln_fuzz::target::{Target, TargetName, Verdict};
    use std::sync::OnceLock;
    static TARGET: OnceLock<Target> = OnceLock::new();
    let target = TARGET.get_or_init(|| kiln_fuzz::cli::libfuzzer_target(TargetName::Loader));
    if let Verdict::Fail(message) = target.run(data) {
        panic!("{message}");
    }
});

#[cfg(not(fuzzing))]
fn main() -> anyhow::Result<()> {
    kiln_fuzz::cli::main(Some(kiln_fuzz::target::TargetName::Loader))
}

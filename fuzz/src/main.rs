//! `kiln-fuzz TARGET --minutes M`: a seeded campaign on any toolchain.

fn main() -> anyhow::Result<()> {
    kiln_fuzz::cli::main(None)
}

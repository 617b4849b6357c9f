fn main() {
    // A shared library in OUT_DIR, opened with Module::from_file at run time.
    kiln::build::Build::new().file("../plugin.wat").shared(true).compile("plugin");
}

fn main() {
    kiln::build::Build::new().file("../plugin.wat").opt_level(2).compile("plugin");
    kiln::build::Build::new().file("../counter.wat").compile("counter");
}

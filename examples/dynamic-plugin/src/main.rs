//! The plugin of the static-plugin example, compiled by `build.rs` into a
//! shared library and loaded from it at run time with `Module::from_file`.

use kiln::runtime::{Engine, Store};

mod plugin {
    include!(concat!(env!("OUT_DIR"), "/plugin.rs"));
}

struct Host;

impl plugin::Imports for Host {
    fn log(&mut self, p0: i32) {
        println!("plugin says {p0}");
    }

    fn scale(&mut self, p0: f64) -> f64 {
        p0 * 1.5
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let module = plugin::load(&engine)?;
    println!("loaded {}", module.path().file_name().unwrap_or_default().to_string_lossy());
    let plugin = plugin::Plugin::instantiate(&mut store, &module, Host)?;
    println!("add(2, 3) = {}", plugin.add(&mut store, 2, 3)?);
    let (q, r) = plugin.div_mod(&mut store, 17, 5)?;
    println!("div-mod(17, 5) = ({q}, {r})");
    plugin.report(&mut store, 7)?;
    match plugin.load(&mut store, 70000) {
        Ok(v) => println!("load(70000) = {v}?"),
        Err(e) => println!("load(70000) trapped: {e}"),
    }
    Ok(())
}

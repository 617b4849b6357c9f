//! Two wasm modules compiled by `build.rs`, linked into this program from
//! static archives, and called through the typed bindings kiln generated.

use kiln::runtime::{Engine, Store};

mod plugin {
    include!(concat!(env!("OUT_DIR"), "/plugin.rs"));
}

mod counter {
    include!(concat!(env!("OUT_DIR"), "/counter.rs"));
}

/// The host side of the plugin's imports.
#[derive(Default)]
struct Host {
    logged: Vec<i32>,
}

impl plugin::Imports for Host {
    fn log(&mut self, p0: i32) {
        println!("plugin says {p0}");
        self.logged.push(p0);
    }

    fn scale(&mut self, p0: f64) -> f64 {
        p0 * 1.5
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let module = plugin::load(&engine)?;
    let plugin = plugin::Plugin::instantiate(&mut store, &module, Host::default())?;

    println!("add(2, 3) = {}", plugin.add(&mut store, 2, 3)?);
    let (q, r) = plugin.div_mod(&mut store, 17, 5)?;
    println!("div-mod(17, 5) = ({q}, {r})");
    println!("scaled(4) = {}", plugin.scaled(&mut store, 4)?);
    plugin.report(&mut store, 42)?;
    println!("host logged {:?}", plugin.host().logged);
    println!("type(v128) = {:#x}", plugin.type_(&mut store, 0x0000_0001_0000_0002_0000_0003_0000_0004)?);
    match plugin.div_mod(&mut store, 1, 0) {
        Ok(v) => println!("div-mod(1, 0) = {v:?}?"),
        Err(e) => println!("div-mod(1, 0) trapped: {e}"),
    }

    let counter_module = counter::load(&engine)?;
    let counter = counter::Counter::instantiate(&mut store, &counter_module, ())?;
    counter.bump(&mut store, 40)?;
    println!("counter = {}", counter.bump(&mut store, 2)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln::runtime::{Error, TrapCode};

    fn instance() -> (Store, plugin::Plugin<Host>) {
        let engine = Engine::default();
        let mut store = Store::new(&engine);
        let module = plugin::load(&engine).unwrap();
        let plugin = plugin::Plugin::instantiate(&mut store, &module, Host::default()).unwrap();
        (store, plugin)
    }

    fn trap_code(e: Error) -> TrapCode {
        match e {
            Error::Trap(trap) => trap.code(),
            other => panic!("expected a trap, got {other}"),
        }
    }

    #[test]
    fn out_of_bounds_load_is_a_trap() {
        let (mut store, plugin) = instance();
        assert_eq!(plugin.load(&mut store, 65532).unwrap(), 0);
        let e = plugin.load(&mut store, 65533).unwrap_err();
        assert_eq!(trap_code(e), TrapCode::MemoryOutOfBounds);
        // The instance is still usable afterwards.
        assert_eq!(plugin.add(&mut store, 1, 2).unwrap(), 3);
    }

    #[test]
    fn divide_by_zero_is_a_trap() {
        let (mut store, plugin) = instance();
        assert_eq!(trap_code(plugin.div_mod(&mut store, 1, 0).unwrap_err()), TrapCode::IntegerDivisionByZero);
    }

    #[test]
    fn stack_overflow_is_a_trap() {
        let (mut store, plugin) = instance();
        assert_eq!(trap_code(plugin.recurse(&mut store, 0).unwrap_err()), TrapCode::StackOverflow);
    }

    #[test]
    fn both_modules_load_and_keep_their_own_state() {
        let engine = Engine::default();
        let mut store = Store::new(&engine);
        let a = counter::Counter::instantiate(&mut store, &counter::load(&engine).unwrap(), ()).unwrap();
        let b = counter::Counter::instantiate(&mut store, &counter::load(&engine).unwrap(), ()).unwrap();
        assert_eq!(a.bump(&mut store, 5).unwrap(), 5);
        assert_eq!(b.bump(&mut store, 7).unwrap(), 7);
        let module = plugin::load(&engine).unwrap();
        assert!(module.metadata().exports.iter().any(|e| e.name.as_str() == "div-mod"));
        assert_eq!(module.path().to_str(), Some("static:plugin"));
    }
}

//! The reference: the wasmi interpreter, with the wasm 2.0 features, SIMD
//! and multi-memory enabled, and stack limits far above the call depth
//! fuel allows.

use super::{Engine, RunningInstance, Started};
use crate::state::{MemoryState, Outcome, Snapshot, TrapKind, Value};
use wasmi::{Extern, Func, Instance, Linker, Module, Ref, Store, Val};
use wasmi::{F32, F64, TrapCode, V128};

/// The wasmi interpreter.
pub struct WasmiEngine {
    engine: wasmi::Engine,
}

impl Default for WasmiEngine {
    fn default() -> WasmiEngine {
        let mut config = wasmi::Config::default();
        config
            .wasm_simd(true)
            .wasm_relaxed_simd(false)
            .wasm_tail_call(true)
            .wasm_extended_const(true)
            .wasm_wide_arithmetic(true)
            .wasm_multi_memory(true)
            .wasm_memory64(true)
            .wasm_custom_page_sizes(true)
            .set_max_recursion_depth(100_000)
            .set_max_stack_height(256 << 20);
        WasmiEngine { engine: wasmi::Engine::new(&config) }
    }
}

impl Engine for WasmiEngine {
    fn name(&self) -> String {
        "wasmi".into()
    }

    fn start(&self, wasm: &[u8]) -> Started {
        let module = match Module::new(&self.engine, wasm) {
            Ok(module) => module,
            Err(e) => return Started::Stopped(Outcome::Failed(format!("wasmi rejects the module: {e}"))),
        };
        let mut store = Store::new(&self.engine, ());
        let instance = match Linker::<()>::new(&self.engine).instantiate_and_start(&mut store, &module) {
            Ok(instance) => instance,
            Err(e) => return Started::Stopped(error_outcome(&e)),
        };
        let exports: Vec<(String, Extern)> =
            instance.exports(&store).map(|e| (e.name().to_string(), e.into_extern())).collect();
        let mut functions = Vec::new();
        for (name, export) in &exports {
            if let Extern::Func(f) = export {
                functions.push((identity(f), name.clone()));
            }
        }
        Started::Ready(Box::new(WasmiInstance { store, instance, exports, functions }))
    }
}

/// wasmi's handles implement neither `Eq` nor `Hash`; their `Debug` form
/// names the store slot, which identifies the function.
fn identity(f: &Func) -> String {
    format!("{f:?}")
}

struct WasmiInstance {
    store: Store<()>,
    instance: Instance,
    exports: Vec<(String, Extern)>,
    /// Identity and export name of each exported function.
    functions: Vec<(String, String)>,
}

impl WasmiInstance {
    fn func_name(&self, f: &Ref<Func>) -> Option<String> {
        let f = f.val()?;
        let id = identity(f);
        Some(self.functions.iter().find(|(i, _)| *i == id).map_or_else(|| "?".into(), |(_, name)| name.clone()))
    }

    fn value(&self, v: &Val) -> Value {
        match v {
            Val::I32(x) => Value::I32(*x),
            Val::I64(x) => Value::I64(*x),
            Val::F32(x) => Value::F32(x.to_bits()),
            Val::F64(x) => Value::F64(x.to_bits()),
            Val::V128(x) => Value::V128(x.as_u128()),
            Val::FuncRef(f) => Value::FuncRef(self.func_name(f)),
            Val::ExternRef(r) => Value::ExternRef(!r.is_null()),
        }
        .canonical()
    }
}

fn val(v: &Value) -> Result<Val, String> {
    Ok(match v {
        Value::I32(x) => Val::I32(*x),
        Value::I64(x) => Val::I64(*x),
        Value::F32(b) => Val::F32(F32::from_bits(*b)),
        Value::F64(b) => Val::F64(F64::from_bits(*b)),
        Value::V128(b) => Val::V128(V128::from(*b)),
        Value::FuncRef(None) => Val::FuncRef(Ref::Null),
        Value::ExternRef(false) => Val::ExternRef(Ref::Null),
        other => return Err(format!("cannot pass {other} as an argument")),
    })
}

/// wasmi's trap codes in wasm's terms.
fn trap_kind(code: TrapCode) -> TrapKind {
    match code {
        TrapCode::UnreachableCodeReached => TrapKind::Unreachable,
        TrapCode::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds => TrapKind::TableOutOfBounds,
        TrapCode::IndirectCallToNull => TrapKind::IndirectCallNull,
        TrapCode::BadSignature => TrapKind::IndirectCallTypeMismatch,
        TrapCode::IntegerOverflow => TrapKind::IntegerOverflow,
        TrapCode::IntegerDivisionByZero => TrapKind::IntegerDivisionByZero,
        TrapCode::BadConversionToInteger => TrapKind::BadConversionToInteger,
        TrapCode::StackOverflow => TrapKind::StackExhausted,
        other => TrapKind::Other(format!("wasmi {other:?}")),
    }
}

fn error_outcome(e: &wasmi::Error) -> Outcome {
    use wasmi::errors::{ErrorKind, TableError};
    match (e.as_trap_code(), e.kind()) {
        (Some(code), _) => Outcome::Trapped(trap_kind(code)),
        // wasmi 1.1 reports an out-of-bounds `table.copy` as a table error
        // without a trap code (it maps the other table operations' errors).
        (None, ErrorKind::Table(TableError::CopyOutOfBounds)) => Outcome::Trapped(TrapKind::TableOutOfBounds),
        (None, _) => Outcome::Failed(e.to_string()),
    }
}

impl RunningInstance for WasmiInstance {
    fn call(&mut self, name: &str, args: &[Value]) -> Outcome {
        let Some(func) = self.instance.get_func(&self.store, name) else {
            return Outcome::Failed(format!("no exported function `{name}`"));
        };
        let ty = func.ty(&self.store);
        let params = match args.iter().map(val).collect::<Result<Vec<_>, _>>() {
            Ok(params) => params,
            Err(e) => return Outcome::Failed(e),
        };
        let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default(*t)).collect();
        match func.call(&mut self.store, &params, &mut results) {
            Ok(()) => Outcome::Returned(results.iter().map(|v| self.value(v)).collect()),
            Err(e) => error_outcome(&e),
        }
    }

    fn set_global(&mut self, name: &str, value: i32) -> Result<(), String> {
        let global =
            self.instance.get_global(&self.store, name).ok_or_else(|| format!("no exported global `{name}`"))?;
        global.set(&mut self.store, Val::I32(value)).map_err(|e| e.to_string())
    }

    fn snapshot(&self) -> Result<Snapshot, String> {
        let mut snapshot = Snapshot::default();
        for (name, export) in &self.exports {
            let name = name.clone();
            match export {
                Extern::Global(g) => snapshot.globals.push((name, self.value(&g.get(&self.store)))),
                Extern::Memory(m) => {
                    let state = MemoryState { pages: m.size(&self.store), bytes: m.data(&self.store).to_vec() };
                    snapshot.memories.push((name, state));
                }
                Extern::Table(t) => {
                    let elements = (0..t.size(&self.store))
                        .map(|i| t.get(&self.store, i).map(|v| self.value(&v)))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| format!("table `{name}` shrank while being read"))?;
                    snapshot.tables.push((name, elements));
                }
                Extern::Func(_) => {}
            }
        }
        snapshot.sort();
        Ok(snapshot)
    }
}

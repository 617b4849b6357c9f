//! kiln as a differential engine: the module is compiled to a shared
//! library with the configured options, loaded and instantiated exactly as
//! a user's module would be.

use super::{Engine, RunningInstance, Started};
use crate::state::{MemoryState, Outcome, Snapshot, TrapKind, Value};
use kiln::{CompileOptions, Emit};
use kiln_abi::metadata::BoundsChecks;
use kiln_loader::{Error, Extern, Func, Instance, Linker, Store, TrapCode, Val};
use std::collections::HashMap;
use std::path::Path;

/// Native stack kiln code may use. Generous: fuel bounds the call depth
/// (see `smith`), and the differential target must not see stack
/// exhaustion where the interpreter does not. Calls must run on a thread
/// whose stack is larger ([`crate::STACK_SIZE`]).
pub const MAX_WASM_STACK: usize = 64 << 20;

/// kiln with one set of compile options.
pub struct KilnEngine {
    engine: kiln_loader::Engine,
    opts: CompileOptions,
}

impl KilnEngine {
    /// kiln compiling with `opts`.
    pub fn new(opts: CompileOptions) -> KilnEngine {
        let mut config = kiln_loader::Config::new();
        config.max_wasm_stack(MAX_WASM_STACK);
        KilnEngine { engine: kiln_loader::Engine::new(&config), opts }
    }
}

impl Engine for KilnEngine {
    fn name(&self) -> String {
        let mode = match self.opts.bounds_checks {
            BoundsChecks::Guard => "guard",
            BoundsChecks::Explicit => "explicit",
        };
        format!("kiln {:?} {mode}", self.opts.opt_level)
    }

    fn start(&self, wasm: &[u8]) -> Started {
        let failed = |message: String| Started::Stopped(Outcome::Failed(message));
        let dir = match tempfile::Builder::new().prefix("kiln-fuzz-").tempdir() {
            Ok(dir) => dir,
            Err(e) => return failed(format!("cannot create a temporary directory: {e}")),
        };
        let path = dir.path().join("module.so");
        if let Err(e) = kiln::compile_to_file(wasm, Path::new("fuzz.wasm"), &self.opts, Emit::SharedLibrary, &path) {
            return failed(format!("compile: {e}"));
        }
        let module = match kiln_loader::Module::from_file(&self.engine, &path) {
            Ok(module) => module,
            Err(e) => return failed(format!("load: {e}")),
        };
        let mut store = Store::new(&self.engine);
        let instance = match Linker::new(&self.engine).instantiate(&mut store, &module) {
            Ok(instance) => instance,
            Err(e) => return Started::Stopped(error_outcome(e)),
        };
        let mut names = HashMap::new();
        match instance.exports(&store) {
            Ok(exports) => {
                for (name, export) in exports {
                    if let Extern::Func(f) = export {
                        names.entry(f).or_insert(name);
                    }
                }
            }
            Err(e) => return failed(format!("exports: {e}")),
        }
        Started::Ready(Box::new(KilnInstance { store, instance, names, _dir: dir }))
    }
}

struct KilnInstance {
    store: Store,
    instance: Instance,
    /// Export name of each exported function, for funcref identity.
    names: HashMap<Func, String>,
    /// Holds the library file (already mapped; removed with the instance).
    _dir: tempfile::TempDir,
}

impl KilnInstance {
    fn value(&self, v: &Val) -> Value {
        match v {
            Val::I32(x) => Value::I32(*x),
            Val::I64(x) => Value::I64(*x),
            Val::F32(b) => Value::F32(*b),
            Val::F64(b) => Value::F64(*b),
            Val::V128(b) => Value::V128(*b),
            Val::FuncRef(f) => Value::FuncRef(f.map(|f| self.names.get(&f).cloned().unwrap_or_else(|| "?".into()))),
            Val::ExternRef(r) => Value::ExternRef(r.is_some()),
            Val::ExnRef(r) => Value::ExnRef(r.is_some()),
        }
        .canonical()
    }
}

fn val(v: &Value) -> Result<Val, String> {
    Ok(match v {
        Value::I32(x) => Val::I32(*x),
        Value::I64(x) => Val::I64(*x),
        Value::F32(b) => Val::F32(*b),
        Value::F64(b) => Val::F64(*b),
        Value::V128(b) => Val::V128(*b),
        Value::FuncRef(None) => Val::FuncRef(None),
        Value::ExternRef(false) => Val::ExternRef(None),
        other => return Err(format!("cannot pass {other} as an argument")),
    })
}

/// kiln's trap codes in wasm's terms.
fn trap_kind(code: TrapCode) -> TrapKind {
    match code {
        TrapCode::UnreachableCodeReached => TrapKind::Unreachable,
        TrapCode::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds | TrapCode::UndefinedElement => TrapKind::TableOutOfBounds,
        TrapCode::UninitializedElement | TrapCode::NullFunctionReference => TrapKind::IndirectCallNull,
        TrapCode::IndirectCallTypeMismatch => TrapKind::IndirectCallTypeMismatch,
        TrapCode::IntegerOverflow => TrapKind::IntegerOverflow,
        TrapCode::IntegerDivisionByZero => TrapKind::IntegerDivisionByZero,
        TrapCode::BadConversionToInteger => TrapKind::BadConversionToInteger,
        TrapCode::StackOverflow => TrapKind::StackExhausted,
        TrapCode::NullReference => TrapKind::NullReference,
        other => TrapKind::Other(format!("kiln {other:?}")),
    }
}

fn error_outcome(e: Error) -> Outcome {
    match e {
        Error::Trap(trap) => Outcome::Trapped(trap_kind(trap.code())),
        other => Outcome::Failed(other.to_string()),
    }
}

impl RunningInstance for KilnInstance {
    fn call(&mut self, name: &str, args: &[Value]) -> Outcome {
        let Some(func) = self.instance.get_func(&self.store, name) else {
            return Outcome::Failed(format!("no exported function `{name}`"));
        };
        let ty = match func.ty(&self.store) {
            Ok(ty) => ty,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        let params = match args.iter().map(val).collect::<Result<Vec<_>, _>>() {
            Ok(params) => params,
            Err(e) => return Outcome::Failed(e),
        };
        let mut results: Vec<Val> = ty.results.iter().map(|t| Val::default_for(*t)).collect();
        match func.call(&mut self.store, &params, &mut results) {
            Ok(()) => Outcome::Returned(results.iter().map(|v| self.value(v)).collect()),
            Err(e) => error_outcome(e),
        }
    }

    fn set_global(&mut self, name: &str, value: i32) -> Result<(), String> {
        let global =
            self.instance.get_global(&self.store, name).ok_or_else(|| format!("no exported global `{name}`"))?;
        global.set(&mut self.store, Val::I32(value)).map_err(|e| e.to_string())
    }

    fn snapshot(&self) -> Result<Snapshot, String> {
        let mut snapshot = Snapshot::default();
        let text = |e: Error| e.to_string();
        for (name, export) in self.instance.exports(&self.store).map_err(text)? {
            match export {
                Extern::Global(g) => snapshot.globals.push((name, self.value(&g.get(&self.store).map_err(text)?))),
                Extern::Memory(m) => {
                    let pages = m.size(&self.store).map_err(text)?;
                    let bytes = m.data(&self.store).map_err(text)?.to_vec();
                    snapshot.memories.push((name, MemoryState { pages, bytes }));
                }
                Extern::Table(t) => {
                    let size = t.size(&self.store).map_err(text)?;
                    let elements = (0..size)
                        .map(|i| t.get(&self.store, i).map(|v| self.value(&v)))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(text)?;
                    snapshot.tables.push((name, elements));
                }
                Extern::Func(_) | Extern::Tag(_) => {}
            }
        }
        snapshot.sort();
        Ok(snapshot)
    }
}

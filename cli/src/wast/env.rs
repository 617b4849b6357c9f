//! The runner's view of kiln: compile and load modules, instantiate them
//! against registered instances and the `spectest` host module, call
//! exports, read globals. Everything else in the runner is script logic.

use super::values::{RefKind, Value};
use crate::compile::{self, Emit};
use kiln_llvm::{CompileError, CompileOptions};
use kiln_loader::{
    Engine, Error, Extern, ExternRef, Func, Global, GlobalType, Limits, Linker, Memory, MemoryType, SharedMemory, Store, Table,
    TableType, Val, ValType,
};
use std::path::Path;

pub type Module = kiln_loader::Module;
pub type Instance = kiln_loader::Instance;

/// Why kiln rejected a module, by the phase that rejected it; each carries
/// kiln's reason (the decoder's or validator's own message).
pub enum Rejection {
    /// Decoding failed: the binary breaks the binary format.
    Malformed(String),
    /// Validation failed.
    Invalid(String),
    /// The module uses a feature kiln does not implement (named).
    Unsupported(String),
    /// Anything else (a failure of kiln).
    Other(String),
}

/// Why instantiation failed.
pub enum InstantiateFailure {
    /// An import could not be satisfied.
    Link(String),
    /// The start function or a segment initialization trapped.
    Trap(String),
    /// The runtime lacks a feature the module needs.
    Unsupported(String),
    /// Anything else.
    Other(String),
}

/// Why a call or global read failed.
pub enum CallFailure {
    /// Wasm trapped; the trap's message.
    Trap(String),
    /// A value kiln cannot represent yet.
    Unsupported(String),
    /// A wasm exception no handler caught: its tag's type and payload.
    Exception(String),
    /// Anything else.
    Other(String),
}

pub struct Env {
    opts: CompileOptions,
    workdir: tempfile::TempDir,
    next_library: u32,
    engine: Engine,
    store: Store,
    linker: Linker,
}

impl Env {
    pub fn new(opts: &CompileOptions) -> Result<Env, String> {
        let workdir = tempfile::Builder::new()
            .prefix("kiln-wast-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let engine = Engine::default();
        let mut store = Store::new(&engine);
        let mut linker = Linker::new(&engine);
        define_spectest(&mut linker, &mut store).map_err(|e| format!("cannot define the spectest module: {e}"))?;
        Ok(Env { opts: opts.clone(), workdir, next_library: 0, engine, store, linker })
    }

    /// Checks that a module would compile (used for `assert_invalid` and
    /// `assert_malformed`, which expect it not to).
    pub fn validate(&mut self, wasm: &[u8]) -> Result<(), Rejection> {
        kiln_llvm::validate(wasm).map_err(rejection)
    }

    /// Compiles a module into a library in the work directory and loads it.
    pub fn load(&mut self, wasm: &[u8]) -> Result<Module, Rejection> {
        self.next_library += 1;
        let path = self.workdir.path().join(format!("module{}.so", self.next_library));
        match compile::compile_to_file(wasm, Path::new("module"), &self.opts, Emit::SharedLibrary, &path) {
            Ok(_) => {}
            Err(compile::Error::Compile { error, .. }) => return Err(rejection(error)),
            Err(e) => return Err(Rejection::Other(e.to_string())),
        }
        Module::from_file(&self.engine, &path).map_err(|e| Rejection::Other(e.to_string()))
    }

    pub fn instantiate(&mut self, module: &Module) -> Result<Instance, InstantiateFailure> {
        self.linker.instantiate(&mut self.store, module).map_err(|e| match e {
            Error::Trap(t) => InstantiateFailure::Trap(t.to_string()),
            Error::Link(l) => InstantiateFailure::Link(l.to_string()),
            Error::Unsupported(f) => InstantiateFailure::Unsupported(f),
            other => InstantiateFailure::Other(other.to_string()),
        })
    }

    pub fn register(&mut self, name: &str, instance: &Instance) -> Result<(), String> {
        self.linker.instance(&mut self.store, name, *instance).map(|_| ()).map_err(|e| e.to_string())
    }

    /// The exports of `instance`.
    pub fn exports(&self, instance: &Instance) -> Result<Vec<(String, Extern)>, String> {
        instance.exports(&self.store).map_err(|e| e.to_string())
    }

    /// The shared memory `memory` is, if it is one.
    pub fn shared(&self, memory: Memory) -> Option<SharedMemory> {
        memory.shared(&self.store).ok().flatten()
    }

    /// Defines `module`.`name` as `shared` in this environment's store.
    pub fn define_shared(&mut self, module: &str, name: &str, shared: &SharedMemory) -> Result<(), String> {
        let memory = Memory::from_shared(&mut self.store, shared).map_err(|e| e.to_string())?;
        self.linker.define(module, name, memory);
        Ok(())
    }

    pub fn invoke(&mut self, instance: &Instance, name: &str, args: &[Value]) -> Result<Vec<Value>, CallFailure> {
        let func = instance
            .get_func(&self.store, name)
            .ok_or_else(|| CallFailure::Other(format!("no exported function `{name}`")))?;
        let ty = func.ty(&self.store).map_err(|e| CallFailure::Other(e.to_string()))?;
        let params = args.iter().map(|a| self.val_of(a)).collect::<Result<Vec<Val>, _>>()?;
        let mut results: Vec<Val> = ty.results.iter().map(|t| Val::default_for(*t)).collect();
        func.call(&mut self.store, &params, &mut results).map_err(|e| match e {
            Error::Trap(t) => CallFailure::Trap(t.to_string()),
            Error::Exception(exn) => CallFailure::Exception(self.describe_exception(&exn)),
            Error::Unsupported(f) => CallFailure::Unsupported(f),
            other => CallFailure::Other(other.to_string()),
        })?;
        results.iter().map(|v| self.value_of(v)).collect()
    }

    pub fn get_global(&mut self, instance: &Instance, name: &str) -> Result<Value, CallFailure> {
        let global = instance
            .get_global(&self.store, name)
            .ok_or_else(|| CallFailure::Other(format!("no exported global `{name}`")))?;
        let v = global.get(&self.store).map_err(|e| CallFailure::Other(e.to_string()))?;
        self.value_of(&v)
    }

    fn val_of(&mut self, v: &Value) -> Result<Val, CallFailure> {
        Ok(match *v {
            Value::I32(x) => Val::I32(x),
            Value::I64(x) => Val::I64(x),
            Value::F32(b) => Val::F32(b),
            Value::F64(b) => Val::F64(b),
            Value::V128(b) => Val::V128(b),
            Value::Null(RefKind::Func) => Val::FuncRef(None),
            Value::Null(RefKind::Extern) => Val::ExternRef(None),
            Value::Null(RefKind::Exn) => Val::ExnRef(None),
            Value::Exn => return Err(CallFailure::Other("a script cannot pass a non-null exnref".into())),
            Value::Extern(n) => Val::ExternRef(Some(ExternRef::new(&mut self.store, n))),
            Value::Func => return Err(CallFailure::Other("a script cannot pass a non-null funcref".into())),
        })
    }

    /// "exception of tag (i32 f64): i32:1 f64:2", read back through the
    /// runtime's API.
    fn describe_exception(&self, exn: &kiln_loader::Exception) -> String {
        let describe = || -> Result<String, Error> {
            let ty = exn.tag(&self.store)?.ty(&self.store)?;
            let payload = exn.payload(&self.store)?;
            let values: Vec<String> = payload.iter().map(|v| format!("{v:?}")).collect();
            Ok(format!("exception of tag {ty}: [{}]", values.join(", ")))
        };
        describe().unwrap_or_else(|e| format!("exception (unreadable: {e})"))
    }

    fn value_of(&self, v: &Val) -> Result<Value, CallFailure> {
        Ok(match v {
            Val::I32(x) => Value::I32(*x),
            Val::I64(x) => Value::I64(*x),
            Val::F32(b) => Value::F32(*b),
            Val::F64(b) => Value::F64(*b),
            Val::V128(b) => Value::V128(*b),
            Val::FuncRef(None) => Value::Null(RefKind::Func),
            Val::FuncRef(Some(_)) => Value::Func,
            Val::ExternRef(None) => Value::Null(RefKind::Extern),
            Val::ExnRef(None) => Value::Null(RefKind::Exn),
            Val::ExnRef(Some(_)) => Value::Exn,
            Val::ExternRef(Some(r)) => {
                let data = r.data(&self.store).map_err(|e| CallFailure::Other(e.to_string()))?;
                match data.downcast_ref::<u32>() {
                    Some(n) => Value::Extern(*n),
                    None => return Err(CallFailure::Other("externref not created by the script".into())),
                }
            }
        })
    }
}

/// The module names `wasm` imports state from that instantiating it could
/// change: a memory or table (which its segments or start function may
/// write), a mutable global, or any function when it has a start function
/// (which may call it). Read leniently: what cannot be read is left out.
pub fn state_imports(wasm: &[u8]) -> Vec<String> {
    let mut imports = Vec::new();
    let mut has_start = false;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload {
            Ok(wasmparser::Payload::ImportSection(reader)) => {
                imports.extend(reader.into_imports().map_while(Result::ok).map(|i| (i.module.to_string(), i.ty)));
            }
            Ok(wasmparser::Payload::StartSection { .. }) => has_start = true,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let changes = |ty: &wasmparser::TypeRef| match ty {
        wasmparser::TypeRef::Memory(_) | wasmparser::TypeRef::Table(_) => true,
        wasmparser::TypeRef::Global(g) => g.mutable,
        wasmparser::TypeRef::Func(_) | wasmparser::TypeRef::FuncExact(_) => has_start,
        _ => false,
    };
    let mut names: Vec<String> = imports.into_iter().filter(|(_, ty)| changes(ty)).map(|(m, _)| m).collect();
    names.dedup();
    names
}

fn rejection(e: CompileError) -> Rejection {
    match e {
        CompileError::Malformed { message, .. } => Rejection::Malformed(message),
        CompileError::Invalid { message, .. } => Rejection::Invalid(message),
        CompileError::Unsupported { feature, .. } => Rejection::Unsupported(feature),
        other => Rejection::Other(other.to_string()),
    }
}

/// The `spectest` module every spec script may import from: print functions
/// that do nothing, the globals `global_i32` … `global_f64` (666 / 666.6),
/// a funcref `table` (10, max 20), its 64-bit twin `table64` and a
/// `memory` (1 page, max 2).
fn define_spectest(linker: &mut Linker, store: &mut Store) -> Result<(), Error> {
    let prints: [(&str, &[ValType]); 7] = [
        ("print", &[]),
        ("print_i32", &[ValType::I32]),
        ("print_i64", &[ValType::I64]),
        ("print_f32", &[ValType::F32]),
        ("print_f64", &[ValType::F64]),
        ("print_i32_f32", &[ValType::I32, ValType::F32]),
        ("print_f64_f64", &[ValType::F64, ValType::F64]),
    ];
    for (name, params) in prints {
        let ty = kiln_loader::FuncType::new(params.to_vec(), Vec::new());
        linker.define("spectest", name, Func::new(&mut *store, ty, |_, _, _| Ok(())));
    }
    let globals = [
        ("global_i32", Val::I32(666)),
        ("global_i64", Val::I64(666)),
        ("global_f32", Val::from_f32(666.6)),
        ("global_f64", Val::from_f64(666.6)),
    ];
    for (name, value) in globals {
        let ty = GlobalType { content: value.ty(), mutable: false };
        linker.define("spectest", name, Global::new(&mut *store, ty, value)?);
    }
    let table = TableType { element: kiln_abi::RefType::FUNCREF, limits: Limits { min: 10, max: Some(20) }, table64: false };
    linker.define("spectest", "table", Table::new(&mut *store, table, Val::FuncRef(None))?);
    // The reference interpreter's 64-bit twin of `table` (table64).
    let table64 = TableType { table64: true, ..table };
    linker.define("spectest", "table64", Table::new(&mut *store, table64, Val::FuncRef(None))?);
    let memory = MemoryType::new(Limits { min: 1, max: Some(2) });
    linker.define("spectest", "memory", Memory::new(&mut *store, memory)?);
    // The threads proposal's shared twin of `memory`.
    let shared = MemoryType { shared: true, ..memory };
    linker.define("spectest", "shared_memory", Memory::new(&mut *store, shared)?);
    Ok(())
}

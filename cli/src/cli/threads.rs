//! wasi-threads for `kiln run`: the `wasi` module's `thread-spawn`.
//!
//! A program built for `wasm32-wasip1-threads` imports its memory as a
//! shared memory and `wasi`.`thread-spawn(start_arg) -> tid`. `kiln run`
//! creates that memory once ([`SharedMemory`], of the import's declared
//! type) and, for each spawn, starts a real OS thread that makes a store
//! of its own, instantiates the same module with the same memory, the same
//! WASI context (one process: arguments, environment, descriptors) and
//! this same `thread-spawn`, and calls its export
//! `wasi_thread_start(tid, start_arg)`.
//!
//! Thread ids count up from 1 (wasi-threads reserves 0 and the values past
//! `0x1FFF_FFFF`); a spawn that cannot get an id or an OS thread returns a
//! negative value, which wasi-libc reports as `EAGAIN`.
//!
//! A thread ends when `wasi_thread_start` returns. `proc_exit` in any
//! thread, and a trap in any thread but the main one (whose trap `kiln
//! run` reports as usual), end the whole process, with the program's
//! status or 134, as wasi-threads asks: the other threads cannot be
//! unwound safely, and a native program's `exit` ends them too.

use super::run::TRAP_EXIT_CODE;
use anyhow::{Result, anyhow, bail};
use kiln::runtime::{Engine, Error, Func, Linker, Memory, Module, SharedMemory, Store, Val};
use kiln_wasi::WasiCtx;
use std::io::Write;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

/// The module and name of the spawn function.
const SPAWN: (&str, &str) = ("wasi", "thread-spawn");
/// The export each new thread runs.
const THREAD_START: &str = "wasi_thread_start";
/// The largest thread id wasi-threads allows.
const MAX_THREAD_ID: i32 = 0x1FFF_FFFF;
/// The native stack of a spawned thread beyond the wasm stack limit (the
/// main thread's default).
const THREAD_STACK: usize = 8 << 20;

/// What every thread of one program shares.
pub(crate) struct Threads {
    engine: Engine,
    module: Module,
    /// The imported shared memory, under its import's module and name.
    memory: (String, String, SharedMemory),
    wasi: Arc<Mutex<WasiCtx>>,
    next_id: AtomicI32,
    /// The module's path, for messages.
    file: String,
}

impl Threads {
    /// The threads of `module` if it imports `thread-spawn` (then it must
    /// import exactly one shared memory), else `None`.
    pub(crate) fn new(engine: &Engine, module: &Module, wasi: Arc<Mutex<WasiCtx>>, file: String) -> Result<Option<Arc<Threads>>> {
        if !module.imports().any(|(m, n, _)| (m, n) == SPAWN) {
            return Ok(None);
        }
        let memories: Vec<_> = module.memory_imports().collect();
        let [(m, n, ty)] = memories.as_slice() else {
            bail!("{file}: a wasi-threads program imports one memory; this one imports {}", memories.len())
        };
        if !ty.shared {
            bail!("{file}: a wasi-threads program imports a shared memory; `{m}`.`{n}` is not shared");
        }
        let memory = SharedMemory::new(*ty).map_err(|e| anyhow!("{file}: memory `{m}`.`{n}`: {e}"))?;
        Ok(Some(Arc::new(Threads {
            engine: engine.clone(),
            module: module.clone(),
            memory: (m.to_string(), n.to_string(), memory),
            wasi,
            next_id: AtomicI32::new(1),
            file,
        })))
    }

    /// Defines the shared memory and `thread-spawn` in a thread's linker.
    pub(crate) fn define(self: &Arc<Self>, linker: &mut Linker, store: &mut Store) -> Result<(), Error> {
        let (module, name, shared) = &self.memory;
        linker.define(module, name, Memory::from_shared(&mut *store, shared)?);
        let threads = Arc::clone(self);
        let spawn = Func::wrap(&mut *store, move |start_arg: i32| -> i32 { threads.spawn(start_arg) });
        linker.define(SPAWN.0, SPAWN.1, spawn);
        Ok(())
    }

    /// `thread-spawn`: the new thread's id, or -1.
    fn spawn(self: &Arc<Self>, start_arg: i32) -> i32 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if !(1..=MAX_THREAD_ID).contains(&id) {
            return -1;
        }
        let threads = Arc::clone(self);
        let thread = std::thread::Builder::new()
            .name(format!("wasi-thread-{id}"))
            .stack_size(THREAD_STACK + self.engine.max_wasm_stack())
            .spawn(move || threads.run(id, start_arg));
        if thread.is_ok() { id } else { -1 }
    }

    /// A spawned thread: its own store and instance, then
    /// `wasi_thread_start(id, start_arg)`. Ends the process if the thread
    /// exits or traps.
    fn run(self: Arc<Self>, id: i32, start_arg: i32) {
        let outcome = self.start(id, start_arg);
        let Err(error) = outcome else { return };
        let _ = std::io::stdout().flush();
        if let Some(code) = error.downcast_ref::<Error>().and_then(kiln_wasi::exit_code) {
            std::process::exit(i32::from(code as u8));
        }
        let file = &self.file;
        match error.downcast_ref::<Error>() {
            Some(Error::Trap(trap)) => {
                eprintln!("kiln: error: {file}: thread {id}: wasm trap: {trap} (trap code {:?})", trap.code());
                std::process::exit(i32::from(TRAP_EXIT_CODE));
            }
            _ => {
                eprintln!("kiln: error: {file}: thread {id}: {error:#}");
                std::process::exit(1);
            }
        }
    }

    fn start(self: &Arc<Self>, id: i32, start_arg: i32) -> Result<()> {
        let mut store = Store::new(&self.engine);
        let mut linker = Linker::new(&self.engine);
        kiln_wasi::add_to_linker_shared(&mut linker, &mut store, Arc::clone(&self.wasi))?;
        self.define(&mut linker, &mut store)?;
        let instance = linker.instantiate(&mut store, &self.module)?;
        let start = instance
            .get_func(&store, THREAD_START)
            .ok_or_else(|| anyhow!("no exported function `{THREAD_START}` to start thread {id} in"))?;
        start.call(&mut store, &[Val::I32(id), Val::I32(start_arg)], &mut [])?;
        Ok(())
    }
}

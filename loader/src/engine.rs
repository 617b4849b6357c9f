//! The engine: configuration, the engine-wide signature registry, and the
//! one-time process setup (the fault handler).

use crate::signatures::SignatureRegistry;
use std::sync::{Arc, OnceLock};

/// Default limit of the wasm stack: 1 MiB.
pub const DEFAULT_MAX_WASM_STACK: usize = 1 << 20;

/// Engine configuration.
#[derive(Clone, Debug)]
pub struct Config {
    max_wasm_stack: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config { max_wasm_stack: DEFAULT_MAX_WASM_STACK }
    }
}

impl Config {
    /// The default configuration.
    pub fn new() -> Config {
        Config::default()
    }

    /// How many bytes of native stack wasm code may use below the point where
    /// the host first calls into it. Deeper recursion traps with
    /// [`TrapCode::StackOverflow`](kiln_abi::TrapCode::StackOverflow). The
    /// limit is also kept a safety margin above the bottom of the thread's
    /// stack, so a small thread stack lowers it.
    pub fn max_wasm_stack(&mut self, bytes: usize) -> &mut Config {
        self.max_wasm_stack = bytes;
        self
    }
}

/// Shared state of all stores and modules that use one configuration. Cheap
/// to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    config: Config,
    signatures: SignatureRegistry,
}

impl Default for Engine {
    fn default() -> Engine {
        Engine::new(&Config::default())
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl Engine {
    /// Creates an engine. The first engine of the process installs kiln's
    /// SIGSEGV/SIGBUS handler (which hands every fault it does not claim to
    /// the handler that was installed before it).
    pub fn new(config: &Config) -> Engine {
        // A failure is reported by the first call into wasm.
        let _ = process_setup();
        Engine { inner: Arc::new(EngineInner { config: config.clone(), signatures: SignatureRegistry::default() }) }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The limit of the wasm stack in bytes ([`Config::max_wasm_stack`]):
    /// a thread that runs wasm needs that much native stack and some more.
    pub fn max_wasm_stack(&self) -> usize {
        self.inner.config.max_wasm_stack
    }

    pub(crate) fn signatures(&self) -> &SignatureRegistry {
        &self.inner.signatures
    }

    /// Whether two handles refer to the same engine.
    pub fn same(a: &Engine, b: &Engine) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }
}

static SETUP: OnceLock<Result<(), String>> = OnceLock::new();

fn process_setup() -> &'static Result<(), String> {
    SETUP.get_or_init(|| {
        let code = kiln_abi::TrapCode::MemoryOutOfBounds.as_u32();
        crate::sys::install_fault_handlers(crate::registry::classify_fault, code)
            .map_err(|e| format!("cannot install the fault handler: {e}"))
    })
}

/// Fails if the process-wide setup failed: without the fault handler an
/// out-of-bounds access would crash the process instead of trapping, so no
/// wasm may run.
pub(crate) fn check_process_setup() -> Result<(), crate::Error> {
    process_setup().clone().map_err(crate::Error::Resource)
}

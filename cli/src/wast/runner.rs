//! The script's state — modules, instances, registered names — and the
//! directives that build it and call into it. The assertions about
//! rejected modules live in `assertions.rs`.
//!
//! Every module or instance a directive refers to is a [`Slot`]: there, or
//! [`Unavailable`] with the reason. A directive that depends on an
//! unavailable module inherits its reason: unsupported (for the feature
//! kiln named) when the module was unsupported, a failure pointing at the
//! module's line when it failed for any other reason. Nothing is skipped.
//!
//! A module kiln cannot compile because it needs an unsupported feature
//! may still have been meant to change instances the script already has:
//! write their memories or tables through imports, set their mutable
//! globals, call into them from its start function. Those instances are
//! *tainted* with the feature, and every later directive that uses one
//! counts as unsupported for it, before it runs (whatever it would have
//! observed depends on the missing module). So is an instance that imports
//! such state from a tainted one.

use super::env::{self, CallFailure, Env, InstantiateFailure, Rejection};
use super::report::Outcome;
use super::values::{self, Value};
use std::collections::HashMap;
use wast::core::Module as ModuleText;
use wast::{QuoteWat, WastDirective, WastExecute, WastInvoke, Wat};

/// Why a module or instance a directive refers to does not exist.
#[derive(Clone, Debug)]
pub(super) enum Unavailable {
    /// kiln does not implement the named feature.
    Unsupported(String),
    /// The module of line `line` failed, for `reason`.
    Failed { line: usize, reason: String },
}

impl Unavailable {
    /// The outcome of the directive at `line` that needed it.
    pub(super) fn outcome(&self, line: usize) -> Outcome {
        match self {
            Unavailable::Unsupported(feature) => Outcome::Unsupported(feature.clone()),
            Unavailable::Failed { line: at, reason } if *at == line => Outcome::Fail(reason.clone()),
            Unavailable::Failed { line: at, reason } => {
                Outcome::Fail(format!("depends on the module of line {at}, which failed: {reason}"))
            }
        }
    }
}

pub(super) type Slot<T> = Result<T, Unavailable>;

/// What an action (an invocation, a global read, or a module instantiated
/// for `assert_trap`) did.
pub(super) enum Action {
    /// It returned these values.
    Returned(Vec<Value>),
    /// It trapped with this message.
    Trapped(String),
    /// It raised a wasm exception that no handler caught (described).
    Threw(String),
}

pub(super) struct Runner {
    pub(super) env: Env,
    /// Line (1-based) of the directive being run.
    pub(super) line: usize,
    /// The most recent instance (or why there is none).
    current: Option<Slot<env::Instance>>,
    /// Instances by `$id`.
    instances: HashMap<String, Slot<env::Instance>>,
    /// `(module definition $id ...)` modules by `$id`.
    definitions: HashMap<String, Slot<env::Module>>,
    /// Instances by the name given to `register`.
    registered: HashMap<String, Slot<env::Instance>>,
    /// Instances an unsupported module would have changed, with the
    /// feature it needed.
    tainted: HashMap<env::Instance, String>,
}

/// The `$id` of a module in the text format.
fn module_id(wat: &QuoteWat<'_>) -> Option<String> {
    match wat {
        QuoteWat::Wat(Wat::Module(ModuleText { id: Some(id), .. })) => Some(id.name().to_string()),
        _ => None,
    }
}

impl Runner {
    pub(super) fn new(env: Env) -> Runner {
        Runner {
            env,
            line: 0,
            current: None,
            instances: HashMap::new(),
            definitions: HashMap::new(),
            registered: HashMap::new(),
            tainted: HashMap::new(),
        }
    }

    /// Runs one directive.
    pub(super) fn run(&mut self, directive: WastDirective<'_>) -> Outcome {
        match directive {
            WastDirective::Module(mut wat) => {
                let id = module_id(&wat);
                let slot = self.module(&mut wat).and_then(|m| self.instantiate(&m));
                let outcome = self.slot_outcome(&slot);
                self.set_current(id, slot);
                outcome
            }
            WastDirective::ModuleDefinition(mut wat) => {
                let id = module_id(&wat);
                let slot = self.module(&mut wat);
                let outcome = self.slot_outcome(&slot);
                if let Some(id) = id {
                    self.definitions.insert(id, slot);
                }
                outcome
            }
            WastDirective::ModuleInstance { instance, module, .. } => {
                let Some(module) = module else {
                    return Outcome::Fail("(module instance) names no module definition".into());
                };
                let slot = match self.definitions.get(module.name()) {
                    Some(Ok(m)) => {
                        let m = m.clone();
                        self.instantiate(&m)
                    }
                    Some(Err(u)) => Err(u.clone()),
                    None => return Outcome::Fail(format!("no module definition named ${}", module.name())),
                };
                let outcome = self.slot_outcome(&slot);
                self.set_current(instance.map(|i| i.name().to_string()), slot);
                outcome
            }
            WastDirective::Register { name, module, .. } => self.register(name, module.map(|m| m.name())),
            WastDirective::Invoke(invoke) => match self.invoke(&invoke) {
                Ok(Action::Returned(_)) => Outcome::Pass,
                Ok(Action::Trapped(t)) => Outcome::Fail(format!("trapped: {t}")),
                Ok(Action::Threw(e)) => Outcome::Fail(format!("uncaught {e}")),
                Err(o) => o,
            },
            WastDirective::AssertReturn { exec, results, .. } => self.assert_return(exec, &results),
            WastDirective::AssertTrap { exec, message, .. } => {
                let action = self.execute(exec);
                expect_trap(action, message)
            }
            WastDirective::AssertExhaustion { call, message, .. } => {
                let action = self.invoke(&call);
                expect_trap(action, message)
            }
            WastDirective::AssertInvalid { module, message, .. } => self.assert_invalid(module, message),
            WastDirective::AssertMalformed { module, message, .. } => self.assert_malformed(module, message),
            WastDirective::AssertUnlinkable { module, message, .. } => self.assert_unlinkable(module, message),
            WastDirective::AssertInvalidCustom { module, message, .. } => self.assert_invalid_custom(module, message),
            WastDirective::AssertMalformedCustom { module, message, .. } => {
                self.assert_malformed_custom(module, message)
            }
            WastDirective::AssertException { exec, .. } => match self.execute(exec) {
                Ok(Action::Threw(_)) => Outcome::Pass,
                Ok(Action::Returned(v)) => Outcome::Fail(format!("expected an exception, got {}", list(&v))),
                Ok(Action::Trapped(t)) => Outcome::Fail(format!("expected an exception, got trap `{t}`")),
                Err(o) => o,
            },
            WastDirective::AssertSuspension { .. } => {
                Outcome::Fail("the runner does not implement `assert_suspension` (stack switching)".into())
            }
            WastDirective::Thread(_) | WastDirective::Wait { .. } => {
                Outcome::Fail("`thread` and `wait` are run by the script loop, not here".into())
            }
        }
    }

    fn slot_outcome<T>(&self, slot: &Slot<T>) -> Outcome {
        match slot {
            Ok(_) => Outcome::Pass,
            Err(u) => u.outcome(self.line),
        }
    }

    fn set_current(&mut self, id: Option<String>, slot: Slot<env::Instance>) {
        if let Some(id) = id {
            self.instances.insert(id, slot.clone());
        }
        self.current = Some(slot);
    }

    fn register(&mut self, name: &str, module: Option<&str>) -> Outcome {
        let slot = match module {
            Some(id) => self.instances.get(id).cloned(),
            None => self.current.clone(),
        };
        let Some(slot) = slot else {
            return Outcome::Fail(format!(
                "register: no instance {}",
                module.map_or("yet".into(), |m| format!("${m}"))
            ));
        };
        let outcome = match &slot {
            Ok(instance) => match self.env.register(name, instance) {
                Ok(()) => Outcome::Pass,
                Err(e) => return Outcome::Fail(format!("register: {e}")),
            },
            Err(u) => u.outcome(self.line),
        };
        self.registered.insert(name.to_string(), slot);
        outcome
    }

    /// The instance `$name`, or the current one; an unavailable or tainted
    /// one gives the directive's outcome instead.
    fn instance(&self, name: Option<&str>) -> Result<env::Instance, Outcome> {
        let slot = match name {
            Some(n) => self.instances.get(n).ok_or_else(|| Outcome::Fail(format!("no instance named ${n}")))?,
            None => self.current.as_ref().ok_or_else(|| Outcome::Fail("no module instantiated yet".into()))?,
        };
        let instance = slot.clone().map_err(|u| u.outcome(self.line))?;
        match self.tainted.get(&instance) {
            Some(feature) => Err(Outcome::Unsupported(feature.clone())),
            None => Ok(instance),
        }
    }

    /// The instance `$name` (for a thread that shares it).
    pub(super) fn named_instance(&self, name: &str) -> Result<env::Instance, Outcome> {
        self.instance(Some(name))
    }

    /// Compiles and instantiates `wasm` as the instance `$id` (a thread's
    /// stand-in for the module it shares).
    pub(super) fn add_instance(&mut self, id: &str, wasm: &[u8]) -> Result<(), String> {
        let module = self.compile(wasm).map_err(|u| format!("{u:?}"))?;
        let instance = self.instantiate(&module).map_err(|u| format!("{u:?}"))?;
        self.instances.insert(id.to_string(), Ok(instance));
        Ok(())
    }

    /// Assembles a module's text and compiles and loads it.
    pub(super) fn module(&mut self, wat: &mut QuoteWat<'_>) -> Slot<env::Module> {
        let line = self.line;
        let bytes = wat.encode().map_err(|e| Unavailable::Failed {
            line,
            reason: format!("the module text does not assemble: {}", first_line(&e.to_string())),
        })?;
        self.compile(&bytes)
    }

    /// Compiles and loads a binary module. When it is unsupported, the
    /// registered instances it could have changed are tainted.
    pub(super) fn compile(&mut self, bytes: &[u8]) -> Slot<env::Module> {
        let line = self.line;
        match self.env.load(bytes) {
            Ok(m) => Ok(m),
            Err(Rejection::Unsupported(feature)) => {
                for name in env::state_imports(bytes) {
                    if let Some(Ok(instance)) = self.registered.get(&name) {
                        self.tainted.entry(*instance).or_insert_with(|| feature.clone());
                    }
                }
                Err(Unavailable::Unsupported(feature))
            }
            Err(Rejection::Malformed(e)) => {
                Err(Unavailable::Failed { line, reason: format!("kiln rejected it as malformed: {e}") })
            }
            Err(Rejection::Invalid(e)) => {
                Err(Unavailable::Failed { line, reason: format!("kiln rejected it as invalid: {e}") })
            }
            Err(Rejection::Other(e)) => Err(Unavailable::Failed { line, reason: e }),
        }
    }

    /// Why `module` cannot be instantiated before trying: one of the names
    /// it imports from was registered for an unavailable instance, or is
    /// an instance tainted by an unsupported module.
    pub(super) fn missing_import(&self, module: &env::Module) -> Option<Unavailable> {
        module.imports().find_map(|(name, _, _)| match self.registered.get(name) {
            Some(Err(u)) => Some(u.clone()),
            _ => None,
        })
    }

    /// The feature of a tainted instance `module` imports state from.
    fn inherited_taint(&self, module: &env::Module) -> Option<String> {
        module.imports().find_map(|(name, _, _)| match self.registered.get(name) {
            Some(Ok(instance)) => self.tainted.get(instance).cloned(),
            _ => None,
        })
    }

    pub(super) fn instantiate(&mut self, module: &env::Module) -> Slot<env::Instance> {
        if let Some(u) = self.missing_import(module) {
            return Err(u);
        }
        let line = self.line;
        let instance = self.env.instantiate(module).map_err(|e| match e {
            InstantiateFailure::Unsupported(f) => Unavailable::Unsupported(f),
            InstantiateFailure::Trap(t) => {
                Unavailable::Failed { line, reason: format!("trap during instantiation: {t}") }
            }
            InstantiateFailure::Link(e) => Unavailable::Failed { line, reason: format!("link error: {e}") },
            InstantiateFailure::Other(e) => Unavailable::Failed { line, reason: e },
        })?;
        if let Some(feature) = self.inherited_taint(module) {
            self.tainted.insert(instance, feature);
        }
        Ok(instance)
    }

    /// Runs an action. `Err` is a directive's outcome when the action could
    /// not run at all (its module is unavailable, an export is missing).
    pub(super) fn execute(&mut self, exec: WastExecute<'_>) -> Result<Action, Outcome> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(module.map(|m| m.name()))?;
                match self.env.get_global(&instance, global) {
                    Ok(v) => Ok(Action::Returned(vec![v])),
                    Err(e) => Err(call_failure(e)),
                }
            }
            WastExecute::Wat(wat) => {
                let module = self.module(&mut QuoteWat::Wat(wat)).map_err(|u| u.outcome(self.line))?;
                if let Some(u) = self.missing_import(&module) {
                    return Err(u.outcome(self.line));
                }
                match self.env.instantiate(&module) {
                    Ok(_) => Ok(Action::Returned(Vec::new())),
                    Err(InstantiateFailure::Trap(t)) => Ok(Action::Trapped(t)),
                    Err(InstantiateFailure::Unsupported(f)) => Err(Outcome::Unsupported(f)),
                    Err(InstantiateFailure::Link(e)) => Err(Outcome::Fail(format!("link error: {e}"))),
                    Err(InstantiateFailure::Other(e)) => Err(Outcome::Fail(e)),
                }
            }
        }
    }

    pub(super) fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Action, Outcome> {
        let instance = self.instance(invoke.module.map(|m| m.name()))?;
        let args = invoke
            .args
            .iter()
            .map(values::arg)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|what| Outcome::Fail(format!("the runner cannot pass {what}")))?;
        match self.env.invoke(&instance, invoke.name, &args) {
            Ok(v) => Ok(Action::Returned(v)),
            Err(CallFailure::Trap(t)) => Ok(Action::Trapped(t)),
            Err(CallFailure::Exception(e)) => Ok(Action::Threw(e)),
            Err(e) => Err(call_failure(e)),
        }
    }

    fn assert_return(&mut self, exec: WastExecute<'_>, results: &[wast::WastRet<'_>]) -> Outcome {
        let actual = match self.execute(exec) {
            Ok(Action::Returned(v)) => v,
            Ok(Action::Trapped(t)) => return Outcome::Fail(format!("trapped: {t}")),
            Ok(Action::Threw(e)) => return Outcome::Fail(format!("uncaught {e}")),
            Err(o) => return o,
        };
        if actual.len() != results.len() {
            return Outcome::Fail(format!("expected {} results, got {}", results.len(), list(&actual)));
        }
        for (i, (a, e)) in actual.iter().zip(results).enumerate() {
            match values::matches(a, e) {
                Ok(true) => {}
                Ok(false) => return Outcome::Fail(format!("result {i}: got {a}, expected {}", values::expected(e))),
                Err(what) => return Outcome::Fail(format!("the runner cannot check {what}")),
            }
        }
        Outcome::Pass
    }
}

fn call_failure(e: CallFailure) -> Outcome {
    match e {
        CallFailure::Unsupported(f) => Outcome::Unsupported(f),
        CallFailure::Trap(t) => Outcome::Fail(format!("trapped: {t}")),
        CallFailure::Exception(e) => Outcome::Fail(format!("uncaught {e}")),
        CallFailure::Other(e) => Outcome::Fail(e),
    }
}

/// `assert_trap` and `assert_exhaustion`: the action must trap, with a
/// message the expected text is a prefix of (the reference interpreter's
/// rule).
fn expect_trap(action: Result<Action, Outcome>, expected: &str) -> Outcome {
    match action {
        Ok(Action::Trapped(actual)) if actual.starts_with(expected) => Outcome::Pass,
        Ok(Action::Trapped(actual)) => Outcome::Fail(format!("expected trap `{expected}`, got trap `{actual}`")),
        Ok(Action::Returned(v)) => Outcome::Fail(format!("expected trap `{expected}`, got {}", list(&v))),
        Ok(Action::Threw(e)) => Outcome::Fail(format!("expected trap `{expected}`, got uncaught {e}")),
        Err(o) => o,
    }
}

/// Values as a reader wants them in a failure message.
fn list(values: &[Value]) -> String {
    if values.is_empty() {
        return "a normal return".into();
    }
    let v: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    format!("results [{}]", v.join(", "))
}

/// The first line of an error (the `wast` crate's errors continue with the
/// source excerpt).
pub(super) fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

//! Runs WebAssembly spec test scripts (`.wast`) through the whole kiln
//! pipeline: every module is compiled to a native library by the optimizing
//! compiler, linked, loaded and instantiated exactly as a user's module
//! would be, and every assertion is checked against what the native code
//! does.
//!
//! Each directive ends as passed, failed or skipped. A directive is skipped
//! only when it needs a feature kiln does not implement yet, and the report
//! names that feature; anything else that goes wrong is a failure.

mod env;
mod table;
pub mod values;

pub use table::{format_table, totals_line};

use env::{CallFailure, Env, InstantiateFailure, LoadFailure};
use kiln_llvm::CompileOptions;
use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use values::Value;
use wast::core::Module;
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastDirective, WastExecute, WastInvoke, Wat};

/// The outcome of one script.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The script's name (usually its path).
    pub name: String,
    /// Directives that passed.
    pub passed: u32,
    /// Directives that failed.
    pub failed: u32,
    /// Directives skipped for a missing feature.
    pub skipped: u32,
    /// Skipped directives per missing feature.
    pub skip_reasons: BTreeMap<String, u32>,
    /// One line per failed directive: `line:col: what went wrong`.
    pub failures: Vec<String>,
}

impl Report {
    /// Total directives counted.
    pub fn total(&self) -> u32 {
        self.passed + self.failed + self.skipped
    }

    /// The skip reasons as one short string, most frequent first.
    pub fn skip_summary(&self) -> String {
        let mut reasons: Vec<_> = self.skip_reasons.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        reasons.iter().map(|(r, n)| format!("{r} ({n})")).collect::<Vec<_>>().join(", ")
    }

    fn record(&mut self, line: usize, col: usize, outcome: Outcome) {
        match outcome {
            Outcome::Pass => self.passed += 1,
            Outcome::Fail(msg) => {
                self.failed += 1;
                self.failures.push(format!("{}:{line}:{col}: {msg}", self.name));
            }
            Outcome::Skip(feature) => {
                self.skipped += 1;
                *self.skip_reasons.entry(feature).or_default() += 1;
            }
        }
    }
}

/// Runs the script at `path`.
pub fn run_file(path: &Path, opts: &CompileOptions) -> Report {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(source) => run_script(&name, &source, opts),
        Err(e) => {
            let mut report = Report { name, ..Report::default() };
            report.record(0, 0, Outcome::Fail(format!("cannot read the script: {e}")));
            report
        }
    }
}

/// Runs a script given as text; `name` labels the report.
pub fn run_script(name: &str, source: &str, opts: &CompileOptions) -> Report {
    let mut report = Report { name: name.to_string(), ..Report::default() };
    let fail_whole = |report: &mut Report, msg: String| report.record(0, 0, Outcome::Fail(msg));
    // Spec scripts deliberately use bidi-control and other confusable
    // characters inside names (names.wast); they are valid wasm text.
    let mut lexer = Lexer::new(source);
    lexer.allow_confusing_unicode(true);
    let buf = match ParseBuffer::new_with_lexer(lexer) {
        Ok(b) => b,
        Err(e) => {
            fail_whole(&mut report, format!("cannot tokenize the script: {e}"));
            return report;
        }
    };
    let script = match parser::parse::<Wast>(&buf) {
        Ok(s) => s,
        Err(_) if source.contains("(try") && source.contains("(catch") => {
            // The legacy exception-handling scripts use a folded `try` form
            // that the text parser no longer reads; kiln does not implement
            // exception handling either.
            report.record(0, 0, Outcome::Skip("legacy exception handling".into()));
            return report;
        }
        Err(mut e) => {
            e.set_text(source);
            fail_whole(&mut report, format!("cannot parse the script: {e}"));
            return report;
        }
    };
    let mut runner = match Env::new(opts) {
        Ok(env) => Runner {
            env,
            current: None,
            instances: HashMap::new(),
            definitions: HashMap::new(),
            unavailable_registrations: HashMap::new(),
            registered: HashMap::new(),
            tainted: HashMap::new(),
        },
        Err(e) => {
            fail_whole(&mut report, e);
            return report;
        }
    };
    for directive in script.directives {
        let (line, col) = directive.span().linecol_in(source);
        let outcome = catch_unwind(AssertUnwindSafe(|| runner.directive(directive)))
            .unwrap_or_else(|panic| Outcome::Fail(format!("kiln panicked: {}", panic_message(&panic))));
        report.record(line + 1, col + 1, outcome);
    }
    report
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

/// Why a module or instance a directive refers to does not exist.
#[derive(Clone)]
enum Unavailable {
    Skip(String),
    Fail(String),
}

impl Unavailable {
    fn outcome(&self) -> Outcome {
        match self {
            Unavailable::Skip(f) => Outcome::Skip(f.clone()),
            Unavailable::Fail(m) => Outcome::Fail(format!("the module it uses is unavailable: {m}")),
        }
    }
}

type Slot<T> = Result<T, Unavailable>;

struct Runner {
    env: Env,
    current: Option<Slot<env::Instance>>,
    instances: HashMap<String, Slot<env::Instance>>,
    definitions: HashMap<String, Slot<env::Module>>,
    /// Names given to `register` whose instance is unavailable.
    unavailable_registrations: HashMap<String, Unavailable>,
    /// Registered instances by name.
    registered: HashMap<String, env::Instance>,
    /// Instances whose state a skipped module would have changed (through
    /// imports of their memories, tables or globals, or calls from its start
    /// function), with the feature that module needed. What is observed on
    /// them afterwards cannot be judged.
    tainted: HashMap<env::Instance, String>,
}

fn module_id(wat: &QuoteWat<'_>) -> Option<String> {
    match wat {
        QuoteWat::Wat(Wat::Module(Module { id: Some(id), .. })) => Some(id.name().to_string()),
        _ => None,
    }
}

impl Runner {
    /// Runs a directive; a failure observed on an instance that a skipped
    /// module would have changed is reported as skipped for that module's
    /// feature.
    fn directive(&mut self, directive: WastDirective<'_>) -> Outcome {
        let target = match &directive {
            WastDirective::Invoke(i) | WastDirective::AssertExhaustion { call: i, .. } => Some(i.module),
            WastDirective::AssertReturn { exec, .. } | WastDirective::AssertTrap { exec, .. } => match exec {
                WastExecute::Invoke(i) => Some(i.module),
                WastExecute::Get { module, .. } => Some(*module),
                WastExecute::Wat(_) => None,
            },
            _ => None,
        };
        let taint = target.and_then(|m| {
            let inst = self.instance(m.map(|m| m.name())).ok()?;
            self.tainted.get(&inst).cloned()
        });
        match (self.run(directive), taint) {
            (Outcome::Fail(_), Some(feature)) => Outcome::Skip(feature),
            (outcome, _) => outcome,
        }
    }

    fn run(&mut self, directive: WastDirective<'_>) -> Outcome {
        match directive {
            WastDirective::Module(mut wat) => {
                let id = module_id(&wat);
                let slot = self.compile(&mut wat).and_then(|m| self.instantiate(&m));
                let outcome = match &slot {
                    Ok(_) => Outcome::Pass,
                    Err(u) => u.outcome(),
                };
                self.set_current(id, slot);
                outcome
            }
            WastDirective::ModuleDefinition(mut wat) => {
                let id = module_id(&wat);
                let slot = self.compile(&mut wat);
                let outcome = match &slot {
                    Ok(_) => Outcome::Pass,
                    Err(u) => u.outcome(),
                };
                if let Some(id) = id {
                    self.definitions.insert(id, slot);
                }
                outcome
            }
            WastDirective::ModuleInstance { instance, module, .. } => {
                let Some(module) = module else {
                    return Outcome::Fail("(module instance) without a module name".into());
                };
                let slot = match self.definitions.get(module.name()) {
                    Some(Ok(m)) => {
                        let m = m.clone();
                        self.instantiate(&m)
                    }
                    Some(Err(u)) => Err(u.clone()),
                    None => return Outcome::Fail(format!("no module definition named ${}", module.name())),
                };
                let outcome = match &slot {
                    Ok(_) => Outcome::Pass,
                    Err(u) => u.outcome(),
                };
                self.set_current(instance.map(|i| i.name().to_string()), slot);
                outcome
            }
            WastDirective::Register { name, module, .. } => {
                let slot = match module {
                    Some(m) => self.instances.get(m.name()).cloned(),
                    None => self.current.clone(),
                };
                match slot {
                    Some(Ok(inst)) => match self.env.register(name, &inst) {
                        Ok(()) => {
                            self.registered.insert(name.to_string(), inst);
                            Outcome::Pass
                        }
                        Err(e) => Outcome::Fail(e),
                    },
                    Some(Err(u)) => {
                        self.unavailable_registrations.insert(name.to_string(), u.clone());
                        u.outcome()
                    }
                    None => Outcome::Fail("register: no such module instance".into()),
                }
            }
            WastDirective::Invoke(invoke) => match self.invoke(&invoke) {
                Ok(_) => Outcome::Pass,
                Err(o) => o,
            },
            WastDirective::AssertReturn { exec, results, .. } => {
                let actual = match self.execute(exec) {
                    Ok(v) => v,
                    Err(o) => return o,
                };
                if actual.len() != results.len() {
                    return Outcome::Fail(format!("expected {} results, got {}", results.len(), actual.len()));
                }
                for (i, (a, e)) in actual.iter().zip(&results).enumerate() {
                    match values::matches(a, e) {
                        Ok(true) => {}
                        Ok(false) => return Outcome::Fail(format!("result {i}: got {a}, expected {e:?}")),
                        Err(feature) => return Outcome::Skip(feature),
                    }
                }
                Outcome::Pass
            }
            WastDirective::AssertTrap { exec, message, .. } => match self.execute(exec) {
                Ok(v) => Outcome::Fail(format!("expected trap `{message}`, got {}", list(&v))),
                Err(Outcome::Fail(m)) => trap_matches(&m, message),
                Err(o) => o,
            },
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(&call) {
                Ok(v) => Outcome::Fail(format!("expected `{message}`, got {}", list(&v))),
                Err(Outcome::Fail(m)) => trap_matches(&m, message),
                Err(o) => o,
            },
            WastDirective::AssertInvalid { module, message, .. } => self.expect_rejected(module, message),
            WastDirective::AssertMalformed { module, message, .. } => self.expect_rejected(module, message),
            WastDirective::AssertUnlinkable { module, message, .. } => {
                let mut wat = QuoteWat::Wat(module);
                let module = match self.compile(&mut wat) {
                    Ok(m) => m,
                    Err(u) => return u.outcome(),
                };
                if let Some(u) = self.missing_registration(&module) {
                    return u.outcome();
                }
                match self.env.instantiate(&module) {
                    Ok(_) => Outcome::Fail(format!("instantiated, but expected a link error `{message}`")),
                    Err(InstantiateFailure::Link(_)) => Outcome::Pass,
                    Err(InstantiateFailure::Unsupported(f)) => Outcome::Skip(f),
                    Err(InstantiateFailure::Trap(t)) => Outcome::Fail(format!("trapped ({t}), expected link error `{message}`")),
                    Err(InstantiateFailure::Other(e)) => Outcome::Fail(e),
                }
            }
            WastDirective::AssertException { .. } => Outcome::Skip("exception handling".into()),
            WastDirective::AssertSuspension { .. } => Outcome::Skip("stack switching".into()),
            WastDirective::Thread(_) | WastDirective::Wait { .. } => Outcome::Skip("threads".into()),
            WastDirective::AssertInvalidCustom { .. } | WastDirective::AssertMalformedCustom { .. } => {
                Outcome::Skip("custom-section annotations".into())
            }
        }
    }

    fn set_current(&mut self, id: Option<String>, slot: Slot<env::Instance>) {
        if let Some(id) = id {
            self.instances.insert(id, slot.clone());
        }
        self.current = Some(slot);
    }

    fn instance(&self, name: Option<&str>) -> Result<env::Instance, Outcome> {
        let slot = match name {
            Some(n) => self.instances.get(n).ok_or_else(|| Outcome::Fail(format!("no instance named ${n}")))?,
            None => self.current.as_ref().ok_or_else(|| Outcome::Fail("no module instantiated yet".into()))?,
        };
        slot.clone().map_err(|u| u.outcome())
    }

    fn compile(&mut self, wat: &mut QuoteWat<'_>) -> Slot<env::Module> {
        let bytes = wat.encode().map_err(|e| Unavailable::Fail(format!("module text does not assemble: {e}")))?;
        match self.env.load(&bytes) {
            Ok(m) => Ok(m),
            Err(LoadFailure::Unsupported(f)) => {
                for name in env::import_modules(&bytes) {
                    if let Some(inst) = self.registered.get(&name) {
                        self.tainted.entry(*inst).or_insert_with(|| f.clone());
                    }
                }
                Err(Unavailable::Skip(f))
            }
            Err(LoadFailure::Invalid(e)) | Err(LoadFailure::Other(e)) => Err(Unavailable::Fail(e)),
        }
    }

    fn instantiate(&mut self, module: &env::Module) -> Slot<env::Instance> {
        self.env.instantiate(module).map_err(|e| match e {
            InstantiateFailure::Unsupported(f) => Unavailable::Skip(f),
            InstantiateFailure::Trap(t) => Unavailable::Fail(format!("trap during instantiation: {t}")),
            InstantiateFailure::Link(e) => self.missing_registration(module).unwrap_or(Unavailable::Fail(e)),
            InstantiateFailure::Other(e) => Unavailable::Fail(e),
        })
    }

    /// Why a module's imports could not be found, when they come from a
    /// registered name whose module is unavailable.
    fn missing_registration(&self, module: &env::Module) -> Option<Unavailable> {
        module.imports().find_map(|(m, _, _)| self.unavailable_registrations.get(m).cloned())
    }

    /// Runs an action; a trap comes back as `Err(Outcome::Fail(trap message))`.
    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Vec<Value>, Outcome> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Get { module, global, .. } => {
                let inst = self.instance(module.map(|m| m.name()))?;
                self.env.get_global(&inst, global).map(|v| vec![v]).map_err(|e| match e {
                    CallFailure::Unsupported(f) => Outcome::Skip(f),
                    CallFailure::Trap(t) | CallFailure::Other(t) => Outcome::Fail(t),
                })
            }
            WastExecute::Wat(wat) => {
                let mut wat = QuoteWat::Wat(wat);
                let module = self.compile(&mut wat).map_err(|u| u.outcome())?;
                if let Some(u) = self.missing_registration(&module) {
                    return Err(u.outcome());
                }
                match self.env.instantiate(&module) {
                    Ok(_) => Ok(Vec::new()),
                    Err(InstantiateFailure::Trap(t)) => Err(Outcome::Fail(t)),
                    Err(InstantiateFailure::Unsupported(f)) => Err(Outcome::Skip(f)),
                    Err(InstantiateFailure::Link(e) | InstantiateFailure::Other(e)) => {
                        Err(Outcome::Fail(format!("not a trap: {e}")))
                    }
                }
            }
        }
    }

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Vec<Value>, Outcome> {
        let inst = self.instance(invoke.module.map(|m| m.name()))?;
        let args = invoke.args.iter().map(values::arg).collect::<Result<Vec<_>, _>>().map_err(Outcome::Skip)?;
        self.env.invoke(&inst, invoke.name, &args).map_err(|e| match e {
            CallFailure::Unsupported(f) => Outcome::Skip(f),
            CallFailure::Trap(t) => Outcome::Fail(t),
            CallFailure::Other(e) => Outcome::Fail(format!("not a trap: {e}")),
        })
    }

    /// `assert_invalid` / `assert_malformed`: the module must be rejected.
    fn expect_rejected(&mut self, mut wat: QuoteWat<'_>, message: &str) -> Outcome {
        let bytes = match wat.encode() {
            Ok(b) => b,
            // The text format already rejects it (the usual way for quoted
            // malformed modules).
            Err(_) => return Outcome::Pass,
        };
        match self.env.validate(&bytes) {
            Ok(()) => Outcome::Fail(format!("module was accepted, expected `{message}`")),
            Err(LoadFailure::Invalid(_)) => Outcome::Pass,
            Err(LoadFailure::Unsupported(f)) => Outcome::Skip(f),
            Err(LoadFailure::Other(e)) => Outcome::Fail(e),
        }
    }
}

/// An expected trap message matches if the actual one starts with it (the
/// spec's harness compares prefixes). The reference interpreter appends the
/// offending index to a few messages (`uninitialized element 2`), a detail
/// kiln's trap codes do not carry; such an expectation matches the message
/// without the index.
fn trap_matches(actual: &str, expected: &str) -> Outcome {
    let without_index = expected
        .rsplit_once(' ')
        .filter(|(_, index)| !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()))
        .map_or(expected, |(message, _)| message);
    if actual.starts_with(expected) || actual.contains(expected) || actual == without_index {
        Outcome::Pass
    } else {
        Outcome::Fail(format!("expected trap `{expected}`, got `{actual}`"))
    }
}

fn list(values: &[Value]) -> String {
    if values.is_empty() {
        return "a normal return".into();
    }
    let v: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    format!("results [{}]", v.join(", "))
}

//! Runs `.wast` scripts through kiln-llvm and the test runtime.
#![allow(dead_code)]

use super::runtime::{Exports, Instance, InstantiateError, Library, SpecTest, Val};
use kiln_abi::TrapCode;
use kiln_llvm::{CompileError, CompileOptions};
use std::collections::HashMap;
use std::rc::Rc;
use wast::core::{NanPattern, WastArgCore, WastRetCore};
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet};

/// What happened to a script.
#[derive(Default, Debug)]
pub struct Outcome {
    pub passed: usize,
    pub skipped: usize,
    pub failures: Vec<String>,
}

struct Script<'a> {
    opts: &'a CompileOptions,
    spectest: Rc<SpecTest>,
    registered: HashMap<String, Rc<dyn Exports>>,
    named: HashMap<String, Option<Rc<Instance>>>,
    /// The latest module; `None` if it was skipped as unsupported.
    current: Option<Option<Rc<Instance>>>,
    /// Every instance ever created: like a wasm store, they live until the
    /// script ends (tables may point into any of them).
    store: Vec<Rc<Instance>>,
    stack_limit: usize,
}

enum Failure {
    /// The module uses a feature kiln does not support.
    Skip,
    Fail(String),
}

fn fail<T>(message: impl Into<String>) -> Result<T, Failure> {
    Err(Failure::Fail(message.into()))
}

/// Runs `source` (named `name` in messages).
pub fn run(name: &str, source: &str, opts: &CompileOptions) -> Outcome {
    let mut outcome = Outcome::default();
    let mut lexer = wast::lexer::Lexer::new(source);
    lexer.allow_confusing_unicode(true);
    let buf = match ParseBuffer::new_with_lexer(lexer) {
        Ok(buf) => buf,
        Err(e) => {
            outcome.failures.push(format!("{name}: {e}"));
            return outcome;
        }
    };
    let wast = match parser::parse::<Wast>(&buf) {
        Ok(wast) => wast,
        Err(e) => {
            outcome.failures.push(format!("{name}: {e}"));
            return outcome;
        }
    };
    let marker = 0u8;
    let sp = &marker as *const u8 as usize;
    let mut script = Script {
        opts,
        spectest: Rc::new(SpecTest::new()),
        registered: HashMap::new(),
        named: HashMap::new(),
        current: None,
        store: Vec::new(),
        stack_limit: sp - 24 * 1024 * 1024,
    };
    for directive in wast.directives {
        let (line, col) = directive.span().linecol_in(source);
        match script.directive(directive) {
            Ok(()) => outcome.passed += 1,
            Err(Failure::Skip) => outcome.skipped += 1,
            Err(Failure::Fail(message)) => outcome.failures.push(format!("{name}:{}:{}: {message}", line + 1, col + 1)),
        }
    }
    outcome
}

impl Script<'_> {
    fn directive(&mut self, directive: WastDirective) -> Result<(), Failure> {
        match directive {
            WastDirective::Module(mut module) => {
                let name = module.name().map(|id| id.name().to_string());
                let instance = match self.instantiate(&mut module) {
                    Ok(instance) => Some(instance),
                    Err(Failure::Skip) => None,
                    Err(e) => {
                        self.current = Some(None);
                        return Err(e);
                    }
                };
                if let Some(name) = name {
                    self.named.insert(name, instance.clone());
                }
                let skipped = instance.is_none();
                self.current = Some(instance);
                if skipped { Err(Failure::Skip) } else { Ok(()) }
            }
            WastDirective::Register { name, module, .. } => {
                let instance = self.instance(module.map(|id| id.name()))?;
                self.registered.insert(name.to_string(), instance);
                Ok(())
            }
            WastDirective::Invoke(invoke) => match self.invoke(&invoke)? {
                Ok(_) => Ok(()),
                Err(trap) => fail(format!("unexpected trap: {trap}")),
            },
            WastDirective::AssertReturn { exec, results, .. } => {
                let actual = match self.execute(exec)? {
                    Ok(values) => values,
                    Err(trap) => return fail(format!("unexpected trap: {trap}")),
                };
                if actual.len() != results.len() {
                    return fail(format!("expected {} results, got {actual:?}", results.len()));
                }
                for (value, expected) in actual.iter().zip(&results) {
                    if !matches(value, expected)? {
                        return fail(format!("got {actual:?}, expected {results:?}"));
                    }
                }
                Ok(())
            }
            WastDirective::AssertTrap { exec, message, .. } => match self.execute(exec)? {
                Ok(values) => fail(format!("expected trap `{message}`, got {values:?}")),
                Err(trap) if message.contains(trap.message()) || trap.message().contains(message) => Ok(()),
                Err(trap) => fail(format!("expected trap `{message}`, got `{trap}`")),
            },
            WastDirective::AssertExhaustion { call, .. } => match self.invoke(&call)? {
                Err(TrapCode::StackOverflow) => Ok(()),
                other => fail(format!("expected stack exhaustion, got {other:?}")),
            },
            WastDirective::AssertInvalid { mut module, message, .. } => {
                let wasm = match module.encode() {
                    Ok(wasm) => wasm,
                    Err(e) => return fail(format!("cannot encode: {e}")),
                };
                match kiln_llvm::compile(&wasm, self.opts) {
                    Err(CompileError::Invalid { .. }) => Ok(()),
                    Err(CompileError::Unsupported { .. }) => Err(Failure::Skip),
                    Ok(_) => fail(format!("invalid module (`{message}`) compiled")),
                    Err(e) => fail(format!("invalid module (`{message}`) gave {e}")),
                }
            }
            WastDirective::AssertMalformed { mut module, message, .. } => {
                let Ok(wasm) = module.encode() else { return Ok(()) };
                if matches!(module, QuoteWat::QuoteModule(..)) {
                    return Ok(());
                }
                match kiln_llvm::compile(&wasm, self.opts) {
                    Err(CompileError::Invalid { .. }) => Ok(()),
                    Ok(_) => fail(format!("malformed module (`{message}`) compiled")),
                    Err(e) => fail(format!("malformed module (`{message}`) gave {e}")),
                }
            }
            WastDirective::AssertUnlinkable { module, .. } => {
                let mut quote = QuoteWat::Wat(module);
                match self.instantiate(&mut quote) {
                    Err(Failure::Fail(m)) if m.starts_with("link:") => Ok(()),
                    Err(Failure::Skip) => Err(Failure::Skip),
                    Err(Failure::Fail(m)) => fail(m),
                    Ok(_) => fail("unlinkable module linked"),
                }
            }
            _ => Err(Failure::Skip),
        }
    }

    fn instantiate(&mut self, module: &mut QuoteWat) -> Result<Rc<Instance>, Failure> {
        let wasm = module.encode().map_err(|e| Failure::Fail(format!("cannot encode: {e}")))?;
        let compiled = match kiln_llvm::compile(&wasm, self.opts) {
            Ok(compiled) => compiled,
            Err(CompileError::Unsupported { .. }) => return Err(Failure::Skip),
            Err(e) => return fail(format!("compile: {e}")),
        };
        let library = Rc::new(Library::load(&compiled.object).map_err(Failure::Fail)?);
        let spectest = self.spectest.clone();
        let registered = &self.registered;
        let resolve = |name: &str| -> Option<Rc<dyn Exports>> {
            if name == "spectest" { Some(spectest.clone()) } else { registered.get(name).cloned() }
        };
        match Instance::new(compiled.metadata, library, &resolve, self.stack_limit) {
            Ok(instance) => {
                self.store.push(instance.clone());
                Ok(instance)
            }
            Err(InstantiateError::Link(m)) => {
                // Importing from a module that was skipped is not a kiln failure.
                if m.starts_with("unknown module") { Err(Failure::Skip) } else { fail(format!("link: {m}")) }
            }
            Err(InstantiateError::Trap(trap, instance)) => {
                self.store.push(instance);
                fail(format!("trap: {trap}"))
            }
        }
    }

    fn instance(&self, name: Option<&str>) -> Result<Rc<dyn Exports>, Failure> {
        let instance = match name {
            Some(name) => self.named.get(name).cloned().ok_or_else(|| Failure::Fail(format!("no module {name}")))?,
            None => self.current.clone().ok_or_else(|| Failure::Fail("no module".into()))?,
        };
        instance.map(|i| i as Rc<dyn Exports>).ok_or(Failure::Skip)
    }

    fn wasm_instance(&self, name: Option<&str>) -> Result<Rc<Instance>, Failure> {
        let instance = match name {
            Some(name) => self.named.get(name).cloned().ok_or_else(|| Failure::Fail(format!("no module {name}")))?,
            None => self.current.clone().ok_or_else(|| Failure::Fail("no module".into()))?,
        };
        instance.ok_or(Failure::Skip)
    }

    fn invoke(&self, invoke: &WastInvoke) -> Result<Result<Vec<Val>, TrapCode>, Failure> {
        let instance = self.wasm_instance(invoke.module.map(|id| id.name()))?;
        let args = invoke.args.iter().map(arg).collect::<Result<Vec<_>, _>>()?;
        instance.invoke(invoke.name, &args).map_err(Failure::Fail)
    }

    fn execute(&mut self, exec: WastExecute) -> Result<Result<Vec<Val>, TrapCode>, Failure> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Get { module, global, .. } => {
                let instance = self.wasm_instance(module.map(|id| id.name()))?;
                Ok(Ok(vec![instance.get_global(global).map_err(Failure::Fail)?]))
            }
            WastExecute::Wat(module) => {
                let mut quote = QuoteWat::Wat(module);
                match self.instantiate(&mut quote) {
                    Ok(_) => Ok(Ok(Vec::new())),
                    Err(Failure::Fail(m)) if m.starts_with("trap: ") => {
                        let code = TrapCode::ALL.into_iter().find(|c| m == format!("trap: {c}"));
                        Ok(Err(code.unwrap_or(TrapCode::HostError)))
                    }
                    Err(e) => Err(e),
                }
            }
        }
    }
}

fn arg(arg: &WastArg) -> Result<Val, Failure> {
    match arg {
        WastArg::Core(WastArgCore::I32(v)) => Ok(Val::I32(*v)),
        WastArg::Core(WastArgCore::I64(v)) => Ok(Val::I64(*v)),
        WastArg::Core(WastArgCore::F32(v)) => Ok(Val::F32(v.bits)),
        WastArg::Core(WastArgCore::F64(v)) => Ok(Val::F64(v.bits)),
        _ => Err(Failure::Skip),
    }
}

fn matches(value: &Val, expected: &WastRet) -> Result<bool, Failure> {
    Ok(match (value, expected) {
        (Val::I32(v), WastRet::Core(WastRetCore::I32(e))) => v == e,
        (Val::I64(v), WastRet::Core(WastRetCore::I64(e))) => v == e,
        (Val::F32(v), WastRet::Core(WastRetCore::F32(e))) => match e {
            NanPattern::CanonicalNan => v & 0x7fff_ffff == 0x7fc0_0000,
            NanPattern::ArithmeticNan => v & 0x7fc0_0000 == 0x7fc0_0000,
            NanPattern::Value(e) => *v == e.bits,
        },
        (Val::F64(v), WastRet::Core(WastRetCore::F64(e))) => match e {
            NanPattern::CanonicalNan => v & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
            NanPattern::ArithmeticNan => v & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
            NanPattern::Value(e) => *v == e.bits,
        },
        (_, WastRet::Core(WastRetCore::I32(_) | WastRetCore::I64(_) | WastRetCore::F32(_) | WastRetCore::F64(_))) => {
            false
        }
        _ => return Err(Failure::Skip),
    })
}

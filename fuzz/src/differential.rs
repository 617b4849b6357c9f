//! Target (a): differential execution against the wasmi interpreter.
//!
//! One fuzz input becomes a wasm-smith module ([`crate::smith`]) and a
//! call plan: every exported function, in export order, twice, with
//! arguments taken from the rest of the input (boundary values most of
//! the time). kiln at -O0 and at -O2 (in one bounds-check mode) and wasmi
//! instantiate the module and make the same calls. Instantiation and every
//! call must end alike: the same results (NaNs canonicalized) or the same
//! kind of trap; and after instantiation and after every call, trap or
//! not, the exported globals, memories (size and every byte) and tables
//! (size and which function each element holds) must be equal. State is
//! compared after traps above all: an inexact trap shows up as a store,
//! a global or a table write that happened on one engine and not on the
//! other.
//!
//! Each call starts with the same fuel ([`crate::smith::FUEL_PER_CALL`]),
//! so calls terminate and the call depth stays far below both engines'
//! stack limits: stack exhaustion, where engines legitimately differ, is
//! kept out of reach rather than compared. Should one engine exhaust its
//! stack anyway, that is reported as a divergence like any other.

use crate::engines::kiln::KilnEngine;
use crate::engines::wasmi::WasmiEngine;
use crate::engines::{Engine, RunningInstance, Started};
use crate::smith::{FUEL_EXPORT, FUEL_PER_CALL, FuzzModule};
use crate::state::{Outcome, Snapshot, Value, snapshot_difference};
use crate::target::{Pass, Verdict};
use arbitrary::Unstructured;
use kiln::{CompileOptions, OptLevel};
use kiln_abi::metadata::BoundsChecks;
use std::fmt;
use wasmparser::{ExternalKind, Parser, Payload, TypeRef, ValType};

/// How often each exported function is called.
const ROUNDS: usize = 3;

/// What went differently, for reports and campaign statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DivergenceKind {
    /// kiln could not compile, load or instantiate the module for a reason
    /// other than a trap.
    KilnFailed,
    /// Instantiation ended differently (trap against success, or another
    /// trap).
    Instantiation,
    /// The reference trapped, kiln returned.
    MissingTrap,
    /// kiln trapped, the reference returned.
    SpuriousTrap,
    /// Both trapped, for different reasons.
    TrapKind,
    /// Both returned, different values.
    Results,
    /// State differs after a call that trapped on both engines.
    StateAfterTrap,
    /// State differs after a call that returned on both engines.
    StateAfterReturn,
    /// State differs right after instantiation.
    StateAfterInstantiation,
}

impl fmt::Display for DivergenceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DivergenceKind::KilnFailed => "kiln-failed",
            DivergenceKind::Instantiation => "instantiation",
            DivergenceKind::MissingTrap => "missing-trap",
            DivergenceKind::SpuriousTrap => "spurious-trap",
            DivergenceKind::TrapKind => "trap-kind",
            DivergenceKind::Results => "results",
            DivergenceKind::StateAfterTrap => "state-after-trap",
            DivergenceKind::StateAfterReturn => "state-after-return",
            DivergenceKind::StateAfterInstantiation => "state-after-instantiation",
        })
    }
}

/// One exported function to call: its export name and parameter types.
#[derive(Clone, Debug)]
pub struct Export {
    /// Export name.
    pub name: String,
    /// Parameter types.
    pub params: Vec<ValType>,
}

/// The exported functions of `wasm`, in export order.
pub fn exported_functions(wasm: &[u8]) -> Result<Vec<Export>, String> {
    let mut types = Vec::new();
    let mut func_types = Vec::new();
    let mut exports = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    types.push(ty.map_err(|e| e.to_string())?.params().to_vec());
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if let TypeRef::Func(t) = import.map_err(|e| e.to_string())?.ty {
                        func_types.push(t);
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for t in reader {
                    func_types.push(t.map_err(|e| e.to_string())?);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(|e| e.to_string())?;
                    if export.kind == ExternalKind::Func {
                        let ty = func_types.get(export.index as usize).ok_or("export of an unknown function")?;
                        let params = types.get(*ty as usize).ok_or("function of an unknown type")?.clone();
                        exports.push(Export { name: export.name.to_string(), params });
                    }
                }
            }
            _ => {}
        }
    }
    Ok(exports)
}

/// An argument of type `ty`: a boundary value most of the time (where
/// traps and wrap-arounds are), otherwise any bits.
pub fn argument(u: &mut Unstructured<'_>, ty: ValType) -> arbitrary::Result<Value> {
    const I32S: [i32; 10] = [0, 1, -1, 8, 65535, 65536, 131_072, i32::MIN, i32::MAX, 0x7fff_fff0];
    const I64S: [i64; 8] = [0, 1, -1, 65536, i64::MIN, i64::MAX, 0xffff_ffff, 0x1_0000_0000];
    const F32S: [f32; 8] = [0.0, -0.0, 1.0, -1.5, f32::INFINITY, f32::NAN, 2147483648.0, 4294967296.0];
    const F64S: [f64; 8] = [0.0, -0.0, 1.0, -1.5, f64::NEG_INFINITY, f64::NAN, 9.3e18, -2147483649.0];
    let boundary = u.ratio(3u8, 4u8)?;
    Ok(match ty {
        ValType::I32 if boundary => Value::I32(*u.choose(&I32S)?),
        ValType::I32 => Value::I32(u.arbitrary()?),
        ValType::I64 if boundary => Value::I64(*u.choose(&I64S)?),
        ValType::I64 => Value::I64(u.arbitrary()?),
        ValType::F32 if boundary => Value::F32(u.choose(&F32S)?.to_bits()),
        ValType::F32 => Value::F32(u.arbitrary()?),
        ValType::F64 if boundary => Value::F64(u.choose(&F64S)?.to_bits()),
        ValType::F64 => Value::F64(u.arbitrary()?),
        ValType::V128 if boundary => {
            Value::V128(*u.choose(&[0, u128::MAX, 1, 0x8000_0000_8000_0000_8000_0000_8000_0000])?)
        }
        ValType::V128 => Value::V128(u.arbitrary()?),
        ValType::Ref(r) if r.is_func_ref() => Value::FuncRef(None),
        ValType::Ref(_) => Value::ExternRef(false),
    })
}

/// The differential target: kiln at -O0 and -O2 in one bounds-check mode,
/// against wasmi.
pub struct Differential {
    reference: Box<dyn Engine>,
    others: Vec<Box<dyn Engine>>,
}

impl Differential {
    /// kiln -O0 and -O2 with `bounds_checks`, against wasmi.
    pub fn new(bounds_checks: BoundsChecks) -> Differential {
        let kiln = [OptLevel::O0, OptLevel::O2].map(|opt_level| {
            Box::new(KilnEngine::new(CompileOptions { opt_level, bounds_checks, ..CompileOptions::default() }))
                as Box<dyn Engine>
        });
        Differential::with_engines(Box::new(WasmiEngine::default()), kiln.into())
    }

    /// `others` compared against `reference`.
    pub fn with_engines(reference: Box<dyn Engine>, others: Vec<Box<dyn Engine>>) -> Differential {
        Differential { reference, others }
    }

    /// Runs one fuzz input.
    pub fn run(&self, data: &[u8]) -> Verdict {
        let mut u = Unstructured::new(data);
        let module = match FuzzModule::generate(&mut u) {
            Ok(module) => module,
            Err(e) => return Verdict::Skip(format!("no module from this input: {e}")),
        };
        let exports = match exported_functions(&module.wasm) {
            Ok(exports) => exports,
            Err(e) => return Verdict::Fail(format!("cannot read the generated module back: {e}")),
        };
        let mut plan = Vec::new();
        for _ in 0..ROUNDS {
            for export in &exports {
                let args: arbitrary::Result<Vec<Value>> = export.params.iter().map(|&t| argument(&mut u, t)).collect();
                // Out of input: the remaining arguments are zeros.
                let args = args.unwrap_or_else(|_| export.params.iter().map(|&t| zero(t)).collect());
                plan.push((export.name.clone(), args));
            }
        }
        self.run_module(&module.wasm, &plan)
    }

    /// Runs `wasm` with the calls in `plan` on every engine. If the module
    /// exports a global named `FUEL_EXPORT`, it is set to `FUEL_PER_CALL`
    /// before each call.
    pub fn run_module(&self, wasm: &[u8], plan: &[(String, Vec<Value>)]) -> Verdict {
        let mut engines: Vec<&dyn Engine> = vec![self.reference.as_ref()];
        engines.extend(self.others.iter().map(|e| e.as_ref()));
        let mut instances = Vec::new();
        let mut stopped = Vec::new();
        for engine in &engines {
            match engine.start(wasm) {
                Started::Ready(instance) => instances.push(instance),
                Started::Stopped(outcome) => stopped.push((engine.name(), outcome)),
            }
        }
        if let Some((_, Outcome::Failed(e))) = stopped.iter().find(|(name, _)| *name == self.reference.name()) {
            return Verdict::Skip(format!("the reference cannot run the module: {e}"));
        }
        if let Some((name, Outcome::Failed(e))) = stopped.iter().find(|(_, o)| matches!(o, Outcome::Failed(_))) {
            return Verdict::Fail(format!("{}: {name}: {e}", DivergenceKind::KilnFailed));
        }
        if !stopped.is_empty() {
            let outcomes: Vec<String> = stopped.iter().map(|(n, o)| format!("{n} {o}")).collect();
            if stopped.len() == engines.len() && stopped.iter().all(|(_, o)| *o == stopped[0].1) {
                return Verdict::Pass(Pass { calls: 0, traps: 1 });
            }
            return Verdict::Fail(format!(
                "{}: instantiation ended differently ({}; the others instantiated)",
                DivergenceKind::Instantiation,
                outcomes.join("; ")
            ));
        }
        let names: Vec<String> = engines.iter().map(|e| e.name()).collect();
        let fueled = exports_global(wasm, FUEL_EXPORT);
        let mut traps = 0;
        let reference = match snapshot(instances[0].as_ref()) {
            Ok(s) => s,
            Err(e) => return Verdict::Fail(e),
        };
        if let Some(d) = compare_states(&names, &instances, &reference) {
            return Verdict::Fail(format!("{}: {d}", DivergenceKind::StateAfterInstantiation));
        }
        for (i, (name, args)) in plan.iter().enumerate() {
            let shown: Vec<String> = args.iter().map(Value::to_string).collect();
            let call = format!("call {i}: {name}({})", shown.join(", "));
            let mut outcomes = Vec::new();
            for (engine, instance) in names.iter().zip(instances.iter_mut()) {
                if fueled && let Err(e) = instance.set_global(FUEL_EXPORT, FUEL_PER_CALL as i32) {
                    return Verdict::Fail(format!("{}: {engine}: cannot refuel: {e}", DivergenceKind::KilnFailed));
                }
                outcomes.push(instance.call(name, args));
            }
            let expected = &outcomes[0];
            if let Outcome::Failed(e) = expected {
                return Verdict::Skip(format!("the reference failed at {call}: {e}"));
            }
            for (engine, outcome) in names.iter().zip(&outcomes).skip(1) {
                if outcome != expected {
                    let kind = match (expected, outcome) {
                        (_, Outcome::Failed(_)) => DivergenceKind::KilnFailed,
                        (Outcome::Trapped(_), Outcome::Returned(_)) => DivergenceKind::MissingTrap,
                        (Outcome::Returned(_), Outcome::Trapped(_)) => DivergenceKind::SpuriousTrap,
                        (Outcome::Trapped(_), Outcome::Trapped(_)) => DivergenceKind::TrapKind,
                        _ => DivergenceKind::Results,
                    };
                    return Verdict::Fail(format!("{kind}: {call}: {} {expected}, {engine} {outcome}", names[0]));
                }
            }
            let trapped = matches!(expected, Outcome::Trapped(_));
            traps += usize::from(trapped);
            let reference = match snapshot(instances[0].as_ref()) {
                Ok(s) => s,
                Err(e) => return Verdict::Fail(e),
            };
            if let Some(d) = compare_states(&names, &instances, &reference) {
                let kind = if trapped { DivergenceKind::StateAfterTrap } else { DivergenceKind::StateAfterReturn };
                return Verdict::Fail(format!("{kind}: after {call} ({expected}): {d}"));
            }
        }
        Verdict::Pass(Pass { calls: plan.len() as u64, traps: traps as u64 })
    }
}

fn snapshot(instance: &dyn RunningInstance) -> Result<Snapshot, String> {
    instance.snapshot().map_err(|e| format!("{}: cannot read the state: {e}", DivergenceKind::KilnFailed))
}

/// How the state of each instance but the first differs from `reference`.
fn compare_states(names: &[String], instances: &[Box<dyn RunningInstance>], reference: &Snapshot) -> Option<String> {
    for (name, instance) in names.iter().zip(instances).skip(1) {
        let state = match instance.snapshot() {
            Ok(s) => s,
            Err(e) => return Some(format!("{name}: cannot read the state: {e}")),
        };
        if let Some(d) = snapshot_difference(reference, &state) {
            return Some(format!("{} against {name}: {d}", names[0]));
        }
    }
    None
}

/// Whether `wasm` exports a global named `name`.
fn exports_global(wasm: &[u8], name: &str) -> bool {
    Parser::new(0).parse_all(wasm).any(|p| match p {
        Ok(Payload::ExportSection(reader)) => {
            reader.into_iter().flatten().any(|e| e.kind == ExternalKind::Global && e.name == name)
        }
        _ => false,
    })
}

/// The zero (or null) value of `ty`.
pub fn zero(ty: ValType) -> Value {
    match ty {
        ValType::I32 => Value::I32(0),
        ValType::I64 => Value::I64(0),
        ValType::F32 => Value::F32(0),
        ValType::F64 => Value::F64(0),
        ValType::V128 => Value::V128(0),
        ValType::Ref(r) if r.is_func_ref() => Value::FuncRef(None),
        ValType::Ref(_) => Value::ExternRef(false),
    }
}

/// The first word of a failure message: its [`DivergenceKind`] (or
/// another failure class), for campaign statistics.
pub fn failure_class(message: &str) -> &str {
    message.split(':').next().unwrap_or(message)
}

//! Runs the same module compiled for x86_64 and for aarch64, and checks that
//! both compute the same results and traps.
//!
//! The x86_64 library runs through kiln's loader. The aarch64 library runs
//! under `qemu-aarch64` in a small C harness, cross-built with
//! `aarch64-linux-gnu-gcc`, that does what the loader does for a module
//! without imports: lay out the VM context (offsets from `kiln_abi`
//! computed for the target), fill type ids, function references, the table
//! and the memory, and call exports through their array-call trampolines
//! with a `sigsetjmp`-based trap builtin and fault handler.
//!
//! NaN results are compared by class (canonical, arithmetic, signalling),
//! since the spec lets their sign and payload differ between machines.

use kiln::{CompileOptions, Emit};
use kiln_abi::metadata::{ArchivedElementItems, ArchivedSegmentMode, ArchivedModuleMetadata};
use kiln_abi::target::Target;
use kiln_abi::types::ArchivedConstOp;
use kiln_abi::{Builtin, FuncType, PtrSize, TrapCode, VMOffsets, ValType};
use kiln_loader::{Engine, Linker, Module, Store, Val};
use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;
use std::process::Command;

const F32_SNAN: u32 = 0x7fa0_0000;
const F64_SNAN: u64 = 0x7ff4_0000_0000_0000;

/// The calls to make: export name and arguments.
fn calls() -> Vec<(&'static str, Vec<Val>)> {
    use Val::*;
    let f32s = |a: f32, b: f32| vec![Val::from_f32(a), Val::from_f32(b)];
    let mut calls = vec![
        ("dispatch", vec![I32(0), I32(7), I32(5)]),
        ("dispatch", vec![I32(1), I32(i32::MIN), I32(1)]),
        ("dispatch", vec![I32(2), I32(-3), I32(0x4000_0001)]),
        ("dispatch", vec![I32(3), I32(-7), I32(2)]),
        ("dispatch", vec![I32(3), I32(7), I32(0)]),
        ("dispatch", vec![I32(3), I32(i32::MIN), I32(-1)]),
        ("dispatch", vec![I32(4), I32(1), I32(1)]),
        ("dispatch", vec![I32(-1), I32(1), I32(1)]),
        ("i32_bits", vec![I32(0x8000_00f1u32 as i32), I32(33)]),
        ("i32_bits", vec![I32(0), I32(-1)]),
        ("i32_bits", vec![I32(0x7f), I32(31)]),
        ("i64_arith", vec![I64(0x0123_4567_89ab_cdef), I64(-2)]),
        ("i64_arith", vec![I64(i64::MIN), I64(64)]),
        ("i64_arith", vec![I64(-1), I64(0)]),
        ("div_s64", vec![I64(i64::MIN), I64(-1)]),
        ("div_s64", vec![I64(-9), I64(2)]),
        ("rem_s32", vec![I32(i32::MIN), I32(-1)]),
        ("rem_s32", vec![I32(-7), I32(0)]),
        ("f32_arith", f32s(1.5, -0.25)),
        ("f32_arith", f32s(f32::INFINITY, f32::INFINITY)),
        ("f32_arith", f32s(0.0, 0.0)),
        ("f32_arith", vec![F32(F32_SNAN), Val::from_f32(1.0)]),
        ("f32_arith", f32s(f32::MIN_POSITIVE, 0.5)),
        ("f32_minmax", f32s(-0.0, 0.0)),
        ("f32_minmax", f32s(0.0, -0.0)),
        ("f32_minmax", vec![F32(F32_SNAN), Val::from_f32(2.0)]),
        ("f32_minmax", f32s(3.0, f32::NAN)),
        ("f32_minmax", f32s(-1.0, 5.0)),
        ("quiet", vec![F32(F32_SNAN), F64(F64_SNAN)]),
        ("quiet", vec![Val::from_f32(-0.0), Val::from_f64(-0.0)]),
    ];
    for x in [2.5, -2.5, 3.5, -0.5, 0.49999999999999994, 1e300, -1e-300, f64::INFINITY, -0.0, 4503599627370497.0] {
        calls.push(("f64_round", vec![Val::from_f64(x)]));
    }
    calls.push(("f64_round", vec![F64(F64_SNAN)]));
    calls.push(("f64_round", vec![Val::from_f64(-2.0)]));
    for x in [0.0, -1.5, 2147483647.9, 2147483648.0, -2147483648.9, 1.8446744073709552e19, f64::NAN, -f64::INFINITY, 3.4028235677973366e38] {
        calls.push(("convert", vec![Val::from_f64(x)]));
    }
    for x in [-2147483648.9, 2147483647.5, 2147483648.0, f64::NAN, -2147483649.0] {
        calls.push(("trunc", vec![Val::from_f64(x)]));
    }
    calls.extend([
        ("fib", vec![I32(20)]),
        ("switch", vec![I32(0)]),
        ("switch", vec![I32(2)]),
        ("switch", vec![I32(3)]),
        ("switch", vec![I32(-5)]),
        ("memory", vec![I32(100), I64(0x8877_6655_4433_22f1u64 as i64)]),
        ("memory", vec![I32(65525), I64(-2)]),
        ("memory", vec![I32(65526), I64(1)]),
        ("checksum", vec![I32(1000)]),
        ("bulk", vec![I32(200), I32(100), I32(8)]),
        ("bulk", vec![I32(102), I32(100), I32(5)]),
        ("bulk", vec![I32(98), I32(100), I32(3)]),
        ("bulk", vec![I32(65530), I32(300), I32(7)]),
        ("bulk", vec![I32(400), I32(65535), I32(2)]),
        ("bulk", vec![I32(500), I32(600), I32(0)]),
        ("elements", vec![I32(0)]),
        ("elements", vec![I32(3)]),
        ("elements", vec![I32(4)]),
        ("oob", vec![I32(65532)]),
        ("oob", vec![I32(65533)]),
        ("oob", vec![I32(-1)]),
        ("unreachable", vec![]),
        ("recurse", vec![I32(0)]),
    ]);
    calls
}

/// One result, as both sides print it.
fn show(ty: ValType, bits: u64) -> String {
    match ty {
        ValType::I32 | ValType::F32 if ty == ValType::F32 && is_nan32(bits as u32) => nan_class(bits & 0x7f_ffff, 0x40_0000),
        ValType::F64 if is_nan64(bits) => nan_class(bits & 0xf_ffff_ffff_ffff, 0x8_0000_0000_0000),
        ValType::I32 | ValType::F32 => format!("{:08x}", bits as u32),
        _ => format!("{bits:016x}"),
    }
}

fn is_nan32(b: u32) -> bool {
    b & 0x7f80_0000 == 0x7f80_0000 && b & 0x7f_ffff != 0
}

fn is_nan64(b: u64) -> bool {
    b & 0x7ff0_0000_0000_0000 == 0x7ff0_0000_0000_0000 && b & 0xf_ffff_ffff_ffff != 0
}

fn nan_class(payload: u64, quiet: u64) -> String {
    if payload == quiet {
        "nan:canonical".into()
    } else if payload & quiet != 0 {
        "nan:arithmetic".into()
    } else {
        format!("nan:signalling:{payload:x}")
    }
}

fn val_bits(v: &Val) -> u64 {
    match *v {
        Val::I32(x) => x as u32 as u64,
        Val::I64(x) => x as u64,
        Val::F32(b) => b as u64,
        Val::F64(b) => b,
        _ => panic!("the portable module only uses numbers"),
    }
}

fn label(name: &str, args: &[Val]) -> String {
    let args: Vec<String> = args.iter().map(|a| format!("{:x}", val_bits(a))).collect();
    format!("{name}({})", args.join(","))
}

fn compile(wat: &Path, triple: &str, dir: &Path) -> std::path::PathBuf {
    let out = dir.join(format!("portable-{triple}.so"));
    let opts = CompileOptions { target: Target::parse(triple).unwrap(), ..CompileOptions::default() };
    kiln::compile_file(wat, &opts, Emit::SharedLibrary, &out).unwrap_or_else(|e| panic!("compiling for {triple}: {e}"));
    out
}

/// Runs every call on this machine through the loader.
fn run_native(lib: &Path) -> Vec<String> {
    let engine = Engine::default();
    let module = Module::from_file(&engine, lib).unwrap();
    let mut store = Store::new(&engine);
    let instance = Linker::new(&engine).instantiate(&mut store, &module).unwrap();
    let mut out = Vec::new();
    for (name, args) in calls() {
        let func = instance.get_func(&store, name).unwrap();
        let ty = func.ty(&store).unwrap();
        let mut results: Vec<Val> = ty.results.iter().map(|t| Val::default_for(*t)).collect();
        let line = match func.call(&mut store, &args, &mut results) {
            Ok(()) => {
                let shown: Vec<String> = ty.results.iter().zip(&results).map(|(t, v)| show(*t, val_bits(v))).collect();
                format!("{}: ok {}", label(name, &args), shown.join(" "))
            }
            Err(e) => format!("{}: trap {}", label(name, &args), e.as_trap().expect("a trap").code().as_u32()),
        };
        out.push(line);
    }
    out
}

fn const_i32(ops: &[ArchivedConstOp]) -> u32 {
    match ops {
        [ArchivedConstOp::I32Const(v)] => v.to_native() as u32,
        _ => panic!("the portable module uses constant segment offsets"),
    }
}

/// Writes the C harness for `meta` (the aarch64 library's metadata).
fn harness_source(meta: &ArchivedModuleMetadata) -> String {
    let shape = meta.shape();
    assert_eq!((shape.num_imported_funcs, shape.num_imported_memories, shape.num_imported_tables), (0, 0, 0));
    let o = VMOffsets::new(PtrSize::new(meta.target.pointer_size).unwrap(), &shape);
    let mut c = String::from(HARNESS_PRELUDE);
    let _ = writeln!(c, "#define VMCTX_SIZE {}", o.size());
    let _ = writeln!(c, "#define TRAP_OOB {}", TrapCode::MemoryOutOfBounds.as_u32());

    let builtins: Vec<String> = Builtin::ALL
        .iter()
        .map(|b| match b {
            Builtin::memory_grow => "(void *)harness_memory_grow".to_string(),
            Builtin::raise_trap => "(void *)harness_raise_trap".to_string(),
            _ => "(void *)harness_unsupported".to_string(),
        })
        .collect();
    let _ = writeln!(c, "static void *builtins[] = {{ {} }};", builtins.join(", "));

    // Calls: array-call slot, wasm-call slot, parameter and result types.
    let exports: HashMap<&str, u32> = meta.exports.iter().map(|e| (e.name.as_str(), e.index.to_native())).collect();
    let mut table = String::new();
    for (name, args) in calls() {
        let index = exports[name] as usize;
        let func = &meta.functions[index];
        let sig = &meta.types[func.type_index.to_native() as usize];
        let ty: FuncType = sig.ty.to_native();
        let code = |t: &ValType| match t {
            ValType::I32 => 'i',
            ValType::I64 => 'I',
            ValType::F32 => 'f',
            ValType::F64 => 'F',
            _ => panic!("numbers only"),
        };
        let params: String = ty.params.iter().map(code).collect();
        let results: String = ty.results.iter().map(code).collect();
        let argv: Vec<String> = args.iter().map(|a| format!("0x{:x}ull", val_bits(a))).collect();
        let _ = writeln!(
            table,
            "  {{ \"{}\", {}, {}, \"{params}\", \"{results}\", {{ {} }} }},",
            label(name, &args),
            sig.array_call.to_native(),
            func.wasm_call.as_ref().expect("exports have an entry point").to_native(),
            if argv.is_empty() { "0".to_string() } else { argv.join(", ") }
        );
    }
    let _ = writeln!(c, "static const struct call calls[] = {{\n{table}}};");

    // VM context set-up.
    let mut setup = String::new();
    let _ = writeln!(setup, "  *(uint32_t *)(vmctx + {}) = 0x{:x};", o.magic(), kiln_abi::vmoffsets::VMCTX_MAGIC);
    let _ = writeln!(setup, "  *(void **)(vmctx + {}) = &store_ctx;", o.store_context());
    let _ = writeln!(setup, "  *(void **)(vmctx + {}) = builtins;", o.builtins());
    let mut ids: HashMap<FuncType, u32> = HashMap::new();
    for (t, sig) in meta.types.iter().enumerate() {
        let next = ids.len() as u32 + 1;
        let id = *ids.entry(sig.ty.to_native()).or_insert(next);
        let _ = writeln!(setup, "  *(uint32_t *)(vmctx + {}) = {id};", o.type_id(t as u32));
    }
    for (i, f) in meta.functions.iter().enumerate() {
        let Some(slot) = f.wasm_call.as_ref() else { continue };
        let sig = &meta.types[f.type_index.to_native() as usize];
        let r = o.func_ref(i as u32);
        let _ = writeln!(setup, "  *(void **)(vmctx + {}) = fns[{}];", r + o.func_ref_wasm_call(), slot.to_native());
        let _ = writeln!(setup, "  *(void **)(vmctx + {}) = fns[{}];", r + o.func_ref_array_call(), sig.array_call.to_native());
        let _ = writeln!(setup, "  *(void **)(vmctx + {}) = vmctx;", r + o.func_ref_vmctx());
        let _ = writeln!(setup, "  *(uint32_t *)(vmctx + {}) = {};", r + o.func_ref_type_id(), ids[&sig.ty.to_native()]);
    }
    if let Some(mem) = meta.memories.first() {
        let m = o.defined_memory(0);
        let _ = writeln!(setup, "  uint8_t *memory = reserve_memory({});", mem.limits.min.to_native());
        let _ = writeln!(setup, "  *(void **)(vmctx + {}) = memory;", m + o.memory_definition_base());
        let _ = writeln!(setup, "  *(uint64_t *)(vmctx + {}) = {}ull * 65536;", m + o.memory_definition_current_length(), mem.limits.min.to_native());
    }
    if let Some(table) = meta.tables.first() {
        let t = o.defined_table(0);
        let len = table.ty.limits.min.to_native();
        let _ = writeln!(setup, "  static void *elements[{}];", len.max(1));
        for seg in meta.elements.iter() {
            let (ArchivedSegmentMode::Active(active), ArchivedElementItems::Functions(funcs)) = (&seg.mode, &seg.items) else {
                panic!("the portable module has active function segments only")
            };
            let base = const_i32(&active.offset.ops);
            for (k, f) in funcs.iter().enumerate() {
                let _ = writeln!(setup, "  elements[{}] = vmctx + {};", base as usize + k, o.func_ref(f.to_native()));
            }
        }
        let _ = writeln!(setup, "  *(void **)(vmctx + {}) = elements;", t + o.table_definition_base());
        let _ = writeln!(setup, "  *(uint64_t *)(vmctx + {}) = {len};", t + o.table_definition_current_elements());
    }
    let _ = write!(c, "static void setup(uint8_t *vmctx, void **fns) {{\n{setup}}}\n");
    c.push_str(HARNESS_MAIN);
    c
}

const HARNESS_PRELUDE: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct call { const char *label; unsigned array_slot, wasm_slot; const char *params, *results; uint64_t args[8]; };
typedef void (*array_call_t)(void *, void *, void *, void *);

static struct { uintptr_t stack_limit, reserved; } store_ctx;
static sigjmp_buf *current;

static void harness_raise_trap(void *vmctx, int32_t code) { (void)vmctx; siglongjmp(*current, code); }
static int64_t harness_memory_grow(void *vmctx, int32_t memory, int64_t delta) { (void)vmctx; (void)memory; (void)delta; return -1; }
static void harness_unsupported(void) { fprintf(stderr, "unexpected builtin call\n"); abort(); }
static uint8_t *reserve_memory(uint64_t pages);
"#;

const HARNESS_MAIN: &str = r#"
static void on_fault(int sig, siginfo_t *info, void *uc) {
  (void)sig; (void)info; (void)uc;
  if (current) siglongjmp(*current, TRAP_OOB);
  abort();
}

static uint8_t *reserve_memory(uint64_t pages) {
  size_t reserve = (size_t)8 << 30;
  uint8_t *base = mmap(NULL, reserve + 65536, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED || mprotect(base, pages * 65536, PROT_READ | PROT_WRITE) != 0) { perror("memory"); exit(2); }
  return base;
}

static void show(char type, const uint8_t *slot) {
  uint64_t bits = 0;
  memcpy(&bits, slot, type == 'i' || type == 'f' ? 4 : 8);
  if (type == 'f' && (bits & 0x7f800000) == 0x7f800000 && (bits & 0x7fffff)) {
    uint64_t p = bits & 0x7fffff;
    if (p == 0x400000) printf(" nan:canonical"); else if (p & 0x400000) printf(" nan:arithmetic"); else printf(" nan:signalling:%" PRIx64, p);
  } else if (type == 'F' && (bits & 0x7ff0000000000000ull) == 0x7ff0000000000000ull && (bits & 0xfffffffffffffull)) {
    uint64_t p = bits & 0xfffffffffffffull;
    if (p == 0x8000000000000ull) printf(" nan:canonical"); else if (p & 0x8000000000000ull) printf(" nan:arithmetic"); else printf(" nan:signalling:%" PRIx64, p);
  } else if (type == 'i' || type == 'f') {
    printf(" %08" PRIx64, bits);
  } else {
    printf(" %016" PRIx64, bits);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: harness LIB.so\n"); return 2; }
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) { fprintf(stderr, "%s\n", dlerror()); return 2; }
  void **fns = dlsym(lib, "kiln_functions");
  if (!fns) { fprintf(stderr, "no kiln_functions\n"); return 2; }
  struct sigaction sa; memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault; sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &sa, NULL); sigaction(SIGBUS, &sa, NULL);
  uint8_t *vmctx = aligned_alloc(16, VMCTX_SIZE);
  memset(vmctx, 0, VMCTX_SIZE);
  setup(vmctx, fns);
  int here;
  store_ctx.stack_limit = (uintptr_t)&here - 256 * 1024;
  for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
    const struct call *c = &calls[i];
    uint8_t values[16][16];
    memset(values, 0, sizeof values);
    for (size_t a = 0; c->params[a]; a++) memcpy(values[a], &c->args[a], 8);
    sigjmp_buf buf;
    int code = sigsetjmp(buf, 0);
    if (code == 0) {
      current = &buf;
      ((array_call_t)fns[c->array_slot])(vmctx, vmctx, fns[c->wasm_slot], values);
      current = NULL;
      printf("%s: ok", c->label);
      for (size_t r = 0; c->results[r]; r++) show(c->results[r], values[r]);
      printf("\n");
    } else {
      current = NULL;
      printf("%s: trap %d\n", c->label, code);
    }
  }
  return 0;
}
"#;

fn tool(name: &str) -> bool {
    Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn aarch64_library_under_qemu_matches_x86_64() {
    for t in ["qemu-aarch64", "aarch64-linux-gnu-gcc"] {
        assert!(tool(t), "{t} is missing; scripts/setup.sh installs it");
    }
    let dir = tempfile::tempdir().unwrap();
    let wat = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/portable.wat");
    let native = compile(&wat, "x86_64-unknown-linux-gnu", dir.path());
    let arm = compile(&wat, "aarch64-unknown-linux-gnu", dir.path());

    let meta = kiln_loader::read_metadata(&arm).unwrap();
    assert_eq!(meta.get().target.triple.as_str(), "aarch64-unknown-linux-gnu");
    let source = dir.path().join("harness.c");
    std::fs::write(&source, harness_source(meta.get())).unwrap();
    let harness = dir.path().join("harness");
    let out = Command::new("aarch64-linux-gnu-gcc")
        .args(["-O1", "-o"])
        .arg(&harness)
        .arg(&source)
        .arg("-ldl")
        .output()
        .unwrap();
    assert!(out.status.success(), "building the harness failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let run = Command::new("qemu-aarch64").args(["-L", "/usr/aarch64-linux-gnu"]).arg(&harness).arg(&arm).output().unwrap();
    assert!(run.status.success(), "harness failed: {}\n{}", run.status, String::from_utf8_lossy(&run.stderr));
    let emulated: Vec<String> = String::from_utf8(run.stdout).unwrap().lines().map(String::from).collect();

    let expected = run_native(&native);
    assert_eq!(emulated.len(), expected.len(), "aarch64 printed:\n{}", emulated.join("\n"));
    let mismatches: Vec<String> = expected
        .iter()
        .zip(&emulated)
        .filter(|(x, a)| x != a)
        .map(|(x, a)| format!("x86_64:  {x}\naarch64: {a}"))
        .collect();
    assert!(mismatches.is_empty(), "{} of {} calls differ:\n{}", mismatches.len(), expected.len(), mismatches.join("\n"));
    // The comparison is only meaningful if traps and NaNs were exercised.
    assert!(expected.iter().filter(|l| l.contains(": trap ")).count() >= 8, "{expected:#?}");
    assert!(expected.iter().any(|l| l.contains("nan:canonical")) && expected.iter().any(|l| l.contains("nan:arithmetic")));
}

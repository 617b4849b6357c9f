//! The C harness that runs a library for another Linux target under
//! qemu-user: it `dlopen`s the library, lays out a VM context from the
//! library's metadata (the offsets `kiln_abi::VMOffsets` computes for the
//! target), provides the builtins the test modules use (traps, memory
//! growth, exceptions over the target's unwinder) and prints what each
//! call did.

use super::*;

/// Builds the C harness for `target`'s library `lib` and `calls`, runs it
/// under qemu and reads back what each call did.
pub(super) fn run_emulated(target: &Emulated, lib: &Path, calls: &[Call], dir: &Path) -> Vec<Outcome> {
    let meta = kiln_loader::read_metadata(lib).unwrap();
    let meta = meta.get();
    assert_eq!(meta.target.triple.as_str(), target.triple);
    let stem = lib.file_stem().unwrap().to_string_lossy();
    let source = dir.join(format!("{stem}-harness.c"));
    std::fs::write(&source, harness_source(meta, calls)).unwrap();
    let harness = dir.join(format!("{stem}-harness"));
    let out = Command::new(target.gcc)
        // Unwind tables for the harness's own exception builtins (Debian's
        // riscv64 compiler does not make them by default).
        .args(["-O1", "-fasynchronous-unwind-tables", "-o"])
        .arg(&harness)
        .arg(&source)
        .arg("-ldl")
        .output()
        .unwrap();
    assert!(out.status.success(), "building the harness failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let run = Command::new(target.qemu).arg("-L").arg(target.sysroot).arg(&harness).arg(lib).output().unwrap();
    assert!(run.status.success(), "harness failed: {}\n{}", run.status, String::from_utf8_lossy(&run.stderr));
    let lines: Vec<String> = String::from_utf8(run.stdout).unwrap().lines().map(String::from).collect();
    assert_eq!(lines.len(), calls.len(), "{} printed:\n{}", target.triple, lines.join("\n"));
    let exports: HashMap<&str, u32> = meta.exports.iter().map(|e| (e.name.as_str(), e.index.to_native())).collect();
    lines
        .iter()
        .zip(calls)
        .map(|(line, (name, _))| {
            if let Some(code) = line.strip_prefix("trap ") {
                return Outcome::Trapped(code.parse().unwrap());
            }
            let function = &meta.functions[exports[name.as_str()] as usize];
            let ty: FuncType = meta.types[function.type_index.to_native() as usize].ty.to_native();
            let words: Vec<&str> = line.strip_prefix("ok").expect("ok or trap").split_whitespace().collect();
            assert_eq!(words.len(), ty.results.len(), "{line}");
            Outcome::Returned(ty.results.iter().zip(words).map(|(t, w)| parse_val(*t, w)).collect())
        })
        .collect()
}

/// A result as the harness prints it: the value's bits in hex.
fn parse_val(ty: ValType, hex: &str) -> Val {
    let bits = u128::from_str_radix(hex, 16).unwrap_or_else(|e| panic!("`{hex}`: {e}"));
    match ty {
        ValType::I32 => Val::I32(bits as u32 as i32),
        ValType::I64 => Val::I64(bits as u64 as i64),
        ValType::F32 => Val::F32(bits as u32),
        ValType::F64 => Val::F64(bits as u64),
        ValType::V128 => Val::V128(bits),
        other => panic!("no {other} results"),
    }
}

/// A call and what it did, as compared between the two targets.
pub(super) fn describe((name, args): &Call, outcome: &Outcome) -> String {
    match outcome {
        Outcome::Returned(results) => {
            let shown: Vec<String> = results.iter().map(|v| show(v.ty(), v)).collect();
            format!("{}: ok {}", label(name, args), shown.join(" "))
        }
        Outcome::Trapped(code) => format!("{}: trap {code}", label(name, args)),
    }
}

/// A segment's offset: an `i32` constant, or an `i64` one for a 64-bit
/// memory.
fn const_offset(ops: &[ArchivedConstOp]) -> u64 {
    match ops {
        [ArchivedConstOp::I32Const(v)] => u64::from(v.to_native() as u32),
        [ArchivedConstOp::I64Const(v)] => v.to_native() as u64,
        _ => panic!("the harness handles constant segment offsets only"),
    }
}

/// Writes the C harness for `meta` (the foreign library's metadata) that
/// makes `calls`.
fn harness_source(meta: &ArchivedModuleMetadata, calls: &[Call]) -> String {
    let shape = meta.shape();
    assert_eq!((shape.num_imported_funcs, shape.num_imported_memories, shape.num_imported_tables), (0, 0, 0));
    assert_eq!(shape.num_imported_tags, 0);
    let o = VMOffsets::new(PtrSize::new(meta.target.pointer_size).unwrap(), &shape);
    let mut c = String::from(HARNESS_PRELUDE);
    let _ = writeln!(c, "#define VMCTX_SIZE {}", o.size());
    let _ = writeln!(c, "#define TRAP_OOB {}", TrapCode::MemoryOutOfBounds.as_u32());
    let _ = writeln!(c, "#define THROW_CODE {}", kiln_abi::exceptions::THROW_CODE);
    let _ = writeln!(c, "#define EXN_TAG {}", kiln_abi::exceptions::EXN_TAG_OFFSET);
    let _ = writeln!(c, "#define EXN_PAYLOAD {}", kiln_abi::exceptions::EXN_PAYLOAD_OFFSET);
    let tags: Vec<String> = (0..shape.num_tags()).map(|t| o.tag(t).to_string()).collect();
    let _ = writeln!(c, "static const unsigned tag_offsets[] = {{ {} }};", if tags.is_empty() { "0".into() } else { tags.join(", ") });
    c.push_str(HARNESS_EXCEPTIONS);

    let builtins: Vec<String> = Builtin::ALL
        .iter()
        .map(|b| match b {
            Builtin::memory_grow => "(void *)harness_memory_grow".to_string(),
            Builtin::raise_trap => "(void *)harness_raise_trap".to_string(),
            Builtin::raise_trap_at => "(void *)harness_raise_trap_at".to_string(),
            Builtin::exn_new => "(void *)harness_exn_new".to_string(),
            Builtin::throw_ref => "(void *)harness_throw_ref".to_string(),
            Builtin::memory_atomic_wait32 => "(void *)harness_wait32".to_string(),
            Builtin::memory_atomic_wait64 => "(void *)harness_wait64".to_string(),
            Builtin::memory_atomic_notify => "(void *)harness_notify".to_string(),
            _ => "(void *)harness_unsupported".to_string(),
        })
        .collect();
    let _ = writeln!(c, "static void *builtins[] = {{ {} }};", builtins.join(", "));

    // Calls: array-call slot, wasm-call slot, parameter and result types.
    let exports: HashMap<&str, u32> = meta.exports.iter().map(|e| (e.name.as_str(), e.index.to_native())).collect();
    let mut table = String::new();
    for (name, args) in calls {
        let index = exports[name.as_str()] as usize;
        let func = &meta.functions[index];
        let sig = &meta.types[func.type_index.to_native() as usize];
        let ty: FuncType = sig.ty.to_native();
        let code = |t: &ValType| match t {
            ValType::I32 => 'i',
            ValType::I64 => 'I',
            ValType::F32 => 'f',
            ValType::F64 => 'F',
            ValType::V128 => 'V',
            _ => panic!("numbers and vectors only"),
        };
        let params: String = ty.params.iter().map(code).collect();
        let results: String = ty.results.iter().map(code).collect();
        let argv: Vec<String> = args.iter().flat_map(arg_words).map(|w| format!("0x{w:x}ull")).collect();
        let _ = writeln!(
            table,
            "  {{ {}, {}, \"{params}\", \"{results}\", {{ {} }} }},",
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
    // Each defined tag's identity: a distinct static byte.
    let _ = writeln!(setup, "  static char tags[{}];", shape.num_tags().max(1));
    for t in 0..shape.num_tags() {
        let _ = writeln!(setup, "  *(void **)(vmctx + {}) = &tags[{t}];", o.tag(t));
    }
    for (g, global) in meta.globals.iter().enumerate() {
        let bits: u128 = match global.init.ops.as_slice() {
            [ArchivedConstOp::I32Const(v)] => u128::from(v.to_native() as u32),
            [ArchivedConstOp::I64Const(v)] => u128::from(v.to_native() as u64),
            [ArchivedConstOp::F32Const(v)] => u128::from(v.to_native()),
            [ArchivedConstOp::F64Const(v)] => u128::from(v.to_native()),
            [ArchivedConstOp::V128Const(v)] => v.to_native(),
            _ => panic!("the harness initializes globals with constants only"),
        };
        let at = o.defined_global(g as u32);
        let _ = writeln!(setup, "  *(uint64_t *)(vmctx + {at}) = 0x{:x}ull;", bits as u64);
        let _ = writeln!(setup, "  *(uint64_t *)(vmctx + {}) = 0x{:x}ull;", at + 8, (bits >> 64) as u64);
    }
    // Every memory (multi-memory), each in its own reservation, at the
    // VM context offsets of its index.
    for (i, mem) in meta.memories.iter().enumerate() {
        let m = o.defined_memory(i as u32);
        let _ = writeln!(setup, "  uint8_t *memory{i} = reserve_memory({});", mem.limits.min.to_native());
        let _ = writeln!(setup, "  *(void **)(vmctx + {}) = memory{i};", m + o.memory_definition_base());
        let _ = writeln!(setup, "  *(uint64_t *)(vmctx + {}) = {}ull * 65536;", m + o.memory_definition_current_length(), mem.limits.min.to_native());
    }
    for segment in meta.data.iter() {
        let ArchivedSegmentMode::Active(active) = &segment.mode else { continue };
        let bytes: Vec<String> = segment.bytes.iter().map(u8::to_string).collect();
        if !bytes.is_empty() {
            let at = const_offset(&active.offset.ops);
            let bytes = bytes.join(",");
            let memory = active.index.to_native();
            let _ = writeln!(setup, "  {{ static const uint8_t d[] = {{ {bytes} }}; memcpy(memory{memory} + {at}, d, sizeof d); }}");
        }
    }
    if let Some(table) = meta.tables.first() {
        let t = o.defined_table(0);
        let len = table.ty.limits.min.to_native();
        let _ = writeln!(setup, "  static void *elements[{}];", len.max(1));
        for seg in meta.elements.iter() {
            let (ArchivedSegmentMode::Active(active), ArchivedElementItems::Functions(funcs)) = (&seg.mode, &seg.items) else {
                panic!("the portable module has active function segments only")
            };
            let base = const_offset(&active.offset.ops);
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

struct call { unsigned array_slot, wasm_slot; const char *params, *results; uint64_t args[16]; };
typedef void (*array_call_t)(void *, void *, void *, void *);

static struct { uintptr_t stack_limit, reserved; } store_ctx;
static sigjmp_buf *current;

static void harness_raise_trap(void *vmctx, int32_t code) { (void)vmctx; siglongjmp(*current, code); }
static void harness_raise_trap_at(void *vmctx, int32_t code, int64_t index) { (void)index; harness_raise_trap(vmctx, code); }
static int64_t harness_memory_grow(void *vmctx, int32_t memory, int64_t delta) { (void)vmctx; (void)memory; (void)delta; return -1; }
static void harness_unsupported(void) { fprintf(stderr, "unexpected builtin call\n"); abort(); }
/* The harness runs one thread: a wait whose value matches can only time
   out, and nobody waits to be notified. */
static int32_t harness_wait32(void *vmctx, int32_t *addr, int32_t expected, int64_t timeout) {
  (void)vmctx;
  if (__atomic_load_n(addr, __ATOMIC_SEQ_CST) != expected) return 1;
  if (timeout >= 0) return 2;
  fprintf(stderr, "a wait without timeout in a single thread\n"); abort();
}
static int32_t harness_wait64(void *vmctx, int64_t *addr, int64_t expected, int64_t timeout) {
  (void)vmctx;
  if (__atomic_load_n(addr, __ATOMIC_SEQ_CST) != expected) return 1;
  if (timeout >= 0) return 2;
  fprintf(stderr, "a wait without timeout in a single thread\n"); abort();
}
static int32_t harness_notify(void *vmctx, void *addr, int32_t count) { (void)vmctx; (void)addr; (void)count; return 0; }
static uint8_t *reserve_memory(uint64_t pages);
"#;

/// The exception builtins, as the loader implements them (`traps.c`): a
/// forced unwind whose stop function jumps back to the entry once the
/// unwinder reaches `main`'s frame.
const HARNESS_EXCEPTIONS: &str = r#"
#include <unwind.h>
static uintptr_t entry_frame;
static _Unwind_Reason_Code harness_stop(int version, _Unwind_Action actions, _Unwind_Exception_Class class,
                                        struct _Unwind_Exception *exn, struct _Unwind_Context *context, void *arg) {
  (void)version; (void)class; (void)exn; (void)arg;
  if ((actions & _UA_END_OF_STACK) || _Unwind_GetCFA(context) >= entry_frame) siglongjmp(*current, THROW_CODE);
  return _URC_NO_REASON;
}
static void harness_throw_ref(void *vmctx, void *exn) {
  (void)vmctx;
  struct _Unwind_Exception *header = exn;
  memset(header, 0, sizeof *header);
  header->exception_class = 0x4b494c4e5741534dULL;
  _Unwind_ForcedUnwind(header, harness_stop, NULL);
  fprintf(stderr, "the unwinder could not walk the stack\n");
  abort();
}
static void *harness_exn_new(void *vmctx, int32_t tag) {
  uint8_t *exn = aligned_alloc(16, EXN_PAYLOAD + 16 * 16);
  memset(exn, 0, EXN_PAYLOAD + 16 * 16);
  memcpy(exn + EXN_TAG, (uint8_t *)vmctx + tag_offsets[tag], sizeof(void *));
  return exn;
}
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
  uint64_t low = 0, high = 0;
  memcpy(&low, slot, type == 'i' || type == 'f' ? 4 : 8);
  if (type == 'V') memcpy(&high, slot + 8, 8);
  if (type == 'V') printf(" %016" PRIx64 "%016" PRIx64, high, low); else printf(" %" PRIx64, low);
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
  entry_frame = (uintptr_t)__builtin_frame_address(0);
  store_ctx.stack_limit = (uintptr_t)&here - 256 * 1024;
  for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
    const struct call *c = &calls[i];
    _Alignas(16) uint8_t values[16][16];
    memset(values, 0, sizeof values);
    const uint64_t *arg = c->args;
    for (size_t a = 0; c->params[a]; a++) {
      size_t words = c->params[a] == 'V' ? 2 : 1;
      memcpy(values[a], arg, 8 * words);
      arg += words;
    }
    sigjmp_buf buf;
    int code = sigsetjmp(buf, 0);
    if (code == 0) {
      current = &buf;
      ((array_call_t)fns[c->array_slot])(vmctx, vmctx, fns[c->wasm_slot], values);
      current = NULL;
      printf("ok");
      for (size_t r = 0; c->results[r]; r++) show(c->results[r], values[r]);
      printf("\n");
    } else {
      current = NULL;
      printf("trap %d\n", code);
    }
  }
  return 0;
}
"#;

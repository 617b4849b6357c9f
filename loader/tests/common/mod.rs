//! Builds stand-ins for kiln libraries: metadata made with
//! `kiln_abi::artifact::encode`, and hand-written C "generated code" that
//! follows the kiln ABI (native wasm signature with `vmctx, caller_vmctx`
//! first, array-call and wasm-to-host trampolines, VM context fields read at
//! `VMOffsets` offsets), linked into a shared library exporting exactly
//! `kiln_metadata` and `kiln_functions` and sealed.
#![allow(dead_code)]

use kiln_abi::metadata::*;
use kiln_abi::target::Target;
use kiln_abi::types::*;
use kiln_abi::{Builtin, PtrSize, TrapCode, VMOffsets};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use kiln_abi::ValType::*;

pub mod basic;

/// A module under construction: metadata plus the names of the C functions
/// in its function table.
pub struct ModuleBuilder {
    pub meta: ModuleMetadata,
    slots: Vec<String>,
}

impl Default for ModuleBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ModuleBuilder {
    pub fn new() -> ModuleBuilder {
        let meta = ModuleMetadata {
            target: TargetInfo {
                triple: Target::host().name(),
                cpu: "generic".into(),
                features: vec![],
                pointer_size: PtrSize::HOST.bytes() as u8,
            },
            ..Default::default()
        };
        ModuleBuilder { meta, slots: Vec::new() }
    }

    /// The function-table slot of C function `name`.
    pub fn slot(&mut self, name: &str) -> u32 {
        match self.slots.iter().position(|s| s == name) {
            Some(i) => i as u32,
            None => {
                self.slots.push(name.to_string());
                self.slots.len() as u32 - 1
            }
        }
    }

    /// A type whose trampolines are the C functions `ac_<tag>` and
    /// `w2h_<tag>`.
    pub fn ty(&mut self, params: &[ValType], results: &[ValType], tag: &str) -> u32 {
        let array_call = self.slot(&format!("ac_{tag}"));
        let wasm_to_host = self.slot(&format!("w2h_{tag}"));
        self.meta.types.push(SignatureInfo { ty: FuncType::new(params, results), array_call, wasm_to_host });
        self.meta.types.len() as u32 - 1
    }

    pub fn import(&mut self, module: &str, name: &str, kind: ImportKind) {
        if let ImportKind::Func(t) = kind {
            self.meta.functions.push(FunctionInfo { type_index: t, wasm_call: None });
        }
        self.meta.imports.push(Import { module: module.into(), name: name.into(), kind });
    }

    /// A defined function implemented by C function `name`; exported under
    /// that name unless `export` is false.
    pub fn func(&mut self, ty: u32, name: &str, export: bool) -> u32 {
        let slot = self.slot(name);
        self.meta.functions.push(FunctionInfo { type_index: ty, wasm_call: Some(slot) });
        let index = self.meta.functions.len() as u32 - 1;
        if export {
            self.export(name, ExternKind::Func, index);
        }
        index
    }

    pub fn export(&mut self, name: &str, kind: ExternKind, index: u32) {
        self.meta.exports.push(Export { name: name.into(), kind, index });
    }

    /// The library built from `c_source` (which may use `kiln_test.h`).
    pub fn build(&self, c_source: &str) -> Library {
        build_library(&self.meta, &self.slots, c_source, &[])
    }
}

pub fn i32_const(v: i32) -> ConstExpr {
    ConstExpr::single(ConstOp::I32Const(v))
}

pub fn limits(min: u64, max: Option<u64>) -> Limits {
    Limits { min, max }
}

pub fn memory(min: u64, max: Option<u64>) -> MemoryType {
    MemoryType::new(limits(min, max))
}

pub fn table(min: u64, max: Option<u64>) -> TableType {
    TableType { element: RefType::FUNCREF, limits: limits(min, max), table64: false }
}

pub fn active(index: u32, offset: i32) -> SegmentMode {
    SegmentMode::Active(ActiveSegment { index, offset: i32_const(offset) })
}

/// A built library; the directory lives as long as this value.
pub struct Library {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

/// `#define`s of every offset the C code needs, computed by `VMOffsets`.
fn offsets_header(meta: &ModuleMetadata) -> String {
    let shape = meta.shape();
    let o = VMOffsets::new(PtrSize::HOST, &shape);
    let mut h = String::from("#pragma once\n");
    let mut def = |name: String, value: u32| writeln!(h, "#define KILN_{name} {value}").unwrap();
    def("VMCTX_STORE_CONTEXT".into(), o.store_context());
    def("VMCTX_BUILTINS".into(), o.builtins());
    def("HOST_CTX_ARRAY_CALL".into(), o.host_func_context_array_call());
    def("STORE_CONTEXT_STACK_LIMIT".into(), o.store_context_stack_limit());
    for i in 0..shape.num_types {
        def(format!("VMCTX_TYPE_ID_{i}"), o.type_id(i));
    }
    for i in 0..shape.num_imported_funcs {
        def(format!("VMCTX_IMPORTED_FUNC_{i}"), o.imported_func(i));
    }
    for i in 0..shape.num_imported_tables {
        def(format!("VMCTX_IMPORTED_TABLE_{i}"), o.imported_table(i));
    }
    for i in 0..shape.num_imported_memories {
        def(format!("VMCTX_IMPORTED_MEMORY_{i}"), o.imported_memory(i));
    }
    for i in 0..shape.num_imported_globals {
        def(format!("VMCTX_IMPORTED_GLOBAL_{i}"), o.imported_global(i));
    }
    for i in 0..shape.num_defined_tables {
        def(format!("VMCTX_DEFINED_TABLE_{i}"), o.defined_table(i));
    }
    for i in 0..shape.num_defined_memories {
        def(format!("VMCTX_DEFINED_MEMORY_{i}"), o.defined_memory(i));
    }
    for i in 0..shape.num_defined_globals {
        def(format!("VMCTX_DEFINED_GLOBAL_{i}"), o.defined_global(i));
    }
    for i in 0..shape.num_funcs() {
        def(format!("VMCTX_FUNC_REF_{i}"), o.func_ref(i));
    }
    for b in Builtin::ALL {
        def(format!("BUILTIN_{}", b.name()), b.index());
    }
    for t in TrapCode::ALL {
        def(format!("TRAP_{t:?}"), t.as_u32());
    }
    h
}

const KILN_TEST_H: &str = r#"
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "kiln_offsets.h"

typedef union {
    int32_t i32;
    int64_t i64;
    float f32;
    double f64;
    void *ref;
    unsigned char bytes[16];
} __attribute__((aligned(16))) ValRaw;

typedef struct { void *wasm_call; void *array_call; void *vmctx; uint32_t type_id; } VMFuncRef;
typedef struct { void *wasm_call; void *array_call; void *vmctx; } VMFunctionImport;
typedef struct { void **base; size_t current_elements; } VMTableDefinition;
typedef struct { unsigned char *base; size_t current_length; } VMMemoryDefinition;

#define FIELD(ctx, offset, type) (*(type *)((char *)(ctx) + (offset)))
#define WASM __attribute__((noinline))

static inline void *builtin(void *vmctx, int index) {
    return FIELD(vmctx, KILN_VMCTX_BUILTINS, void **)[index];
}

typedef __attribute__((noreturn)) void (*raise_trap_fn)(void *, int32_t);
static inline __attribute__((noreturn)) void raise_trap(void *vmctx, int32_t code) {
    ((raise_trap_fn)builtin(vmctx, KILN_BUILTIN_raise_trap))(vmctx, code);
}

static inline void stack_check(void *vmctx) {
    uintptr_t limit = FIELD(FIELD(vmctx, KILN_VMCTX_STORE_CONTEXT, void *), KILN_STORE_CONTEXT_STACK_LIMIT, uintptr_t);
    if ((uintptr_t)__builtin_frame_address(0) < limit) raise_trap(vmctx, KILN_TRAP_StackOverflow);
}

/* What a wasm-to-host trampoline does after spilling arguments. */
static inline void call_host(void *host_ctx, void *caller, ValRaw *values, size_t len) {
    typedef uint32_t (*host_fn)(void *, void *, ValRaw *, size_t);
    uint32_t code = FIELD(host_ctx, KILN_HOST_CTX_ARRAY_CALL, host_fn)(host_ctx, caller, values, len);
    if (code != 0) raise_trap(caller, (int32_t)code);
}
"#;

fn compiler() -> &'static str {
    for cc in ["clang-19", "clang", "cc"] {
        if Command::new(cc).arg("--version").output().is_ok_and(|o| o.status.success()) {
            return cc;
        }
    }
    panic!("no C compiler found (tried clang-19, clang, cc)");
}

/// The C file holding the metadata blob and the function table.
fn artifact_source(blob: &[u8], slots: &[String]) -> String {
    let mut c = String::new();
    for s in slots {
        writeln!(c, "extern void {s}(void);").unwrap();
    }
    write!(
        c,
        "__attribute__((visibility(\"default\"), aligned(16), used)) const unsigned char kiln_metadata[{}] = {{",
        blob.len()
    )
    .unwrap();
    for (i, b) in blob.iter().enumerate() {
        if i % 32 == 0 {
            c.push('\n');
        }
        write!(c, "{b},").unwrap();
    }
    c.push_str("\n};\n");
    write!(c, "__attribute__((visibility(\"default\"))) void *const kiln_functions[{}] = {{", slots.len()).unwrap();
    for s in slots {
        write!(c, "(void *){s},").unwrap();
    }
    c.push_str("};\n");
    c
}

/// Compiles C sources into `out` with `flags` (e.g. `-shared`).
pub fn compile(dir: &Path, sources: &[(&str, &str)], flags: &[&str], out: &Path) {
    let mut cmd = Command::new(compiler());
    cmd.current_dir(dir).args(["-O1", "-g0", "-fPIC", "-fvisibility=hidden", "-fno-stack-protector", "-nostdlib"]);
    for (name, text) in sources {
        std::fs::write(dir.join(name), text).unwrap();
        cmd.arg(name);
    }
    cmd.args(flags).arg("-o").arg(out);
    let output = cmd.output().expect("running the C compiler");
    assert!(output.status.success(), "C compiler failed:\n{}", String::from_utf8_lossy(&output.stderr));
}

/// Builds a library from metadata, function-table slot names and C code;
/// `blob_patch` may alter the encoded blob first.
pub fn build_library(meta: &ModuleMetadata, slots: &[String], c_source: &str, extra_flags: &[&str]) -> Library {
    build_library_with_blob(
        &kiln_abi::artifact::encode(meta, kiln_loader::COMPILER_BUILD),
        meta,
        slots,
        c_source,
        extra_flags,
    )
}

pub fn build_library_with_blob(
    blob: &[u8],
    meta: &ModuleMetadata,
    slots: &[String],
    c_source: &str,
    extra_flags: &[&str],
) -> Library {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kiln_offsets.h"), offsets_header(meta)).unwrap();
    std::fs::write(dir.path().join("kiln_test.h"), KILN_TEST_H).unwrap();
    let path = dir.path().join("module.so");
    let mut flags = vec!["-shared"];
    flags.extend_from_slice(extra_flags);
    compile(
        dir.path(),
        &[("artifact.c", &artifact_source(blob, slots)), ("code.c", &format!("#include \"kiln_test.h\"\n{c_source}"))],
        &flags,
        &path,
    );
    // Sealed as kiln's link step seals a library.
    let mut bytes = std::fs::read(&path).unwrap();
    kiln_abi::seal::seal(&mut bytes);
    std::fs::write(&path, bytes).unwrap();
    Library { dir, path }
}

/// The trap code of an error, panicking with the error if it is no trap.
pub fn trap_code(e: &kiln_loader::Error) -> TrapCode {
    e.as_trap().unwrap_or_else(|| panic!("expected a trap, got: {e}")).code()
}

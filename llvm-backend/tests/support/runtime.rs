//! A deliberately small runtime for executing kiln objects in tests, so the
//! backend's semantics can be checked before the real loader exists.
//!
//! It links the object with `ld.lld` into a shared library, opens it, and
//! builds VM contexts with the offsets from `kiln-abi`. Traps unwind with a
//! tiny setjmp/longjmp pair written in assembly (x86_64 Linux only):
//! `raise_trap` jumps back to the host entry point, and out-of-bounds
//! accesses in guard mode fault into a SIGSEGV handler that does the same.
//! Only what the spec tests need: one memory, funcref tables that do not
//! grow, spectest imports, cross-module function/global/memory/table
//! imports.
#![allow(dead_code)]

use kiln_abi::metadata::{ElementItems, ExternKind, ImportKind, ModuleMetadata, SegmentMode};
use kiln_abi::types::{ConstExpr, ConstOp, FuncType, GlobalType, ValType};
use kiln_abi::vmoffsets::{HOST_CTX_MAGIC, VMCTX_MAGIC};
use kiln_abi::{Builtin, GUARD_RESERVATION, PtrSize, TrapCode, VAL_RAW_SIZE, VMOffsets, WASM_PAGE_SIZE};
use std::cell::Cell;
use std::collections::HashMap;
use std::ffi::c_void;
use std::rc::Rc;
use std::sync::Mutex;

/// A wasm value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Val {
    I32(i32),
    I64(i64),
    /// Raw bits.
    F32(u32),
    /// Raw bits.
    F64(u64),
}

impl Val {
    fn to_raw(self) -> u128 {
        match self {
            Val::I32(v) => v as u32 as u128,
            Val::I64(v) => v as u64 as u128,
            Val::F32(v) => v as u128,
            Val::F64(v) => v as u128,
        }
    }

    fn from_raw(ty: ValType, raw: u128) -> Val {
        match ty {
            ValType::I32 => Val::I32(raw as u32 as i32),
            ValType::I64 => Val::I64(raw as u64 as i64),
            ValType::F32 => Val::F32(raw as u32),
            ValType::F64 => Val::F64(raw as u64),
            other => panic!("test runtime has no {other} values"),
        }
    }
}

// ---- traps: a minimal setjmp/longjmp ----

std::arch::global_asm!(
    ".globl kiln_test_catch",
    "kiln_test_catch:",
    "mov [rdi], rbx",
    "mov [rdi + 8], rbp",
    "mov [rdi + 16], r12",
    "mov [rdi + 24], r13",
    "mov [rdi + 32], r14",
    "mov [rdi + 40], r15",
    "lea rax, [rsp + 8]",
    "mov [rdi + 48], rax",
    "mov rax, [rsp]",
    "mov [rdi + 56], rax",
    "sub rsp, 8",
    "mov rdi, rdx",
    "call rsi",
    "add rsp, 8",
    "xor eax, eax",
    "ret",
    ".globl kiln_test_unwind",
    "kiln_test_unwind:",
    "mov rbx, [rdi]",
    "mov rbp, [rdi + 8]",
    "mov r12, [rdi + 16]",
    "mov r13, [rdi + 24]",
    "mov r14, [rdi + 32]",
    "mov r15, [rdi + 40]",
    "mov rsp, [rdi + 48]",
    "mov eax, esi",
    "jmp qword ptr [rdi + 56]",
);

unsafe extern "C" {
    fn kiln_test_catch(buf: *mut [u64; 8], f: extern "C" fn(*mut c_void), arg: *mut c_void) -> u32;
    fn kiln_test_unwind(buf: *mut [u64; 8], code: u32) -> !;
}

thread_local! {
    static JMP_BUF: Cell<*mut [u64; 8]> = const { Cell::new(std::ptr::null_mut()) };
}

/// Runs `f`; a trap inside returns its code. `f` must not own anything
/// with a destructor across the wasm call (it may be jumped over).
fn catch_traps(f: &mut dyn FnMut()) -> Result<(), TrapCode> {
    extern "C" fn call(arg: *mut c_void) {
        let f = unsafe { &mut *(arg as *mut &mut dyn FnMut()) };
        f();
    }
    let mut buf = [0u64; 8];
    let previous = JMP_BUF.with(|b| b.replace(&mut buf));
    let mut f = f;
    let code = unsafe { kiln_test_catch(&mut buf, call, &mut f as *mut &mut dyn FnMut() as *mut c_void) };
    JMP_BUF.with(|b| b.set(previous));
    match code {
        0 => Ok(()),
        code => Err(TrapCode::from_u32(code).expect("valid trap code")),
    }
}

extern "C" fn raise_trap(_vmctx: *mut u8, code: u32) -> ! {
    let buf = JMP_BUF.with(|b| b.get());
    assert!(!buf.is_null(), "trap outside of wasm");
    unsafe { kiln_test_unwind(buf, code) }
}

extern "C" fn memory_grow(vmctx: *mut u8, memory: u32, delta: u64) -> i64 {
    let offset = VMOffsets::new(PtrSize::HOST, &Default::default()).instance() as usize;
    let instance = unsafe { &*(*(vmctx.add(offset) as *const *const InstanceData)) };
    let mem = &instance.memories[memory as usize];
    let def = unsafe { &mut *mem.definition };
    let old_pages = def.current_length as u64 / WASM_PAGE_SIZE;
    let new_pages = old_pages + delta;
    if new_pages > mem.max_pages.unwrap_or(65536).min(65536) {
        return -1;
    }
    let new_length = (new_pages * WASM_PAGE_SIZE) as usize;
    unsafe {
        if new_length > 0
            && libc::mprotect(def.base as *mut c_void, new_length, libc::PROT_READ | libc::PROT_WRITE) != 0
        {
            return -1;
        }
    }
    def.current_length = new_length;
    old_pages as i64
}

/// Memory reservations, for the SIGSEGV handler.
static RESERVATIONS: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());

extern "C" fn on_segv(_sig: i32, info: *mut libc::siginfo_t, _ctx: *mut c_void) {
    let addr = unsafe { (*info).si_addr() } as usize;
    let ours = RESERVATIONS
        .try_lock()
        .map(|r| r.iter().any(|&(start, len)| addr >= start && addr < start + len))
        .unwrap_or(false);
    let buf = JMP_BUF.with(|b| b.get());
    if ours && !buf.is_null() {
        unsafe { kiln_test_unwind(buf, TrapCode::MemoryOutOfBounds.as_u32()) }
    }
    unsafe {
        libc::signal(libc::SIGSEGV, libc::SIG_DFL);
    }
}

fn install_signal_handler() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_segv as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER;
        libc::sigaction(libc::SIGSEGV, &action, std::ptr::null_mut());
        libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
    });
}

// ---- runtime structures ----

#[repr(C)]
pub struct VMMemoryDefinition {
    base: *mut u8,
    current_length: usize,
}

#[repr(C)]
pub struct VMTableDefinition {
    base: *mut *const VMFuncRef,
    current_elements: usize,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct VMFuncRef {
    wasm_call: *const c_void,
    array_call: *const c_void,
    vmctx: *mut u8,
    type_id: u32,
}

#[repr(C)]
struct VMStoreContext {
    stack_limit: usize,
    _reserved: usize,
}

#[repr(C)]
struct HostContext {
    magic: u32,
    array_call: extern "C" fn(*mut HostContext, *mut u8, *mut u128, usize) -> u32,
}

extern "C" fn host_nop(_ctx: *mut HostContext, _caller: *mut u8, _values: *mut u128, _len: usize) -> u32 {
    0
}

static BUILTINS: [extern "C" fn(); 2] = unsafe {
    [
        std::mem::transmute::<extern "C" fn(*mut u8, u32, u64) -> i64, extern "C" fn()>(memory_grow),
        std::mem::transmute::<extern "C" fn(*mut u8, u32) -> !, extern "C" fn()>(raise_trap),
    ]
};

/// Engine-wide signature ids.
static SIGNATURES: Mutex<Vec<FuncType>> = Mutex::new(Vec::new());

fn signature_id(ty: &FuncType) -> u32 {
    let mut all = SIGNATURES.lock().unwrap();
    match all.iter().position(|t| t == ty) {
        Some(i) => i as u32,
        None => {
            all.push(ty.clone());
            all.len() as u32 - 1
        }
    }
}

/// A compiled and linked module.
pub struct Library {
    lib: libloading::Library,
    functions: *const *const c_void,
    _dir: tempfile::TempDir,
}

impl Library {
    pub fn load(object: &[u8]) -> Result<Library, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let obj = dir.path().join("module.o");
        let so = dir.path().join("module.so");
        std::fs::write(&obj, object).map_err(|e| e.to_string())?;
        let out = std::process::Command::new("ld.lld-19")
            .args(["-shared", "-o"])
            .arg(&so)
            .arg(&obj)
            .output()
            .map_err(|e| format!("cannot run ld.lld-19: {e}"))?;
        if !out.status.success() {
            return Err(format!("link failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let lib = unsafe { libloading::Library::new(&so) }.map_err(|e| e.to_string())?;
        let functions = unsafe {
            *lib.get::<*const *const c_void>(kiln_abi::symbols::FUNCTIONS.as_bytes()).map_err(|e| e.to_string())?
        };
        Ok(Library { lib, functions, _dir: dir })
    }

    fn slot(&self, index: u32) -> *const c_void {
        unsafe { *self.functions.add(index as usize) }
    }
}

/// An exported entity.
#[derive(Clone)]
pub enum Extern {
    Func(VMFuncRef, FuncType),
    Table(*mut VMTableDefinition, Option<u64>),
    Memory(*mut VMMemoryDefinition, Option<u64>),
    Global(*mut u8, GlobalType),
}

/// Something imports can be resolved from.
pub trait Exports {
    fn export(&self, name: &str) -> Option<Extern>;
}

struct MemoryHandle {
    definition: *mut VMMemoryDefinition,
    max_pages: Option<u64>,
}

struct InstanceData {
    memories: Vec<MemoryHandle>,
}

/// An instantiated module.
pub struct Instance {
    pub meta: ModuleMetadata,
    lib: Rc<Library>,
    offsets: VMOffsets,
    vmctx: *mut u8,
    data: Box<InstanceData>,
    store: Box<VMStoreContext>,
    tables: Vec<Box<[*const VMFuncRef]>>,
    /// Boxed: generated code holds pointers to them.
    #[allow(clippy::vec_box)]
    hosts: Vec<Box<HostContext>>,
    _keep: Vec<Rc<dyn Exports>>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        unsafe {
            std::alloc::dealloc(
                self.vmctx,
                std::alloc::Layout::from_size_align(self.offsets.size() as usize, 16).unwrap(),
            );
        }
    }
}

fn reserve_memory(min_pages: u64) -> *mut u8 {
    install_signal_handler();
    unsafe {
        let base = libc::mmap(
            std::ptr::null_mut(),
            GUARD_RESERVATION as usize,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        );
        assert_ne!(base, libc::MAP_FAILED, "mmap failed");
        let len = (min_pages * WASM_PAGE_SIZE) as usize;
        if len > 0 {
            assert_eq!(libc::mprotect(base, len, libc::PROT_READ | libc::PROT_WRITE), 0);
        }
        RESERVATIONS.lock().unwrap().push((base as usize, GUARD_RESERVATION as usize));
        base as *mut u8
    }
}

/// Why instantiation failed.
pub enum InstantiateError {
    Link(String),
    /// Instantiation trapped; the instance must stay alive, as tables it
    /// initialized may point into it.
    Trap(TrapCode, Rc<Instance>),
}

/// A failure inside `initialize`.
enum InitError {
    Link(String),
    Trap(TrapCode),
}

impl Instance {
    /// Instantiates `meta`/`lib` resolving imports through `resolve`.
    pub fn new(
        meta: ModuleMetadata,
        lib: Rc<Library>,
        resolve: &dyn Fn(&str) -> Option<Rc<dyn Exports>>,
        stack_limit: usize,
    ) -> Result<Rc<Instance>, InstantiateError> {
        let offsets = VMOffsets::new(PtrSize::HOST, &meta.shape());
        let layout = std::alloc::Layout::from_size_align(offsets.size() as usize, 16).unwrap();
        let vmctx = unsafe { std::alloc::alloc_zeroed(layout) };
        let mut instance = Instance {
            meta,
            lib,
            offsets,
            vmctx,
            data: Box::new(InstanceData { memories: Vec::new() }),
            store: Box::new(VMStoreContext { stack_limit, _reserved: 0 }),
            tables: Vec::new(),
            hosts: Vec::new(),
            _keep: Vec::new(),
        };
        let result = instance.initialize(resolve);
        let instance = Rc::new(instance);
        match result {
            Err(InitError::Link(m)) => return Err(InstantiateError::Link(m)),
            Err(InitError::Trap(code)) => return Err(InstantiateError::Trap(code, instance)),
            Ok(()) => {}
        }
        if let Some(start) = instance.meta.start {
            let func = instance.func_ref(start);
            if let Err(code) = instance.call_ref(&func, &instance.function_type(start), &[]) {
                return Err(InstantiateError::Trap(code, instance));
            }
        }
        Ok(instance)
    }

    unsafe fn write<T>(&self, offset: u32, value: T) {
        unsafe { (self.vmctx.add(offset as usize) as *mut T).write(value) }
    }

    unsafe fn read<T: Copy>(&self, offset: u32) -> T {
        unsafe { (self.vmctx.add(offset as usize) as *const T).read() }
    }

    fn function_type(&self, index: u32) -> FuncType {
        self.meta.types[self.meta.functions[index as usize].type_index as usize].ty.clone()
    }

    fn initialize(&mut self, resolve: &dyn Fn(&str) -> Option<Rc<dyn Exports>>) -> Result<(), InitError> {
        let o = self.offsets.clone();
        unsafe {
            self.write(o.magic(), VMCTX_MAGIC);
            let store = &mut *self.store as *mut VMStoreContext;
            self.write(o.store_context(), store);
            self.write(o.builtins(), BUILTINS.as_ptr());
            self.write(o.instance(), &*self.data as *const InstanceData);
        }
        assert_eq!(Builtin::raise_trap.index(), 1);
        for (i, sig) in self.meta.types.iter().enumerate() {
            unsafe { self.write(o.type_id(i as u32), signature_id(&sig.ty)) };
        }

        let (mut funcs, mut tables, mut memories, mut globals) = (0u32, 0u32, 0u32, 0u32);
        let imports = self.meta.imports.clone();
        for import in &imports {
            let module =
                resolve(&import.module).ok_or_else(|| InitError::Link(format!("unknown module {}", import.module)))?;
            let ext = module
                .export(&import.name)
                .ok_or_else(|| InitError::Link(format!("unknown import {}.{}", import.module, import.name)))?;
            self._keep.push(module);
            match (&import.kind, ext) {
                (ImportKind::Func(ty), Extern::Func(func, func_ty)) => {
                    if func_ty != self.meta.types[*ty as usize].ty {
                        return Err(InitError::Link("incompatible import type".into()));
                    }
                    let func = if func.vmctx.is_null() {
                        // A host function: enter through our wasm-to-host trampoline.
                        let host = Box::new(HostContext { magic: HOST_CTX_MAGIC, array_call: host_nop });
                        let sig = &self.meta.types[*ty as usize];
                        let f = VMFuncRef {
                            wasm_call: self.lib.slot(sig.wasm_to_host),
                            array_call: self.lib.slot(sig.array_call),
                            vmctx: &*host as *const HostContext as *mut u8,
                            type_id: signature_id(&sig.ty),
                        };
                        self.hosts.push(host);
                        f
                    } else {
                        func
                    };
                    let at = o.imported_func(funcs);
                    unsafe {
                        self.write(at + o.function_import_wasm_call(), func.wasm_call);
                        self.write(at + o.function_import_array_call(), func.array_call);
                        self.write(at + o.function_import_vmctx(), func.vmctx);
                        self.write(o.func_ref(funcs), func);
                    }
                    funcs += 1;
                }
                (ImportKind::Table(ty), Extern::Table(def, max)) => {
                    let current = unsafe { (*def).current_elements } as u64;
                    if current < ty.limits.min || (ty.limits.max.is_some() && (max.is_none() || max > ty.limits.max)) {
                        return Err(InitError::Link("incompatible table import".into()));
                    }
                    unsafe { self.write(o.imported_table(tables), def) };
                    tables += 1;
                }
                (ImportKind::Memory(ty), Extern::Memory(def, max)) => {
                    let current = unsafe { (*def).current_length } as u64 / WASM_PAGE_SIZE;
                    if current < ty.limits.min || (ty.limits.max.is_some() && (max.is_none() || max > ty.limits.max)) {
                        return Err(InitError::Link("incompatible memory import".into()));
                    }
                    unsafe { self.write(o.imported_memory(memories), def) };
                    self.data.memories.push(MemoryHandle { definition: def, max_pages: max });
                    memories += 1;
                }
                (ImportKind::Global(ty), Extern::Global(storage, actual)) => {
                    if *ty != actual {
                        return Err(InitError::Link("incompatible global import".into()));
                    }
                    unsafe { self.write(o.imported_global(globals), storage) };
                    globals += 1;
                }
                _ => return Err(InitError::Link("import kind mismatch".into())),
            }
        }

        for (i, memory) in self.meta.memories.clone().iter().enumerate() {
            let at = o.defined_memory(i as u32);
            let base = reserve_memory(memory.limits.min);
            unsafe {
                self.write(at + o.memory_definition_base(), base);
                self.write(at + o.memory_definition_current_length(), (memory.limits.min * WASM_PAGE_SIZE) as usize);
            }
            let definition = unsafe { self.vmctx.add(at as usize) } as *mut VMMemoryDefinition;
            self.data.memories.push(MemoryHandle { definition, max_pages: memory.limits.max });
        }
        for (i, table) in self.meta.tables.clone().iter().enumerate() {
            let mut elements = vec![std::ptr::null::<VMFuncRef>(); table.ty.limits.min as usize].into_boxed_slice();
            let at = o.defined_table(i as u32);
            unsafe {
                self.write(at + o.table_definition_base(), elements.as_mut_ptr());
                self.write(at + o.table_definition_current_elements(), elements.len());
            }
            self.tables.push(elements);
        }
        for (i, global) in self.meta.globals.clone().iter().enumerate() {
            let value = self.eval(&global.init);
            unsafe { self.write(o.defined_global(i as u32), value) };
        }
        let num_imported_funcs = funcs;
        for (index, info) in self.meta.functions.clone().iter().enumerate().skip(num_imported_funcs as usize) {
            if let Some(slot) = info.wasm_call {
                let sig = &self.meta.types[info.type_index as usize];
                let func = VMFuncRef {
                    wasm_call: self.lib.slot(slot),
                    array_call: self.lib.slot(sig.array_call),
                    vmctx: self.vmctx,
                    type_id: signature_id(&sig.ty),
                };
                unsafe { self.write(o.func_ref(index as u32), func) };
            }
        }

        for segment in self.meta.elements.clone() {
            let SegmentMode::Active(active) = &segment.mode else { continue };
            let offset = self.eval(&active.offset) as u32 as usize;
            let items: Vec<*const VMFuncRef> = match &segment.items {
                ElementItems::Functions(f) => f.iter().map(|&i| self.func_ref_ptr(i)).collect(),
                ElementItems::Expressions(exprs) => exprs
                    .iter()
                    .map(|e| match e.ops.as_slice() {
                        [ConstOp::RefFunc(i)] => self.func_ref_ptr(*i),
                        _ => std::ptr::null(),
                    })
                    .collect(),
            };
            let def = self.table_definition(active.index);
            let size = unsafe { (*def).current_elements };
            if offset.checked_add(items.len()).is_none_or(|end| end > size) {
                return Err(InitError::Trap(TrapCode::TableOutOfBounds));
            }
            for (i, item) in items.into_iter().enumerate() {
                unsafe { *(*def).base.add(offset + i) = item };
            }
        }
        for segment in self.meta.data.clone() {
            let SegmentMode::Active(active) = &segment.mode else { continue };
            let offset = self.eval(&active.offset) as u32 as usize;
            let def = unsafe { &*self.data.memories[active.index as usize].definition };
            if offset.checked_add(segment.bytes.len()).is_none_or(|end| end > def.current_length) {
                return Err(InitError::Trap(TrapCode::MemoryOutOfBounds));
            }
            unsafe { std::ptr::copy_nonoverlapping(segment.bytes.as_ptr(), def.base.add(offset), segment.bytes.len()) };
        }
        Ok(())
    }

    fn table_definition(&self, index: u32) -> *mut VMTableDefinition {
        let imported = self.meta.imports.iter().filter(|i| matches!(i.kind, ImportKind::Table(_))).count() as u32;
        if index < imported {
            unsafe { self.read(self.offsets.imported_table(index)) }
        } else {
            unsafe { self.vmctx.add(self.offsets.defined_table(index - imported) as usize) as *mut VMTableDefinition }
        }
    }

    fn table_max(&self, index: u32) -> Option<u64> {
        let imported: Vec<_> = self
            .meta
            .imports
            .iter()
            .filter_map(|i| match i.kind {
                ImportKind::Table(t) => Some(t.limits.max),
                _ => None,
            })
            .collect();
        match imported.get(index as usize) {
            Some(max) => *max,
            None => self.meta.tables[index as usize - imported.len()].ty.limits.max,
        }
    }

    fn func_ref_ptr(&self, index: u32) -> *const VMFuncRef {
        unsafe { self.vmctx.add(self.offsets.func_ref(index) as usize) as *const VMFuncRef }
    }

    fn func_ref(&self, index: u32) -> VMFuncRef {
        unsafe { *self.func_ref_ptr(index) }
    }

    fn global_ptr(&self, index: u32) -> *mut u8 {
        let imported = self.meta.imports.iter().filter(|i| matches!(i.kind, ImportKind::Global(_))).count() as u32;
        if index < imported {
            unsafe { self.read(self.offsets.imported_global(index)) }
        } else {
            unsafe { self.vmctx.add(self.offsets.defined_global(index - imported) as usize) }
        }
    }

    fn global_type(&self, index: u32) -> GlobalType {
        let mut imported = self.meta.imports.iter().filter_map(|i| match i.kind {
            ImportKind::Global(g) => Some(g),
            _ => None,
        });
        imported.nth(index as usize).unwrap_or_else(|| {
            let n = self.meta.imports.iter().filter(|i| matches!(i.kind, ImportKind::Global(_))).count();
            self.meta.globals[index as usize - n].ty
        })
    }

    /// Evaluates a constant expression to raw bits.
    fn eval(&self, expr: &ConstExpr) -> u128 {
        let mut stack: Vec<u128> = Vec::new();
        for op in &expr.ops {
            let v = match *op {
                ConstOp::I32Const(v) => v as u32 as u128,
                ConstOp::I64Const(v) => v as u64 as u128,
                ConstOp::F32Const(v) => v as u128,
                ConstOp::F64Const(v) => v as u128,
                ConstOp::V128Const(v) => v,
                ConstOp::RefNull(_) => 0,
                ConstOp::RefFunc(i) => self.func_ref_ptr(i) as usize as u128,
                ConstOp::GlobalGet(i) => unsafe { (self.global_ptr(i) as *const u128).read_unaligned() },
                other => panic!("test runtime cannot evaluate {other:?}"),
            };
            stack.push(v);
        }
        stack.pop().unwrap_or(0)
    }

    /// Calls `func` with `args`, catching traps.
    fn call_ref(&self, func: &VMFuncRef, ty: &FuncType, args: &[Val]) -> Result<Vec<Val>, TrapCode> {
        let slots = ty.params.len().max(ty.results.len()).max(1);
        let mut values = vec![0u128; slots];
        for (slot, arg) in values.iter_mut().zip(args) {
            *slot = arg.to_raw();
        }
        assert_eq!(VAL_RAW_SIZE, 16);
        type ArrayCall = unsafe extern "C" fn(*mut u8, *mut u8, *const c_void, *mut u128);
        let array_call: ArrayCall = unsafe { std::mem::transmute(func.array_call) };
        let (callee, wasm_call, values_ptr) = (func.vmctx, func.wasm_call, values.as_mut_ptr());
        catch_traps(&mut || unsafe { array_call(callee, callee, wasm_call, values_ptr) })?;
        Ok(ty.results.iter().zip(&values).map(|(&t, &raw)| Val::from_raw(t, raw)).collect())
    }

    /// Calls the exported function `name`.
    pub fn invoke(&self, name: &str, args: &[Val]) -> Result<Result<Vec<Val>, TrapCode>, String> {
        let export = self.meta.exports.iter().find(|e| e.name == name && e.kind == ExternKind::Func);
        let index = export.ok_or_else(|| format!("no exported function {name}"))?.index;
        Ok(self.call_ref(&self.func_ref(index), &self.function_type(index), args))
    }

    /// Reads the exported global `name`.
    pub fn get_global(&self, name: &str) -> Result<Val, String> {
        let export = self.meta.exports.iter().find(|e| e.name == name && e.kind == ExternKind::Global);
        let index = export.ok_or_else(|| format!("no exported global {name}"))?.index;
        let raw = unsafe { (self.global_ptr(index) as *const u128).read() };
        Ok(Val::from_raw(self.global_type(index).content, raw))
    }
}

impl Exports for Instance {
    fn export(&self, name: &str) -> Option<Extern> {
        let export = self.meta.exports.iter().find(|e| e.name == name)?;
        let i = export.index;
        Some(match export.kind {
            ExternKind::Func => Extern::Func(self.func_ref(i), self.function_type(i)),
            ExternKind::Table => Extern::Table(self.table_definition(i), self.table_max(i)),
            ExternKind::Memory => {
                let handle = &self.data.memories[i as usize];
                Extern::Memory(handle.definition, handle.max_pages)
            }
            ExternKind::Global => Extern::Global(self.global_ptr(i), self.global_type(i)),
        })
    }
}

/// The `spectest` module of the spec test suite.
pub struct SpecTest {
    globals: HashMap<&'static str, (Box<u128>, GlobalType)>,
    memory: Box<VMMemoryDefinition>,
    table: Box<VMTableDefinition>,
    _elements: Box<[*const VMFuncRef]>,
}

impl SpecTest {
    pub fn new() -> SpecTest {
        let g = |content, bits: u128| (Box::new(bits), GlobalType { content, mutable: false });
        let mut globals = HashMap::new();
        globals.insert("global_i32", g(ValType::I32, 666));
        globals.insert("global_i64", g(ValType::I64, 666));
        globals.insert("global_f32", g(ValType::F32, 666.6f32.to_bits() as u128));
        globals.insert("global_f64", g(ValType::F64, 666.6f64.to_bits() as u128));
        let mut elements = vec![std::ptr::null::<VMFuncRef>(); 10].into_boxed_slice();
        let table = Box::new(VMTableDefinition { base: elements.as_mut_ptr(), current_elements: 10 });
        let memory = Box::new(VMMemoryDefinition { base: reserve_memory(1), current_length: WASM_PAGE_SIZE as usize });
        SpecTest { globals, memory, table, _elements: elements }
    }
}

impl Exports for SpecTest {
    fn export(&self, name: &str) -> Option<Extern> {
        use ValType::*;
        let func = |params: &[ValType]| {
            let null = VMFuncRef {
                wasm_call: std::ptr::null(),
                array_call: std::ptr::null(),
                vmctx: std::ptr::null_mut(),
                type_id: 0,
            };
            Extern::Func(null, FuncType::new(params.to_vec(), vec![]))
        };
        Some(match name {
            "print" => func(&[]),
            "print_i32" => func(&[I32]),
            "print_i64" => func(&[I64]),
            "print_f32" => func(&[F32]),
            "print_f64" => func(&[F64]),
            "print_i32_f32" => func(&[I32, F32]),
            "print_f64_f64" => func(&[F64, F64]),
            "table" => Extern::Table(&*self.table as *const _ as *mut _, Some(20)),
            "memory" => Extern::Memory(&*self.memory as *const _ as *mut _, Some(2)),
            global => {
                let (storage, ty) = self.globals.get(global)?;
                Extern::Global(&**storage as *const u128 as *mut u8, *ty)
            }
        })
    }
}

//! Instantiation, in the order the specification prescribes: check the
//! imports; build the VM context (header, type ids, imports, function
//! references); create globals, tables and memories; apply active element
//! segments, then active data segments, trapping at the first that does not
//! fit (earlier writes stay, as bulk memory requires); finally run the start
//! function (done by the caller, [`Instance::new`](crate::Instance::new),
//! once no borrow of the store is alive).

use super::const_expr::{self, ConstContext};
use super::{InstanceData, link};
use crate::externals::{GlobalEntry, MemoryEntry, TableEntry};
use crate::store::StoreOpaque;
use crate::vm::{
    BUILTINS, OwnedVMContext, RawBox, VMContext, VMFuncRef, VMFunctionImport, VMStoreContext, ValRaw, VmSafe,
    vmctx_field,
};
use crate::{Engine, Error, Extern, Module, Trap};
use kiln_abi::metadata::{ArchivedElementItems, ArchivedImportKind, ArchivedSegmentMode};
use kiln_abi::types::ArchivedConstExpr;
use kiln_abi::vmoffsets::VMCTX_MAGIC;
use kiln_abi::{TrapCode, VMOffsets};
use std::ffi::c_void;
use std::ptr::NonNull;

/// The result of building an instance: its index, and its start function's
/// reference if it has one.
pub(crate) struct Built {
    pub index: u32,
    pub start: Option<*const VMFuncRef>,
}

/// Reads globals and function references of an instance under construction.
struct View<'a> {
    store: &'a StoreOpaque,
    instance: &'a InstanceData,
}

impl ConstContext for View<'_> {
    fn global(&self, index: u32) -> ValRaw {
        self.store.globals[self.instance.globals[index as usize] as usize].read()
    }
    fn func_ref(&self, index: u32) -> usize {
        self.instance.func_ref(index) as usize
    }
}

/// An instance being built: its data already lives in the store.
struct Builder<'a> {
    store: &'a mut StoreOpaque,
    module: &'a Module,
    offsets: VMOffsets,
    vmctx: *mut VMContext,
    instance: *mut InstanceData,
}

impl Builder<'_> {
    /// Writes `value` at `offset` in the VM context.
    ///
    /// # Safety
    /// `offset` must be where this module's `VMOffsets` places a `T`.
    unsafe fn write<T: VmSafe>(&self, offset: u32, value: T) {
        // SAFETY: the VM context was allocated with this module's layout.
        unsafe { vmctx_field::<T>(self.vmctx, offset).write(value) }
    }

    /// The address of the field at `offset`, which lives as long as the
    /// instance (and so as long as the store).
    fn field<T: VmSafe>(&self, offset: u32) -> NonNull<T> {
        // SAFETY: offsets come from this module's layout; a field address
        // inside a live allocation is not null.
        unsafe { NonNull::new_unchecked(vmctx_field::<T>(self.vmctx, offset)) }
    }

    fn instance(&mut self) -> &mut InstanceData {
        // SAFETY: the instance data is a separate allocation owned by the
        // store; no other reference to it exists while we build it.
        unsafe { &mut *self.instance }
    }

    fn eval(&self, expr: &ArchivedConstExpr) -> Result<ValRaw, Error> {
        // SAFETY: a shared view while no mutable borrow of the instance data
        // exists (`instance()` borrows end at each statement).
        let instance = unsafe { &*self.instance };
        const_expr::eval(expr, &View { store: self.store, instance })
    }

    fn header(&self) {
        let o = &self.offsets;
        // SAFETY: each offset is the header field of the given type.
        unsafe {
            self.write(o.magic(), VMCTX_MAGIC);
            self.write::<*mut VMStoreContext>(o.store_context(), self.store.vm_store_context.as_ptr());
            self.write::<*const c_void>(o.builtins(), (&raw const BUILTINS).cast());
            self.write::<*mut InstanceData>(o.instance(), self.instance);
            for (t, id) in self.module.sig_ids().iter().enumerate() {
                self.write(o.type_id(t as u32), *id);
            }
        }
    }

    /// Fills the import regions and the imported functions' references.
    fn imports(&mut self, imports: &[Extern]) {
        let meta = self.module.metadata();
        let mut funcs = 0u32;
        for (import, given) in meta.imports.iter().zip(imports) {
            match (&import.kind, given) {
                (ArchivedImportKind::Func(t), Extern::Func(f)) => {
                    let sig = &meta.types[t.to_native() as usize];
                    // SAFETY: `f` was checked to belong to this store.
                    let callee = unsafe { *f.vm_func_ref() };
                    // SAFETY: as above.
                    let import = match unsafe { crate::traphandlers::host_context(f.vm_func_ref()) } {
                        // A host function is called through this module's
                        // trampoline for the import's type.
                        Some(host) => VMFunctionImport {
                            wasm_call: self.module.slot(sig.wasm_to_host.to_native()),
                            array_call: self.module.slot(sig.array_call.to_native()),
                            vmctx: host.as_ptr().cast(),
                        },
                        None => VMFunctionImport {
                            wasm_call: callee.wasm_call,
                            array_call: callee.array_call,
                            vmctx: callee.vmctx,
                        },
                    };
                    let func_ref = VMFuncRef {
                        wasm_call: import.wasm_call,
                        array_call: import.array_call,
                        vmctx: import.vmctx,
                        type_id: callee.type_id,
                    };
                    // SAFETY: import and function reference slots of `funcs`.
                    unsafe {
                        self.write(self.offsets.imported_func(funcs), import);
                        self.write(self.offsets.func_ref(funcs), func_ref);
                    }
                    funcs += 1;
                }
                (ArchivedImportKind::Table(_), Extern::Table(t)) => {
                    let index = self.instance().tables.len() as u32;
                    let definition = self.store.tables[t.index as usize].definition();
                    // SAFETY: the pointer slot of imported table `index`.
                    unsafe { self.write(self.offsets.imported_table(index), definition) };
                    self.instance().tables.push(t.index);
                }
                (ArchivedImportKind::Memory(_), Extern::Memory(m)) => {
                    let index = self.instance().memories.len() as u32;
                    let definition = self.store.memories[m.index as usize].definition();
                    // SAFETY: the pointer slot of imported memory `index`.
                    unsafe { self.write(self.offsets.imported_memory(index), definition) };
                    self.instance().memories.push(m.index);
                }
                (ArchivedImportKind::Global(_), Extern::Global(g)) => {
                    let index = self.instance().globals.len() as u32;
                    let definition = self.store.globals[g.index as usize].definition();
                    // SAFETY: the pointer slot of imported global `index`.
                    unsafe { self.write(self.offsets.imported_global(index), definition) };
                    self.instance().globals.push(g.index);
                }
                (ArchivedImportKind::Tag(_), Extern::Tag(t)) => {
                    let index = self.instance().tags.len() as u32;
                    let identity = t.vm_tag(self.store);
                    // SAFETY: the identity slot of tag `index`.
                    unsafe { self.write(self.offsets.tag(index), identity) };
                    self.instance().tags.push(t.index);
                }
                _ => unreachable!("import kinds were checked by link::check_import"),
            }
        }
    }

    /// References of the defined functions.
    fn func_refs(&self) {
        let meta = self.module.metadata();
        let first = self.offsets.shape().num_imported_funcs as usize;
        for (i, f) in meta.functions.iter().enumerate().skip(first) {
            let t = f.type_index.to_native() as usize;
            let func_ref = VMFuncRef {
                wasm_call: f.wasm_call.as_ref().map_or(std::ptr::null(), |slot| self.module.slot(slot.to_native())),
                array_call: self.module.slot(meta.types[t].array_call.to_native()),
                vmctx: self.vmctx.cast(),
                type_id: self.module.sig_ids()[t],
            };
            // SAFETY: the reference slot of function `i`.
            unsafe { self.write(self.offsets.func_ref(i as u32), func_ref) };
        }
    }

    /// Defined globals, tables and memories, in that order (global
    /// initializers may only read globals; table initializers may read
    /// globals and take function references).
    fn definitions(&mut self) -> Result<(), Error> {
        let meta = self.module.metadata();
        for (i, g) in meta.globals.iter().enumerate() {
            let value = self.eval(&g.init)?;
            let ty = self.module.canonical_global(g.ty.to_native());
            let slot = self.field(self.offsets.defined_global(i as u32));
            // SAFETY: the slot lives in this VM context, as long as the store.
            self.store.globals.push(unsafe { GlobalEntry::new(ty, value, Some(slot)) });
            let id = self.store.globals.len() as u32 - 1;
            self.instance().globals.push(id);
        }
        for (i, t) in meta.tables.iter().enumerate() {
            let init = match t.init.as_ref() {
                Some(expr) => self.eval(expr)?.reference(),
                None => 0,
            };
            let ty = self.module.canonical_table(t.ty.to_native());
            let definition = self.field(self.offsets.defined_table(i as u32));
            // SAFETY: as for globals.
            self.store.tables.push(unsafe { TableEntry::new(ty, init, Some(definition)) }?);
            let id = self.store.tables.len() as u32 - 1;
            self.instance().tables.push(id);
        }
        for t in meta.tags.iter() {
            let tag = self.store.push_tag(self.module.sig_ids()[t.to_native() as usize]);
            let index = self.instance().tags.len() as u32;
            let identity = tag.vm_tag(self.store);
            // SAFETY: the identity slot of tag `index`.
            unsafe { self.write(self.offsets.tag(index), identity) };
            self.instance().tags.push(tag.index);
        }
        for (i, m) in meta.memories.iter().enumerate() {
            let ty = m.to_native();
            let definition = self.field(self.offsets.defined_memory(i as u32));
            // SAFETY: as for globals.
            self.store.memories.push(unsafe { MemoryEntry::new(ty, Some(definition)) }?);
            let id = self.store.memories.len() as u32 - 1;
            self.instance().memories.push(id);
        }
        Ok(())
    }

    /// Evaluates every element segment's items, then copies the active
    /// segments in order; active and declarative segments are dropped.
    fn elements(&mut self) -> Result<(), Error> {
        let meta = self.module.metadata();
        let mut evaluated = Vec::with_capacity(meta.elements.len());
        for seg in meta.elements.iter() {
            let items: Box<[usize]> = match &seg.items {
                ArchivedElementItems::Functions(fs) => {
                    // SAFETY: a shared read of the instance's references.
                    fs.iter().map(|f| unsafe { &*self.instance }.func_ref(f.to_native()) as usize).collect()
                }
                ArchivedElementItems::Expressions(es) => {
                    es.iter().map(|e| self.eval(e).map(|v| v.reference())).collect::<Result<_, _>>()?
                }
            };
            evaluated.push(items);
        }
        self.instance().elements = evaluated.iter().cloned().map(Some).collect();
        for (i, seg) in meta.elements.iter().enumerate() {
            match &seg.mode {
                ArchivedSegmentMode::Passive => continue,
                ArchivedSegmentMode::Declared => {}
                ArchivedSegmentMode::Active(active) => {
                    let offset = self.eval(&active.offset)?;
                    let table = self.instance().tables[active.index.to_native() as usize];
                    let entry = &mut self.store.tables[table as usize];
                    let offset = if entry.ty().table64 { offset.i64() as u64 } else { u64::from(offset.i32() as u32) };
                    if !entry.write(offset, &evaluated[i]) {
                        return Err(Trap::new(TrapCode::TableOutOfBounds).into());
                    }
                }
            }
            self.instance().elements[i] = None;
        }
        Ok(())
    }

    /// Copies the active data segments in order and drops them.
    fn data(&mut self) -> Result<(), Error> {
        let meta = self.module.metadata();
        for (i, seg) in meta.data.iter().enumerate() {
            let ArchivedSegmentMode::Active(active) = &seg.mode else { continue };
            let offset = self.eval(&active.offset)?;
            let memory = self.instance().memories[active.index.to_native() as usize];
            let entry = &mut self.store.memories[memory as usize];
            let offset = if entry.ty().memory64 { offset.i64() as u64 } else { u64::from(offset.i32() as u32) };
            let bytes = entry.data_mut();
            let start = usize::try_from(offset).ok();
            let range = start.and_then(|s| Some(s..s.checked_add(seg.bytes.len())?)).filter(|r| r.end <= bytes.len());
            let Some(range) = range else {
                return Err(Trap::new(TrapCode::MemoryOutOfBounds).into());
            };
            bytes[range].copy_from_slice(&seg.bytes);
            self.instance().dropped_data[i] = true;
        }
        Ok(())
    }
}

/// Builds an instance of `module` in `store`.
pub(crate) fn instantiate(store: &mut StoreOpaque, module: &Module, imports: &[Extern]) -> Result<Built, Error> {
    if !Engine::same(&store.engine, module.engine()) {
        return Err(Error::WrongEngine);
    }
    let meta = module.metadata();
    if imports.len() != meta.imports.len() {
        return Err(Error::ImportCount { expected: meta.imports.len(), given: imports.len() });
    }
    for (import, given) in meta.imports.iter().zip(imports) {
        link::check_import(store, module, import, given)?;
    }

    // From here on the instance exists in the store even if a later step
    // fails: segments may already have stored references to its functions
    // in imported tables, and those must stay callable.
    let offsets = module.offsets().clone();
    let index = store.instances.len() as u32;
    let data = RawBox::new(InstanceData {
        module: module.clone(),
        vmctx: OwnedVMContext::new(offsets.size()),
        store: store.self_ptr,
        index,
        memories: Vec::new(),
        tables: Vec::new(),
        globals: Vec::new(),
        tags: Vec::new(),
        elements: Vec::new(),
        dropped_data: vec![false; meta.data.len()],
    });
    let (instance, vmctx) = (data.as_ptr(), data.vmctx());
    store.instances.push(data);
    store.register_trampolines(module);

    let mut builder = Builder { store, module, offsets, vmctx, instance };
    builder.header();
    builder.imports(imports);
    builder.func_refs();
    builder.definitions()?;
    builder.elements()?;
    builder.data()?;
    let start = meta.start.as_ref().map(|f| builder.instance().func_ref(f.to_native()) as *const VMFuncRef);
    Ok(Built { index, start })
}

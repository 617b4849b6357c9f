//! The layout of the VM context, the one block of memory through which
//! generated code reaches everything an instance owns or imports.
//!
//! # Why one function computes it
//!
//! Generated code addresses every field as `vmctx + constant`, and the
//! runtime must write the very same bytes. The layout depends on the
//! module's shape (how many imports, tables, memories, globals and types it
//! has) and on the *target's* pointer size, which is not the host's when
//! cross-compiling. So [`VMOffsets::new`] is the only place offsets are
//! computed; the compiler calls it with the target's [`PtrSize`], the loader
//! with the host's, and a runtime test checks the loader's `#[repr(C)]`
//! structs against the numbers here.
//!
//! # The layout
//!
//! ```text
//! header           magic (u32, padded to a pointer)
//!                  store_context: *VMStoreContext   (stack limit, shared by a store)
//!                  builtins:      *[fn; Builtin::ALL.len()]
//!                  instance:      *runtime-private instance data
//! type_ids         [u32; num_types]      engine-wide signature id per module type
//! imported_funcs   [VMFunctionImport; n] { wasm_call, array_call, vmctx }
//! imported_tables  [*VMTableDefinition; n]
//! imported_memories[*VMMemoryDefinition; n]
//! imported_globals [*VMGlobalDefinition; n]
//! defined_tables   [VMTableDefinition; n]  { base, current_elements }
//! defined_memories [VMMemoryDefinition; n] { base, current_length }
//! defined_globals  [VMGlobalDefinition; n] 16 bytes each, 16-aligned
//! func_refs        [VMFuncRef; num_funcs]  { wasm_call, array_call, vmctx, type_id }
//! tags             [*VMTag; num_tags]      tag identities, imported ones first
//! ```
//!
//! Tags come last so that a module without any has the layout it had
//! before exception handling.
//!
//! A memory's `base` never changes after instantiation (memories are
//! reserved at their maximum size up front), so generated code may load it
//! once per function and mark the load invariant. Type ids, imports and the
//! builtin table pointer are likewise fixed for the instance's lifetime.
//! Table `base`, `current_elements` and a memory's `current_length` do change
//! (except for a table whose declared maximum equals its minimum, which can
//! never grow).

/// The pointer size of a target, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PtrSize(u8);

impl PtrSize {
    /// The pointer size of the machine running this code.
    pub const HOST: PtrSize = PtrSize(std::mem::size_of::<usize>() as u8);

    /// A pointer size of `bytes` bytes: 4 or 8.
    pub fn new(bytes: u8) -> Option<PtrSize> {
        matches!(bytes, 4 | 8).then_some(PtrSize(bytes))
    }

    /// The size in bytes.
    pub fn bytes(self) -> u32 {
        u32::from(self.0)
    }
}

/// The counts that determine a module's VM context layout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ModuleShape {
    /// Entries in the type section.
    pub num_types: u32,
    /// Imported functions (they come first in the function index space).
    pub num_imported_funcs: u32,
    /// Functions defined by the module.
    pub num_defined_funcs: u32,
    /// Imported tables.
    pub num_imported_tables: u32,
    /// Tables defined by the module.
    pub num_defined_tables: u32,
    /// Imported memories.
    pub num_imported_memories: u32,
    /// Memories defined by the module.
    pub num_defined_memories: u32,
    /// Imported globals.
    pub num_imported_globals: u32,
    /// Globals defined by the module.
    pub num_defined_globals: u32,
    /// Imported tags (they come first in the tag index space).
    pub num_imported_tags: u32,
    /// Tags defined by the module.
    pub num_defined_tags: u32,
}

impl ModuleShape {
    /// Functions in the whole index space (imported and defined).
    pub fn num_funcs(&self) -> u32 {
        self.num_imported_funcs + self.num_defined_funcs
    }

    /// Tags in the whole index space (imported and defined).
    pub fn num_tags(&self) -> u32 {
        self.num_imported_tags + self.num_defined_tags
    }
}

/// Offsets of every field of a module's VM context, and of the fields of the
/// small structs it points to, for one pointer size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VMOffsets {
    ptr: PtrSize,
    shape: ModuleShape,
    type_ids: u32,
    imported_funcs: u32,
    imported_tables: u32,
    imported_memories: u32,
    imported_globals: u32,
    defined_tables: u32,
    defined_memories: u32,
    defined_globals: u32,
    func_refs: u32,
    tags: u32,
    size: u32,
}

fn align(offset: u32, to: u32) -> u32 {
    offset.div_ceil(to) * to
}

/// Size and alignment of a global's storage: every value, `v128` included,
/// fits in one 16-byte slot.
pub const GLOBAL_SIZE: u32 = 16;

/// Alignment of every VM context the runtime allocates.
pub const VMCTX_ALIGN: u32 = 16;

/// Magic number at offset 0 of every VM context (`b"kiln"` little-endian),
/// checked by debug assertions in the runtime.
pub const VMCTX_MAGIC: u32 = u32::from_le_bytes(*b"kiln");

/// Magic number at offset 0 of a host function's context (`b"host"`), which
/// stands in for a callee `vmctx` when wasm calls a host function.
pub const HOST_CTX_MAGIC: u32 = u32::from_le_bytes(*b"host");

impl VMOffsets {
    /// Computes the layout for `shape` with pointers of `ptr` bytes.
    pub fn new(ptr: PtrSize, shape: &ModuleShape) -> VMOffsets {
        let p = ptr.bytes();
        let header = 4 * p;
        let type_ids = header;
        let imported_funcs = align(type_ids + 4 * shape.num_types, p);
        let imported_tables = imported_funcs + shape.num_imported_funcs * Self::function_import_size_for(p);
        let imported_memories = imported_tables + shape.num_imported_tables * p;
        let imported_globals = imported_memories + shape.num_imported_memories * p;
        let defined_tables = imported_globals + shape.num_imported_globals * p;
        let defined_memories = defined_tables + shape.num_defined_tables * 2 * p;
        let defined_globals = align(defined_memories + shape.num_defined_memories * 2 * p, GLOBAL_SIZE);
        let func_refs = defined_globals + shape.num_defined_globals * GLOBAL_SIZE;
        let tags = func_refs + shape.num_funcs() * Self::func_ref_size_for(p);
        let size = align(tags + shape.num_tags() * p, 16);
        VMOffsets {
            ptr,
            shape: *shape,
            type_ids,
            imported_funcs,
            imported_tables,
            imported_memories,
            imported_globals,
            defined_tables,
            defined_memories,
            defined_globals,
            func_refs,
            tags,
            size,
        }
    }

    fn function_import_size_for(p: u32) -> u32 {
        3 * p
    }

    fn func_ref_size_for(p: u32) -> u32 {
        4 * p
    }

    /// The pointer size this layout was computed for.
    pub fn ptr_size(&self) -> PtrSize {
        self.ptr
    }

    /// The module shape this layout was computed for.
    pub fn shape(&self) -> &ModuleShape {
        &self.shape
    }

    /// Total size of the VM context in bytes (a multiple of 16).
    pub fn size(&self) -> u32 {
        self.size
    }

    // ---- header ----

    /// Offset of the `u32` magic number ([`VMCTX_MAGIC`]).
    pub fn magic(&self) -> u32 {
        0
    }

    /// Offset of the pointer to the store's [`VMStoreContext`](Self::store_context_stack_limit).
    pub fn store_context(&self) -> u32 {
        self.ptr.bytes()
    }

    /// Offset of the pointer to the builtin function table.
    pub fn builtins(&self) -> u32 {
        2 * self.ptr.bytes()
    }

    /// Offset of the runtime's private pointer back to its instance data.
    pub fn instance(&self) -> u32 {
        3 * self.ptr.bytes()
    }

    // ---- regions ----

    /// Offset of the engine-wide signature id (`u32`) of module type `index`.
    pub fn type_id(&self, index: u32) -> u32 {
        assert!(index < self.shape.num_types);
        self.type_ids + 4 * index
    }

    /// Offset of the [`VMFunctionImport`](Self::function_import_wasm_call)
    /// of imported function `index`.
    pub fn imported_func(&self, index: u32) -> u32 {
        assert!(index < self.shape.num_imported_funcs);
        self.imported_funcs + index * self.function_import_size()
    }

    /// Offset of the pointer to the definition of imported table `index`.
    pub fn imported_table(&self, index: u32) -> u32 {
        assert!(index < self.shape.num_imported_tables);
        self.imported_tables + index * self.ptr.bytes()
    }

    /// Offset of the pointer to the definition of imported memory `index`.
    pub fn imported_memory(&self, index: u32) -> u32 {
        assert!(index < self.shape.num_imported_memories);
        self.imported_memories + index * self.ptr.bytes()
    }

    /// Offset of the pointer to the storage of imported global `index`.
    pub fn imported_global(&self, index: u32) -> u32 {
        assert!(index < self.shape.num_imported_globals);
        self.imported_globals + index * self.ptr.bytes()
    }

    /// Offset of the inline definition of defined table `index` (counted
    /// among defined tables only).
    pub fn defined_table(&self, index: u32) -> u32 {
        assert!(index < self.shape.num_defined_tables);
        self.defined_tables + index * self.table_definition_size()
    }

    /// Offset of the inline definition of defined memory `index` (counted
    /// among defined memories only).
    pub fn defined_memory(&self, index: u32) -> u32 {
        assert!(index < self.shape.num_defined_memories);
        self.defined_memories + index * self.memory_definition_size()
    }

    /// Offset of the 16-byte storage of defined global `index` (counted
    /// among defined globals only).
    pub fn defined_global(&self, index: u32) -> u32 {
        assert!(index < self.shape.num_defined_globals);
        self.defined_globals + index * GLOBAL_SIZE
    }

    /// Offset of the [`VMFuncRef`](Self::func_ref_wasm_call) of function
    /// `index` (in the whole function index space).
    pub fn func_ref(&self, index: u32) -> u32 {
        assert!(index < self.shape.num_funcs());
        self.func_refs + index * self.func_ref_size()
    }

    /// Offset of the pointer to tag `index`'s identity (a `VMTag` the
    /// store owns: this instance's own for a defined tag, the exporter's
    /// for an imported one), in the whole tag index space.
    pub fn tag(&self, index: u32) -> u32 {
        assert!(index < self.shape.num_tags());
        self.tags + index * self.ptr.bytes()
    }

    // ---- VMFunctionImport ----

    /// Size of a `VMFunctionImport`.
    pub fn function_import_size(&self) -> u32 {
        Self::function_import_size_for(self.ptr.bytes())
    }
    /// `VMFunctionImport.wasm_call`: the callee's native entry point.
    pub fn function_import_wasm_call(&self) -> u32 {
        0
    }
    /// `VMFunctionImport.array_call`: the array-call trampoline for the
    /// callee's signature, used when the import is re-exported as a funcref.
    pub fn function_import_array_call(&self) -> u32 {
        self.ptr.bytes()
    }
    /// `VMFunctionImport.vmctx`: the callee's VM context (or host context).
    pub fn function_import_vmctx(&self) -> u32 {
        2 * self.ptr.bytes()
    }

    // ---- VMFuncRef ----

    /// Size of a `VMFuncRef`.
    pub fn func_ref_size(&self) -> u32 {
        Self::func_ref_size_for(self.ptr.bytes())
    }
    /// `VMFuncRef.wasm_call`: native entry point, called as
    /// `wasm_call(vmctx, caller_vmctx, params...)`.
    pub fn func_ref_wasm_call(&self) -> u32 {
        0
    }
    /// `VMFuncRef.array_call`: the array-call trampoline for its signature.
    pub fn func_ref_array_call(&self) -> u32 {
        self.ptr.bytes()
    }
    /// `VMFuncRef.vmctx`: the callee's VM context (or host context).
    pub fn func_ref_vmctx(&self) -> u32 {
        2 * self.ptr.bytes()
    }
    /// `VMFuncRef.type_id`: the engine-wide signature id (`u32`).
    pub fn func_ref_type_id(&self) -> u32 {
        3 * self.ptr.bytes()
    }

    // ---- VMTableDefinition ----

    /// Size of a `VMTableDefinition`.
    pub fn table_definition_size(&self) -> u32 {
        2 * self.ptr.bytes()
    }
    /// `VMTableDefinition.base`: pointer to the elements, each one pointer
    /// (a `*const VMFuncRef` or an externref), null for a null reference.
    pub fn table_definition_base(&self) -> u32 {
        0
    }
    /// `VMTableDefinition.current_elements`: the table's size, a
    /// pointer-sized unsigned integer.
    pub fn table_definition_current_elements(&self) -> u32 {
        self.ptr.bytes()
    }
    /// Size of one table element.
    pub fn table_element_size(&self) -> u32 {
        self.ptr.bytes()
    }

    // ---- VMMemoryDefinition ----

    /// Size of a `VMMemoryDefinition`.
    pub fn memory_definition_size(&self) -> u32 {
        2 * self.ptr.bytes()
    }
    /// `VMMemoryDefinition.base`: start of the linear memory; fixed for the
    /// memory's lifetime.
    pub fn memory_definition_base(&self) -> u32 {
        0
    }
    /// `VMMemoryDefinition.current_length`: accessible size in bytes, a
    /// pointer-sized unsigned integer.
    pub fn memory_definition_current_length(&self) -> u32 {
        self.ptr.bytes()
    }

    // ---- VMStoreContext ----

    /// `VMStoreContext.stack_limit`: generated code traps with
    /// `StackOverflow` when its stack pointer is below this address.
    pub fn store_context_stack_limit(&self) -> u32 {
        0
    }
    /// Size of a `VMStoreContext`.
    pub fn store_context_size(&self) -> u32 {
        2 * self.ptr.bytes()
    }

    // ---- VMHostFuncContext ----

    /// `VMHostFuncContext.magic`: [`HOST_CTX_MAGIC`].
    pub fn host_func_context_magic(&self) -> u32 {
        0
    }
    /// `VMHostFuncContext.array_call`: the host's entry point, called as
    /// `array_call(host_ctx, caller_vmctx, values: *mut ValRaw, len) -> u32`
    /// where the result is 0 on success or a [`TrapCode`](crate::TrapCode)
    /// number to raise.
    pub fn host_func_context_array_call(&self) -> u32 {
        self.ptr.bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> ModuleShape {
        ModuleShape {
            num_types: 3,
            num_imported_funcs: 2,
            num_defined_funcs: 5,
            num_imported_tables: 1,
            num_defined_tables: 1,
            num_imported_memories: 1,
            num_defined_memories: 1,
            num_imported_globals: 2,
            num_defined_globals: 3,
            num_imported_tags: 1,
            num_defined_tags: 2,
        }
    }

    #[test]
    fn regions_follow_each_other_without_overlap() {
        for p in [4, 8] {
            let o = VMOffsets::new(PtrSize::new(p).unwrap(), &shape());
            let p = u32::from(p);
            assert_eq!(o.type_id(0), 4 * p);
            assert!(o.imported_func(0) >= o.type_id(2) + 4);
            assert_eq!(o.imported_func(0) % p, 0);
            assert_eq!(o.imported_table(0), o.imported_func(1) + 3 * p);
            assert_eq!(o.imported_memory(0), o.imported_table(0) + p);
            assert_eq!(o.imported_global(0), o.imported_memory(0) + p);
            assert_eq!(o.defined_table(0), o.imported_global(1) + p);
            assert_eq!(o.defined_memory(0), o.defined_table(0) + 2 * p);
            assert_eq!(o.defined_global(0) % 16, 0);
            assert!(o.defined_global(0) >= o.defined_memory(0) + 2 * p);
            assert_eq!(o.func_ref(0), o.defined_global(2) + 16);
            assert_eq!(o.tag(0), o.func_ref(6) + 4 * p);
            assert_eq!(o.size(), (o.tag(2) + p).div_ceil(16) * 16);
        }
    }

    /// Multi-memory: every memory has its own slot or definition, one
    /// after the other, and memory 0 sits where it does in a module with
    /// one memory, so its code does not depend on how many follow.
    #[test]
    fn several_memories_each_have_their_place() {
        for p in [4, 8] {
            let ptr = PtrSize::new(p).unwrap();
            let p = u32::from(p);
            let many = ModuleShape { num_imported_memories: 2, num_defined_memories: 3, ..shape() };
            let o = VMOffsets::new(ptr, &many);
            assert_eq!(o.imported_memory(1), o.imported_memory(0) + p);
            assert_eq!(o.imported_global(0), o.imported_memory(1) + p);
            for i in 1..3 {
                assert_eq!(o.defined_memory(i), o.defined_memory(i - 1) + o.memory_definition_size());
            }
            assert!(o.defined_global(0) >= o.defined_memory(2) + 2 * p);
            let defined_only = ModuleShape { num_imported_memories: 0, num_defined_memories: 1, ..shape() };
            let more = ModuleShape { num_defined_memories: 4, ..defined_only };
            let (one, four) = (VMOffsets::new(ptr, &defined_only), VMOffsets::new(ptr, &more));
            assert_eq!(one.defined_memory(0), four.defined_memory(0));
            assert_eq!(four.defined_memory(3), four.defined_memory(0) + 3 * 2 * p);
            assert!(four.size() >= one.size() + 3 * 2 * p);
        }
    }

    #[test]
    fn empty_module_has_only_a_header() {
        let o = VMOffsets::new(PtrSize::new(8).unwrap(), &ModuleShape::default());
        assert_eq!(o.size(), 32);
    }

    #[test]
    #[should_panic]
    fn out_of_range_index_is_a_bug() {
        VMOffsets::new(PtrSize::HOST, &shape()).defined_memory(1);
    }
}

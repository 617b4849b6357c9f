//! The metadata embedded in every compiled artifact.
//!
//! It is an rkyv archive that the runtime reads in place (zero-copy) from
//! the mapped library after validating it once; see [`crate::artifact`] for
//! the header around it. It describes everything the runtime needs to
//! instantiate the module without the original wasm: types, imports,
//! exports, tables, memories, globals, segments, the start function, and
//! where each entry point sits in the library's function table.

use crate::types::{ConstExpr, FuncType, GlobalType, MemoryType, RefType, TableType};
use crate::vmoffsets::ModuleShape;
use rkyv::{Archive, Deserialize, Serialize};

/// Everything the runtime knows about a compiled module.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[rkyv(derive(Debug))]
pub struct ModuleMetadata {
    /// The machine the code was generated for.
    pub target: TargetInfo,
    /// SHA-256 of the input wasm binary.
    pub wasm_sha256: [u8; 32],
    /// Optimization level used: 0–3, or 4 for `-Os`.
    pub opt_level: u8,
    /// Whether memory accesses rely on guard regions or explicit checks.
    pub bounds_checks: BoundsChecks,
    /// The module's name from the name section, if any.
    pub name: Option<String>,
    /// Function types, indexed by module type index, with their trampolines.
    pub types: Vec<SignatureInfo>,
    /// Imports in declaration order.
    pub imports: Vec<Import>,
    /// Every function in the index space: imported functions first.
    pub functions: Vec<FunctionInfo>,
    /// Tables defined by the module (imported ones are in `imports`).
    pub tables: Vec<TableInfo>,
    /// Memories defined by the module.
    pub memories: Vec<MemoryType>,
    /// Globals defined by the module.
    pub globals: Vec<GlobalInfo>,
    /// Tags defined by the module: the module type index of each one's
    /// parameters (imported tags are in `imports`).
    pub tags: Vec<u32>,
    /// Exports in declaration order.
    pub exports: Vec<Export>,
    /// The start function's index, if any.
    pub start: Option<u32>,
    /// Element segments in declaration order.
    pub elements: Vec<ElementSegment>,
    /// Data segments in declaration order.
    pub data: Vec<DataSegment>,
    /// Function names from the name section, sorted by function index.
    pub func_names: Vec<FuncName>,
    /// Bytes of machine code generated for the module.
    pub code_size: u64,
}

/// The target an artifact was compiled for.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[rkyv(derive(Debug))]
pub struct TargetInfo {
    /// Normalized target triple (Rust spelling, e.g. `x86_64-unknown-linux-gnu`).
    pub triple: String,
    /// LLVM CPU name the code was tuned and generated for.
    pub cpu: String,
    /// CPU features (LLVM names, without `+`) the code requires of the host.
    pub features: Vec<String>,
    /// Pointer size in bytes.
    pub pointer_size: u8,
}

/// How generated code keeps memory accesses inside the sandbox.
#[derive(Archive, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[rkyv(derive(Debug, PartialEq, Eq), compare(PartialEq))]
#[repr(u8)]
pub enum BoundsChecks {
    /// No checks: memories are reserved with guard regions and faults trap.
    #[default]
    Guard,
    /// Every access is checked against the memory's current length.
    Explicit,
}

/// A module type with the entry points kiln generated for it. Indices refer
/// to the library's function table ([`crate::symbols::FUNCTIONS`]).
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[rkyv(derive(Debug))]
pub struct SignatureInfo {
    /// The signature.
    pub ty: FuncType,
    /// Array-call trampoline:
    /// `fn(callee_vmctx, caller_vmctx, wasm_call, values: *mut ValRaw)`.
    pub array_call: u32,
    /// Wasm-to-host trampoline: has the native wasm signature and forwards
    /// to a host function's array-call entry (see
    /// [`VMOffsets::host_func_context_array_call`](crate::VMOffsets::host_func_context_array_call)).
    pub wasm_to_host: u32,
}

/// One import.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct Import {
    /// Module name.
    pub module: String,
    /// Field name.
    pub name: String,
    /// What is imported.
    pub kind: ImportKind,
}

/// The kind and type of an import.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum ImportKind {
    /// A function of the given module type index.
    Func(u32),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
    /// A tag whose parameters are those of the given module type index.
    Tag(u32),
}

/// One function of the index space.
#[derive(Archive, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct FunctionInfo {
    /// Module type index of its signature.
    pub type_index: u32,
    /// Function-table slot of its native entry point, for defined functions
    /// that can be reached from outside (exported, in a table, referenced by
    /// `ref.func`, or the start function). `None` for imports and for
    /// functions only called directly, which may be inlined away entirely.
    pub wasm_call: Option<u32>,
}

/// A defined table.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct TableInfo {
    /// Its type.
    pub ty: TableType,
    /// Initial value of every element (null when absent).
    pub init: Option<ConstExpr>,
}

/// A defined global.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct GlobalInfo {
    /// Its type.
    pub ty: GlobalType,
    /// Its initializer.
    pub init: ConstExpr,
}

/// The kind of an exported or imported entity.
#[derive(Archive, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[rkyv(derive(Debug, PartialEq, Eq), compare(PartialEq))]
#[repr(u8)]
pub enum ExternKind {
    /// A function.
    Func,
    /// A table.
    Table,
    /// A memory.
    Memory,
    /// A global.
    Global,
    /// A tag (exception handling).
    Tag,
}

/// One export.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct Export {
    /// The export name.
    pub name: String,
    /// What kind of entity.
    pub kind: ExternKind,
    /// Its index in the index space of that kind (imports first).
    pub index: u32,
}

/// Where a segment goes.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum SegmentMode {
    /// Copied at instantiation into a table or memory.
    Active(ActiveSegment),
    /// Used by `table.init` / `memory.init`.
    Passive,
    /// Only declares functions for `ref.func` (element segments).
    Declared,
}

/// The destination of an active segment.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct ActiveSegment {
    /// Table or memory index (imports first).
    pub index: u32,
    /// Start offset.
    pub offset: ConstExpr,
}

/// The items of an element segment.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum ElementItems {
    /// Function indices.
    Functions(Vec<u32>),
    /// Constant expressions yielding references.
    Expressions(Vec<ConstExpr>),
}

/// An element segment.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct ElementSegment {
    /// Where it goes.
    pub mode: SegmentMode,
    /// Reference type of the items.
    pub element_type: RefType,
    /// The items.
    pub items: ElementItems,
}

/// A data segment.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct DataSegment {
    /// Where it goes.
    pub mode: SegmentMode,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// A function's name from the name section.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct FuncName {
    /// Function index.
    pub index: u32,
    /// Its name.
    pub name: String,
}

fn count<T>(items: impl Iterator<Item = T>, pred: impl Fn(&T) -> bool) -> u32 {
    items.filter(|i| pred(i)).count() as u32
}

impl ModuleMetadata {
    /// The shape that determines this module's VM context layout.
    pub fn shape(&self) -> ModuleShape {
        let imports = || self.imports.iter().map(|i| &i.kind);
        let num_imported_funcs = count(imports(), |k| matches!(k, ImportKind::Func(_)));
        ModuleShape {
            num_types: self.types.len() as u32,
            num_imported_funcs,
            num_defined_funcs: self.functions.len() as u32 - num_imported_funcs,
            num_imported_tables: count(imports(), |k| matches!(k, ImportKind::Table(_))),
            num_defined_tables: self.tables.len() as u32,
            num_imported_memories: count(imports(), |k| matches!(k, ImportKind::Memory(_))),
            num_defined_memories: self.memories.len() as u32,
            num_imported_globals: count(imports(), |k| matches!(k, ImportKind::Global(_))),
            num_defined_globals: self.globals.len() as u32,
            num_imported_tags: count(imports(), |k| matches!(k, ImportKind::Tag(_))),
            num_defined_tags: self.tags.len() as u32,
        }
    }
}

impl ArchivedModuleMetadata {
    /// The type of memory `index` in the memory index space (imports first).
    pub fn memory_type(&self, index: u32) -> Option<MemoryType> {
        let imported = self.imports.iter().filter_map(|i| match &i.kind {
            ArchivedImportKind::Memory(m) => Some(m.to_native()),
            _ => None,
        });
        imported.chain(self.memories.iter().map(|m| m.to_native())).nth(index as usize)
    }

    /// The type of table `index` in the table index space (imports first).
    pub fn table_type(&self, index: u32) -> Option<TableType> {
        let imported = self.imports.iter().filter_map(|i| match &i.kind {
            ArchivedImportKind::Table(t) => Some(t.to_native()),
            _ => None,
        });
        imported.chain(self.tables.iter().map(|t| t.ty.to_native())).nth(index as usize)
    }

    /// The module type index of tag `index`'s parameters, in the tag index
    /// space (imports first).
    pub fn tag_type(&self, index: u32) -> Option<u32> {
        let imported = self.imports.iter().filter_map(|i| match &i.kind {
            ArchivedImportKind::Tag(t) => Some(t.to_native()),
            _ => None,
        });
        imported.chain(self.tags.iter().map(|t| t.to_native())).nth(index as usize)
    }

    /// The type of global `index` in the global index space (imports first).
    pub fn global_type(&self, index: u32) -> Option<GlobalType> {
        let imported = self.imports.iter().filter_map(|i| match &i.kind {
            ArchivedImportKind::Global(g) => Some(g.to_native()),
            _ => None,
        });
        imported.chain(self.globals.iter().map(|g| g.ty.to_native())).nth(index as usize)
    }

    /// The shape that determines this module's VM context layout.
    pub fn shape(&self) -> ModuleShape {
        let imports = || self.imports.iter().map(|i| &i.kind);
        let num_imported_funcs = count(imports(), |k| matches!(k, ArchivedImportKind::Func(_)));
        ModuleShape {
            num_types: self.types.len() as u32,
            num_imported_funcs,
            num_defined_funcs: self.functions.len() as u32 - num_imported_funcs,
            num_imported_tables: count(imports(), |k| matches!(k, ArchivedImportKind::Table(_))),
            num_defined_tables: self.tables.len() as u32,
            num_imported_memories: count(imports(), |k| matches!(k, ArchivedImportKind::Memory(_))),
            num_defined_memories: self.memories.len() as u32,
            num_imported_globals: count(imports(), |k| matches!(k, ArchivedImportKind::Global(_))),
            num_defined_globals: self.globals.len() as u32,
            num_imported_tags: count(imports(), |k| matches!(k, ArchivedImportKind::Tag(_))),
            num_defined_tags: self.tags.len() as u32,
        }
    }
}

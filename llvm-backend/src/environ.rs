//! The module environment: everything about a validated module except its
//! function bodies' meaning, gathered in one pass over the sections.
//!
//! Most of it goes straight into [`ModuleMetadata`], which is what the
//! runtime will see, so the environment *is* a metadata record plus what
//! only the compiler needs: the function bodies and index-space views of
//! tables, memories and globals (imports first, as wasm numbers them).
//! The fields that depend on code generation (function-table slots, target,
//! code size) are filled in later by [`crate::compile`].
//!
//! The input has been validated, so anything surprising here is either a
//! feature kiln does not implement (reported as such) or a kiln bug.

use crate::branch_hints::BranchHints;
use crate::error::{CompileError, Result};
use kiln_abi::ModuleMetadata;
use kiln_abi::metadata::{
    ActiveSegment, DataSegment, ElementItems, ElementSegment, Export, ExternKind, FuncName, FunctionInfo, GlobalInfo,
    Import, ImportKind, SegmentMode, SignatureInfo, TableInfo,
};
use kiln_abi::types::{ConstExpr, ConstOp, FuncType, GlobalType, Limits, MemoryType, TableType, ValType};
use wasmparser::{
    BinaryReaderError, CompositeInnerType, DataKind, ElementKind, ExternalKind, FunctionBody, HeapType, KnownCustom,
    Name, Operator, Parser, Payload, RefType, TableInit, TypeRef,
};


/// The most slots a table may have for [`ModuleEnv::closed_tables`] to
/// describe it: `call_indirect` lowering copies it once per signature.
pub(crate) const MAX_CLOSED_TABLE: u64 = 1 << 16;

/// A parsed, validated module.
pub(crate) struct ModuleEnv<'a> {
    /// The metadata, minus what code generation decides.
    pub meta: ModuleMetadata,
    /// Bodies of the defined functions, in order.
    pub bodies: Vec<FunctionBody<'a>>,
    /// The branch hints, if the module has a hint section that holds.
    pub branch_hints: BranchHints,
    /// Why the module's hint section is ignored, if it is.
    pub branch_hints_ignored: Option<String>,
    /// Tables of the whole index space.
    pub tables: Vec<TableType>,
    /// Memories of the whole index space.
    pub memories: Vec<MemoryType>,
    /// Globals of the whole index space.
    pub globals: Vec<GlobalType>,
    /// Tags of the whole index space: the module type index of each one's
    /// parameters.
    pub tags: Vec<u32>,
    /// How many functions, tables, memories and globals are imported.
    pub num_imported: Counts,
}

/// Per-kind counts of imports.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts {
    pub funcs: u32,
    pub tables: u32,
    pub memories: u32,
    pub globals: u32,
    pub tags: u32,
}

impl<'a> ModuleEnv<'a> {
    /// Reads every section of a module that has passed validation.
    pub fn parse(wasm: &'a [u8]) -> Result<ModuleEnv<'a>> {
        let mut env = ModuleEnv {
            meta: ModuleMetadata::default(),
            bodies: Vec::new(),
            branch_hints: BranchHints::default(),
            branch_hints_ignored: None,
            tables: Vec::new(),
            memories: Vec::new(),
            globals: Vec::new(),
            tags: Vec::new(),
            num_imported: Counts::default(),
        };
        for payload in Parser::new(0).parse_all(wasm) {
            env.section(payload.map_err(invalid)?)?;
        }
        // A hint that is not on a branch voids the section, as one that
        // does not decode does (see `branch_hints`).
        let imported = env.num_imported.funcs;
        let hints = &env.branch_hints;
        let wrong = env.bodies.iter().enumerate().find_map(|(i, body)| hints.check_targets(imported + i as u32, body).err());
        if let Some(reason) = wrong {
            env.branch_hints = BranchHints::default();
            env.branch_hints_ignored = Some(reason);
        }
        Ok(env)
    }

    fn section(&mut self, payload: Payload<'a>) -> Result<()> {
        let meta = &mut self.meta;
        match payload {
            Payload::TypeSection(reader) => {
                let offset = reader.range().start;
                for group in reader {
                    for sub in group.map_err(invalid)?.into_types() {
                        let CompositeInnerType::Func(ty) = &sub.composite_type.inner else {
                            return Err(unsupported("GC", offset));
                        };
                        let ty = FuncType::new(
                            ty.params().iter().map(|t| val_type(*t, offset)).collect::<Result<Vec<_>>>()?,
                            ty.results().iter().map(|t| val_type(*t, offset)).collect::<Result<Vec<_>>>()?,
                        );
                        meta.types.push(SignatureInfo { ty, array_call: 0, wasm_to_host: 0 });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                let offset = reader.range().start;
                for import in reader.into_imports() {
                    let import = import.map_err(invalid)?;
                    let kind = match import.ty {
                        TypeRef::Func(index) => {
                            self.num_imported.funcs += 1;
                            meta.functions.push(FunctionInfo { type_index: index, wasm_call: None });
                            ImportKind::Func(index)
                        }
                        TypeRef::Table(ty) => {
                            self.num_imported.tables += 1;
                            let ty = table_type(&ty, offset)?;
                            self.tables.push(ty);
                            ImportKind::Table(ty)
                        }
                        TypeRef::Memory(ty) => {
                            self.num_imported.memories += 1;
                            let ty = memory_type(&ty, offset)?;
                            self.memories.push(ty);
                            ImportKind::Memory(ty)
                        }
                        TypeRef::Global(ty) => {
                            self.num_imported.globals += 1;
                            let ty = global_type(&ty, offset)?;
                            self.globals.push(ty);
                            ImportKind::Global(ty)
                        }
                        TypeRef::Tag(tag) => {
                            self.num_imported.tags += 1;
                            self.tags.push(tag.func_type_idx);
                            ImportKind::Tag(tag.func_type_idx)
                        }
                        TypeRef::FuncExact(_) => return Err(unsupported("custom descriptors", offset)),
                    };
                    meta.imports.push(Import {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        kind,
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                for type_index in reader {
                    meta.functions.push(FunctionInfo { type_index: type_index.map_err(invalid)?, wasm_call: None });
                }
            }
            Payload::TableSection(reader) => {
                let offset = reader.range().start;
                for table in reader {
                    let table = table.map_err(invalid)?;
                    let ty = table_type(&table.ty, offset)?;
                    let init = match table.init {
                        TableInit::RefNull => None,
                        TableInit::Expr(expr) => Some(const_expr(&expr)?),
                    };
                    self.tables.push(ty);
                    meta.tables.push(TableInfo { ty, init });
                }
            }
            Payload::MemorySection(reader) => {
                let offset = reader.range().start;
                for memory in reader {
                    let ty = memory_type(&memory.map_err(invalid)?, offset)?;
                    self.memories.push(ty);
                    meta.memories.push(ty);
                }
            }
            Payload::GlobalSection(reader) => {
                let offset = reader.range().start;
                for global in reader {
                    let global = global.map_err(invalid)?;
                    let ty = global_type(&global.ty, offset)?;
                    self.globals.push(ty);
                    meta.globals.push(GlobalInfo { ty, init: const_expr(&global.init_expr)? });
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(invalid)?;
                    let kind = match export.kind {
                        ExternalKind::Func | ExternalKind::FuncExact => ExternKind::Func,
                        ExternalKind::Table => ExternKind::Table,
                        ExternalKind::Memory => ExternKind::Memory,
                        ExternalKind::Global => ExternKind::Global,
                        ExternalKind::Tag => ExternKind::Tag,
                    };
                    meta.exports.push(Export { name: export.name.to_string(), kind, index: export.index });
                }
            }
            Payload::StartSection { func, .. } => meta.start = Some(func),
            Payload::ElementSection(reader) => {
                let offset = reader.range().start;
                for element in reader {
                    let element = element.map_err(invalid)?;
                    let mode = match element.kind {
                        ElementKind::Passive => SegmentMode::Passive,
                        ElementKind::Declared => SegmentMode::Declared,
                        ElementKind::Active { table_index, offset_expr } => SegmentMode::Active(ActiveSegment {
                            index: table_index.unwrap_or(0),
                            offset: const_expr(&offset_expr)?,
                        }),
                    };
                    let (element_type, items) = match element.items {
                        wasmparser::ElementItems::Functions(funcs) => (
                            kiln_abi::RefType::FUNCREF,
                            ElementItems::Functions(funcs.into_iter().collect::<Result<_, _>>().map_err(invalid)?),
                        ),
                        wasmparser::ElementItems::Expressions(ty, exprs) => {
                            let exprs = exprs
                                .into_iter()
                                .map(|e| const_expr(&e.map_err(invalid)?))
                                .collect::<Result<Vec<_>>>()?;
                            (ref_type(ty, offset)?, ElementItems::Expressions(exprs))
                        }
                    };
                    meta.elements.push(ElementSegment { mode, element_type, items });
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data.map_err(invalid)?;
                    let mode = match data.kind {
                        DataKind::Passive => SegmentMode::Passive,
                        DataKind::Active { memory_index, offset_expr } => SegmentMode::Active(ActiveSegment {
                            index: memory_index,
                            offset: const_expr(&offset_expr)?,
                        }),
                    };
                    meta.data.push(DataSegment { mode, bytes: data.data.to_vec() });
                }
            }
            Payload::CodeSectionEntry(body) => self.bodies.push(body),
            Payload::CustomSection(reader) => match reader.as_known() {
                KnownCustom::Name(names) => self.names(names),
                KnownCustom::BranchHints(hints) => {
                    let imported = self.num_imported.funcs;
                    let defined = self.meta.functions.len() as u32 - imported;
                    match BranchHints::read(hints, imported, defined) {
                        Ok(hints) => self.branch_hints = hints,
                        Err(reason) => self.branch_hints_ignored = Some(reason),
                    }
                }
                _ => {}
            },
            Payload::TagSection(reader) => {
                for tag in reader {
                    let tag = tag.map_err(invalid)?;
                    self.tags.push(tag.func_type_idx);
                    meta.tags.push(tag.func_type_idx);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Reads the name section. It is only a debugging aid, so a malformed
    /// one is ignored rather than reported.
    fn names(&mut self, reader: wasmparser::NameSectionReader<'a>) {
        for name in reader {
            match name {
                Ok(Name::Module { name, .. }) => self.meta.name = Some(name.to_string()),
                Ok(Name::Function(map)) => {
                    for naming in map.into_iter().map_while(Result::ok) {
                        self.meta.func_names.push(FuncName { index: naming.index, name: naming.name.to_string() });
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        self.meta.func_names.sort_by_key(|n| n.index);
        self.meta.func_names.dedup_by_key(|n| n.index);
    }

    /// The signature of function `index`.
    pub fn func_type(&self, index: u32) -> &FuncType {
        &self.meta.types[self.meta.functions[index as usize].type_index as usize].ty
    }

    /// Whether any code of the module may catch or raise an exception: it
    /// has tags (a `throw` names one), or a body has a `try_table`, a
    /// legacy `try` or a `throw_ref`. Only such modules' functions may
    /// unwind in LLVM's sense (see `codegen`); the scan stops at the first
    /// such operator and is only made for modules without tags.
    pub fn uses_exceptions(&self) -> bool {
        !self.tags.is_empty()
            || self.bodies.iter().any(|body| {
                let Ok(mut reader) = body.get_operators_reader() else { return false };
                while !reader.eof() {
                    match reader.read() {
                        Ok(Operator::TryTable { .. } | Operator::Try { .. } | Operator::ThrowRef) => return true,
                        Ok(_) => {}
                        Err(_) => return false,
                    }
                }
                false
            })
    }

    /// Whether function `index` is imported.
    pub fn is_imported_func(&self, index: u32) -> bool {
        index < self.num_imported.funcs
    }

    /// Defined functions whose native entry point must be reachable from
    /// outside the object: exported, placed in a table (or declared for
    /// `ref.func`), referenced from a constant expression, or the start
    /// function. Ascending, without duplicates.
    pub fn escaping_functions(&self) -> Vec<u32> {
        let meta = &self.meta;
        let exports = meta.exports.iter().filter(|e| e.kind == ExternKind::Func).map(|e| e.index);
        let mut exprs: Vec<&ConstExpr> = meta.globals.iter().map(|g| &g.init).collect();
        exprs.extend(meta.tables.iter().filter_map(|t| t.init.as_ref()));
        let mut funcs: Vec<u32> = exports.chain(meta.start).collect();
        for segment in &meta.elements {
            match &segment.items {
                ElementItems::Functions(indices) => funcs.extend(indices),
                ElementItems::Expressions(items) => exprs.extend(items),
            }
        }
        funcs.extend(exprs.iter().flat_map(|e| &e.ops).filter_map(|op| match op {
            ConstOp::RefFunc(index) => Some(*index),
            _ => None,
        }));
        funcs.retain(|&f| !self.is_imported_func(f));
        funcs.sort_unstable();
        funcs.dedup();
        funcs
    }

    /// For each table of the index space, its contents for the instance's
    /// whole life if they are known now: a table this module defines, does
    /// not export, gives no initializer expression and never writes
    /// (`table.set`, `table.fill`, `table.grow`, `table.copy` into it,
    /// `table.init`) holds, once instantiated, exactly what its active
    /// segments put there. Each slot is the defined function it holds, or
    /// `None` when that is null, an import or not known (a segment item
    /// other than `ref.func`). `None` for a table that is not closed so,
    /// larger than [`MAX_CLOSED_TABLE`] (its copies in the object would be
    /// too big), or whose segments do not all have constant offsets within
    /// its minimum size (instantiation then traps anyway).
    pub fn closed_tables(&self) -> Vec<Option<Vec<Option<u32>>>> {
        let meta = &self.meta;
        let imported = self.num_imported.tables;
        let mut closed: Vec<bool> = (0..self.tables.len() as u32)
            .map(|t| {
                t >= imported
                    && meta.tables[(t - imported) as usize].init.is_none()
                    && self.tables[t as usize].limits.min <= MAX_CLOSED_TABLE
            })
            .collect();
        for export in meta.exports.iter().filter(|e| e.kind == ExternKind::Table) {
            closed[export.index as usize] = false;
        }
        for body in &self.bodies {
            let Ok(mut reader) = body.get_operators_reader() else { return vec![None; closed.len()] };
            while !reader.eof() {
                let written = match reader.read() {
                    Ok(Operator::TableSet { table }
                    | Operator::TableFill { table }
                    | Operator::TableGrow { table }
                    | Operator::TableInit { table, .. }
                    | Operator::TableCopy { dst_table: table, .. }) => table,
                    Ok(_) => continue,
                    Err(_) => return vec![None; closed.len()],
                };
                closed[written as usize] = false;
            }
        }
        let mut contents: Vec<Option<Vec<Option<u32>>>> = closed
            .iter()
            .enumerate()
            .map(|(t, &closed)| closed.then(|| vec![None; self.tables[t].limits.min as usize]))
            .collect();
        for segment in &meta.elements {
            let SegmentMode::Active(active) = &segment.mode else { continue };
            let Some(slots) = contents.get_mut(active.index as usize).and_then(Option::as_mut) else { continue };
            let items: Vec<Option<u32>> = match &segment.items {
                ElementItems::Functions(indices) => indices.iter().map(|&f| Some(f)).collect(),
                ElementItems::Expressions(exprs) => exprs
                    .iter()
                    .map(|e| match e.ops.as_slice() {
                        [ConstOp::RefFunc(f)] => Some(*f),
                        _ => None,
                    })
                    .collect(),
            };
            let start = match self.fold(&active.offset) {
                Some(ConstOp::I32Const(offset)) => Some(offset as u32 as usize),
                // A 64-bit table's offset.
                Some(ConstOp::I64Const(offset)) => usize::try_from(offset as u64).ok(),
                _ => None,
            };
            match start.filter(|&start| start.checked_add(items.len()).is_some_and(|end| end <= slots.len())) {
                Some(start) => {
                    let defined = items.into_iter().map(|f| f.filter(|&f| !self.is_imported_func(f)));
                    for (slot, item) in slots[start..].iter_mut().zip(defined) {
                        *slot = item;
                    }
                }
                None => contents[active.index as usize] = None,
            }
        }
        contents
    }

    /// The constant value of global `index` if it is immutable, defined here
    /// and initialized by an expression that folds ([`Self::fold`]); uses
    /// of it can then be folded.
    pub fn constant_global(&self, index: u32) -> Option<ConstOp> {
        let defined = index.checked_sub(self.num_imported.globals)?;
        let global = &self.meta.globals[defined as usize];
        if global.ty.mutable {
            return None;
        }
        self.fold(&global.init)
    }

    /// The value of `expr` as one constant instruction, if it needs nothing
    /// from the runtime: constants, the arithmetic of extended constant
    /// expressions (wrapping, as at run time), and `global.get` of globals
    /// that fold. (A global's initializer may only read globals before it,
    /// so this terminates.)
    pub fn fold(&self, expr: &ConstExpr) -> Option<ConstOp> {
        let mut stack: Vec<ConstOp> = Vec::with_capacity(2);
        for &op in &expr.ops {
            let value = match op {
                ConstOp::I32Const(_)
                | ConstOp::I64Const(_)
                | ConstOp::F32Const(_)
                | ConstOp::F64Const(_)
                | ConstOp::V128Const(_) => op,
                ConstOp::GlobalGet(index) => self.constant_global(index)?,
                ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                    let (ConstOp::I32Const(b), ConstOp::I32Const(a)) = (stack.pop()?, stack.pop()?) else { return None };
                    ConstOp::I32Const(match op {
                        ConstOp::I32Add => a.wrapping_add(b),
                        ConstOp::I32Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    })
                }
                ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                    let (ConstOp::I64Const(b), ConstOp::I64Const(a)) = (stack.pop()?, stack.pop()?) else { return None };
                    ConstOp::I64Const(match op {
                        ConstOp::I64Add => a.wrapping_add(b),
                        ConstOp::I64Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    })
                }
                ConstOp::RefNull(_) | ConstOp::RefFunc(_) => return None,
            };
            stack.push(value);
        }
        match stack.as_slice() {
            [value] => Some(*value),
            _ => None,
        }
    }
}

fn invalid(e: BinaryReaderError) -> CompileError {
    CompileError::Invalid { message: e.message().to_string(), offset: e.offset() as usize, func_index: None }
}

fn unsupported(feature: &str, offset: u64) -> CompileError {
    CompileError::Unsupported { feature: feature.to_string(), offset: offset as usize, func_index: None }
}

/// Converts a value type.
pub(crate) fn val_type(ty: wasmparser::ValType, offset: u64) -> Result<ValType> {
    Ok(match ty {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        wasmparser::ValType::V128 => ValType::V128,
        wasmparser::ValType::Ref(r) => ValType::Ref(ref_type(r, offset)?),
    })
}

/// Converts a reference type; concrete heap types keep their module type
/// index.
pub(crate) fn ref_type(ty: RefType, offset: u64) -> Result<kiln_abi::RefType> {
    Ok(kiln_abi::RefType { nullable: ty.is_nullable(), heap: heap_type(ty.heap_type(), offset)? })
}

/// Converts a heap type.
pub(crate) fn heap_type(ty: HeapType, offset: u64) -> Result<kiln_abi::HeapType> {
    use kiln_abi::HeapType as H;
    use wasmparser::AbstractHeapType as A;
    Ok(match ty {
        HeapType::Abstract { shared: true, .. } => return Err(unsupported("shared-everything threads", offset)),
        HeapType::Abstract { shared: false, ty } => match ty {
            A::Func => H::Func,
            A::Extern => H::Extern,
            A::NoFunc => H::NoFunc,
            A::NoExtern => H::NoExtern,
            A::Any => H::Any,
            A::Eq => H::Eq,
            A::I31 => H::I31,
            A::Struct => H::Struct,
            A::Array => H::Array,
            A::None => H::None,
            A::Exn => H::Exn,
            A::NoExn => H::NoExn,
            A::Cont | A::NoCont => return Err(unsupported("stack switching", offset)),
        },
        HeapType::Concrete(wasmparser::UnpackedIndex::Module(index)) => H::Concrete(index),
        HeapType::Concrete(_) => return Err(unsupported("GC", offset)),
        HeapType::Exact(_) => return Err(unsupported("custom descriptors", offset)),
    })
}

fn table_type(ty: &wasmparser::TableType, offset: u64) -> Result<TableType> {
    if ty.shared {
        return Err(unsupported("shared-everything threads", offset));
    }
    Ok(TableType {
        element: ref_type(ty.element_type, offset)?,
        limits: Limits { min: ty.initial, max: ty.maximum },
        table64: ty.table64,
    })
}

fn memory_type(ty: &wasmparser::MemoryType, offset: u64) -> Result<MemoryType> {
    let page_size_log2 = match ty.page_size_log2 {
        None => kiln_abi::types::DEFAULT_PAGE_SIZE_LOG2,
        // The validator allows only 1 and 64 KiB.
        Some(log2 @ (0 | 16)) => log2 as u8,
        Some(log2) => return Err(unsupported(&format!("a page size of 2^{log2} bytes"), offset)),
    };
    Ok(MemoryType {
        limits: Limits { min: ty.initial, max: ty.maximum },
        memory64: ty.memory64,
        shared: ty.shared,
        page_size_log2,
    })
}

fn global_type(ty: &wasmparser::GlobalType, offset: u64) -> Result<GlobalType> {
    if ty.shared {
        return Err(unsupported("shared-everything threads", offset));
    }
    Ok(GlobalType { content: val_type(ty.content_type, offset)?, mutable: ty.mutable })
}

/// Converts a constant expression into the runtime's stack-machine form.
fn const_expr(expr: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr> {
    let mut ops = Vec::new();
    let mut reader = expr.get_operators_reader();
    while !reader.eof() {
        let offset = reader.original_position();
        let op = match reader.read().map_err(invalid)? {
            Operator::I32Const { value } => ConstOp::I32Const(value),
            Operator::I64Const { value } => ConstOp::I64Const(value),
            Operator::F32Const { value } => ConstOp::F32Const(value.bits()),
            Operator::F64Const { value } => ConstOp::F64Const(value.bits()),
            Operator::V128Const { value } => ConstOp::V128Const(u128::from_le_bytes(*value.bytes())),
            Operator::RefNull { hty } => ConstOp::RefNull(heap_type(hty, offset)?),
            Operator::RefFunc { function_index } => ConstOp::RefFunc(function_index),
            Operator::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
            Operator::I32Add => ConstOp::I32Add,
            Operator::I32Sub => ConstOp::I32Sub,
            Operator::I32Mul => ConstOp::I32Mul,
            Operator::I64Add => ConstOp::I64Add,
            Operator::I64Sub => ConstOp::I64Sub,
            Operator::I64Mul => ConstOp::I64Mul,
            Operator::End => continue,
            _ => return Err(unsupported("GC constant expressions", offset)),
        };
        ops.push(op);
    }
    Ok(ConstExpr { ops })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(wat: &str) -> ModuleEnv<'static> {
        let wasm: &'static [u8] = Box::leak(wat::parse_str(wat).unwrap().into_boxed_slice());
        ModuleEnv::parse(wasm).unwrap()
    }

    #[test]
    fn collects_index_spaces_and_escapes() {
        let env = env(r#"(module
            (import "m" "f" (func $imp (param i32)))
            (import "m" "g" (global $g i32))
            (global $c i32 (i32.const 7))
            (global $m (mut i64) (i64.const 1))
            (table 2 funcref)
            (elem (i32.const 0) $b $imp)
            (func $a) (func $b) (func $c (export "c")) (func $d)
            (start $d))"#);
        assert_eq!(env.num_imported.funcs, 1);
        assert_eq!(env.globals.len(), 3);
        assert_eq!(env.escaping_functions(), vec![2, 3, 4]);
        assert_eq!(env.constant_global(1), Some(ConstOp::I32Const(7)));
        assert_eq!(env.constant_global(0), None);
        assert_eq!(env.constant_global(2), None);
        assert_eq!(env.bodies.len(), 4);
    }

    #[test]
    fn extended_constant_expressions_fold() {
        let env = env(r#"(module
            (import "m" "g" (global $g i32))
            (global $a i32 (i32.add (i32.const 0x7fffffff) (i32.const 1)))
            (global $b i64 (i64.mul (i64.sub (i64.const 10) (i64.const 3)) (i64.const 6)))
            (global $c i32 (i32.sub (global.get $a) (i32.const 1)))
            (global $d i32 (i32.add (global.get $g) (i32.const 1)))
            (global $e (mut i32) (i32.mul (i32.const 6) (i32.const 7)))
            (global $f funcref (ref.null func)))"#);
        assert_eq!(env.constant_global(1), Some(ConstOp::I32Const(i32::MIN)), "wraps");
        assert_eq!(env.constant_global(2), Some(ConstOp::I64Const(42)));
        assert_eq!(env.constant_global(3), Some(ConstOp::I32Const(i32::MAX)), "through an earlier global");
        assert_eq!(env.constant_global(4), None, "an import is known only at instantiation");
        assert_eq!(env.constant_global(5), None, "mutable");
        assert_eq!(env.constant_global(6), None, "a reference");
    }

    #[test]
    fn reads_function_names() {
        let env = env(r#"(module $m (func $first) (func $second))"#);
        assert_eq!(env.meta.name.as_deref(), Some("m"));
        let names: Vec<_> = env.meta.func_names.iter().map(|n| (n.index, n.name.as_str())).collect();
        assert_eq!(names, vec![(0, "first"), (1, "second")]);
    }
}

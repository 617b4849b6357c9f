//! Consistency of metadata that passed its checksum and rkyv validation:
//! every index it holds must be in range, so that instantiation can index
//! without panicking. (The machine code itself is trusted: loading a native
//! library always is.)

use kiln_abi::metadata::{
    ArchivedElementItems, ArchivedExternKind, ArchivedImportKind, ArchivedModuleMetadata, ArchivedSegmentMode,
};
use kiln_abi::types::{ArchivedConstExpr, ArchivedConstOp};
use kiln_abi::{HeapType, RefType, ValType};

/// Counts of each index space.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Counts {
    pub types: u32,
    pub funcs: u32,
    pub imported_funcs: u32,
    pub tables: u32,
    pub memories: u32,
    pub globals: u32,
    pub tags: u32,
}

impl Counts {
    pub(crate) fn of(meta: &ArchivedModuleMetadata) -> Counts {
        let count = |f: fn(&ArchivedImportKind) -> bool| meta.imports.iter().filter(|i| f(&i.kind)).count() as u32;
        Counts {
            types: meta.types.len() as u32,
            funcs: meta.functions.len() as u32,
            imported_funcs: count(|k| matches!(k, ArchivedImportKind::Func(_))),
            tables: count(|k| matches!(k, ArchivedImportKind::Table(_))) + meta.tables.len() as u32,
            memories: count(|k| matches!(k, ArchivedImportKind::Memory(_))) + meta.memories.len() as u32,
            globals: count(|k| matches!(k, ArchivedImportKind::Global(_))) + meta.globals.len() as u32,
            tags: count(|k| matches!(k, ArchivedImportKind::Tag(_))) + meta.tags.len() as u32,
        }
    }
}

struct Checker<'a> {
    meta: &'a ArchivedModuleMetadata,
    counts: Counts,
    slots: Option<usize>,
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what()) }
}

impl Checker<'_> {
    fn slot(&self, slot: u32, what: &str) -> Result<(), String> {
        check(self.slots.is_none_or(|n| (slot as usize) < n), || {
            format!("{what} uses function table slot {slot}, the table has {} entries", self.slots.unwrap_or(0))
        })
    }

    /// Function `index` exists and, if defined, has an entry point (it is
    /// reachable from outside).
    fn escaping_func(&self, index: u32, what: &str) -> Result<(), String> {
        check(index < self.counts.funcs, || {
            format!("{what} refers to function {index}, there are {}", self.counts.funcs)
        })?;
        let info = &self.meta.functions[index as usize];
        check(index < self.counts.imported_funcs || info.wasm_call.is_some(), || {
            format!("{what} refers to function {index}, which has no entry point")
        })
    }

    /// A constant expression: in-range indices and a stack that ends with
    /// exactly one value. `globals` is how many globals it may read.
    fn const_expr(&self, expr: &ArchivedConstExpr, globals: u32, what: &str) -> Result<(), String> {
        let mut depth = 0usize;
        for op in expr.ops.iter() {
            let (pops, pushes) = match op {
                ArchivedConstOp::GlobalGet(g) => {
                    let g = g.to_native();
                    check(g < globals, || format!("{what} reads global {g}, only {globals} may be read"))?;
                    (0, 1)
                }
                ArchivedConstOp::RefFunc(f) => {
                    self.escaping_func(f.to_native(), what)?;
                    (0, 1)
                }
                ArchivedConstOp::I32Add
                | ArchivedConstOp::I32Sub
                | ArchivedConstOp::I32Mul
                | ArchivedConstOp::I64Add
                | ArchivedConstOp::I64Sub
                | ArchivedConstOp::I64Mul => (2, 1),
                _ => (0, 1),
            };
            depth = depth.checked_sub(pops).ok_or_else(|| format!("{what}: constant expression underflows"))? + pushes;
        }
        check(depth == 1, || format!("{what}: constant expression leaves {depth} values"))
    }

    /// A type's concrete heap type, if any, names a module type.
    fn type_refs(&self, ty: ValType, what: impl FnOnce() -> String) -> Result<(), String> {
        match ty {
            ValType::Ref(RefType { heap: HeapType::Concrete(t), .. }) => {
                let types = self.counts.types;
                check(t < types, || format!("{} refers to type {t}, there are {types}", what()))
            }
            _ => Ok(()),
        }
    }

    fn run(&self) -> Result<(), String> {
        let (meta, c) = (self.meta, self.counts);
        for import in meta.imports.iter() {
            let ty = match &import.kind {
                ArchivedImportKind::Table(t) => ValType::Ref(t.element.to_native()),
                ArchivedImportKind::Global(g) => g.content.to_native(),
                _ => continue,
            };
            self.type_refs(ty, || format!("import \"{}\".\"{}\"", import.module, import.name))?;
        }
        for (i, t) in meta.tables.iter().enumerate() {
            self.type_refs(ValType::Ref(t.ty.element.to_native()), || format!("table {i}"))?;
        }
        for (i, g) in meta.globals.iter().enumerate() {
            self.type_refs(g.ty.content.to_native(), || format!("global {i}"))?;
        }
        for (i, seg) in meta.elements.iter().enumerate() {
            self.type_refs(ValType::Ref(seg.element_type.to_native()), || format!("element segment {i}"))?;
        }
        check(c.funcs >= c.imported_funcs, || {
            format!("{} functions in the index space but {} imported", c.funcs, c.imported_funcs)
        })?;
        for (t, sig) in meta.types.iter().enumerate() {
            self.slot(sig.array_call.to_native(), &format!("type {t}'s array-call trampoline"))?;
            self.slot(sig.wasm_to_host.to_native(), &format!("type {t}'s wasm-to-host trampoline"))?;
        }
        for import in meta.imports.iter() {
            if let ArchivedImportKind::Tag(t) = &import.kind {
                let t = t.to_native();
                check(t < c.types, || format!("import \"{}\".\"{}\" is a tag of type {t}", import.module, import.name))?;
            }
        }
        for (i, t) in meta.tags.iter().enumerate() {
            let t = t.to_native();
            check(t < c.types, || format!("tag {i} has type {t}, there are {}", c.types))?;
        }
        let mut import_funcs = 0u32;
        for import in meta.imports.iter() {
            if let ArchivedImportKind::Func(t) = &import.kind {
                let t = t.to_native();
                check(t < c.types, || format!("import \"{}\".\"{}\" has type {t}", import.module, import.name))?;
                let declared = meta.functions.get(import_funcs as usize).map(|f| f.type_index.to_native());
                check(declared == Some(t), || format!("imported function {import_funcs} has inconsistent types"))?;
                import_funcs += 1;
            }
        }
        for (i, f) in meta.functions.iter().enumerate() {
            let t = f.type_index.to_native();
            check(t < c.types, || format!("function {i} has type {t}, there are {}", c.types))?;
            if let Some(slot) = f.wasm_call.as_ref() {
                self.slot(slot.to_native(), &format!("function {i}"))?;
            }
        }
        let imported_globals = c.globals - meta.globals.len() as u32;
        for (i, g) in meta.globals.iter().enumerate() {
            self.const_expr(&g.init, imported_globals + i as u32, &format!("global {}", imported_globals + i as u32))?;
        }
        for (i, t) in meta.tables.iter().enumerate() {
            if let Some(init) = t.init.as_ref() {
                self.const_expr(init, c.globals, &format!("table {i}'s initializer"))?;
            }
        }
        for e in meta.exports.iter() {
            let index = e.index.to_native();
            let (count, kind) = match e.kind {
                ArchivedExternKind::Func => (c.funcs, "function"),
                ArchivedExternKind::Table => (c.tables, "table"),
                ArchivedExternKind::Memory => (c.memories, "memory"),
                ArchivedExternKind::Global => (c.globals, "global"),
                ArchivedExternKind::Tag => (c.tags, "tag"),
            };
            check(index < count, || format!("export `{}` refers to {kind} {index}, there are {count}", e.name))?;
            if e.kind == ArchivedExternKind::Func {
                self.escaping_func(index, &format!("export `{}`", e.name))?;
            }
        }
        if let Some(start) = meta.start.as_ref() {
            self.escaping_func(start.to_native(), "the start function")?;
        }
        for (i, seg) in meta.elements.iter().enumerate() {
            let what = format!("element segment {i}");
            if let ArchivedSegmentMode::Active(a) = &seg.mode {
                let t = a.index.to_native();
                check(t < c.tables, || format!("{what} targets table {t}, there are {}", c.tables))?;
                self.const_expr(&a.offset, c.globals, &what)?;
            }
            match &seg.items {
                ArchivedElementItems::Functions(fs) => {
                    for f in fs.iter() {
                        self.escaping_func(f.to_native(), &what)?;
                    }
                }
                ArchivedElementItems::Expressions(es) => {
                    for e in es.iter() {
                        self.const_expr(e, c.globals, &what)?;
                    }
                }
            }
        }
        for (i, seg) in meta.data.iter().enumerate() {
            if let ArchivedSegmentMode::Active(a) = &seg.mode {
                let m = a.index.to_native();
                check(m < c.memories, || format!("data segment {i} targets memory {m}, there are {}", c.memories))?;
                self.const_expr(&a.offset, c.globals, &format!("data segment {i}"))?;
            }
        }
        Ok(())
    }
}

/// Checks `meta` against itself and a function table of `slots` entries
/// (when known).
pub(crate) fn validate(meta: &ArchivedModuleMetadata, slots: Option<usize>) -> Result<(), String> {
    Checker { meta, counts: Counts::of(meta), slots }.run()
}

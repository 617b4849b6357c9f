//! Import matching: whether an `Extern` satisfies an import's declared type
//! (the spec's "import subtyping" for functions, tables, memories, globals).
//!
//! Declared types come from the importing module's metadata and are made
//! canonical first (see `signatures`), so a concrete heap type compares by
//! engine-wide signature id, whichever module declared it:
//!
//! * a function matches when its signature id is the declared one (without
//!   GC, function types have no proper subtypes);
//! * a table when its element type equals the declared one (tables are
//!   read and written, so subtyping must hold both ways) and its limits fit;
//! * an immutable global when its value type is a subtype of the declared
//!   one (`(ref $t)` satisfies `(ref null func)`), a mutable global when
//!   they are equal.

use crate::externals::kind_name;
use crate::signatures::val_subtype;
use crate::store::StoreOpaque;
use crate::{Error, Extern, LinkError, Module};
use kiln_abi::metadata::{ArchivedImport, ArchivedImportKind, ExternKind};
use kiln_abi::types::{ArchivedLimits, Limits};

/// Whether `actual` limits fit within the `declared` ones of an import.
fn limits_match(actual: &Limits, declared: &ArchivedLimits) -> bool {
    let min_ok = actual.min >= declared.min.to_native();
    let max_ok = match declared.max.as_ref() {
        None => true,
        Some(declared_max) => actual.max.is_some_and(|m| m <= declared_max.to_native()),
    };
    min_ok && max_ok
}

fn describe(limits: &Limits) -> String {
    match limits.max {
        Some(max) => format!("{{min {}, max {max}}}", limits.min),
        None => format!("{{min {}, no max}}", limits.min),
    }
}

fn describe_declared(limits: &ArchivedLimits) -> String {
    describe(&Limits { min: limits.min.to_native(), max: limits.max.as_ref().map(|m| m.to_native()) })
}

/// Checks that `given` satisfies `import` of `module`.
pub(crate) fn check_import(
    store: &StoreOpaque,
    module: &Module,
    import: &ArchivedImport,
    given: &Extern,
) -> Result<(), Error> {
    let incompatible = |reason: String| Error::Link(LinkError::incompatible(&import.module, &import.name, reason));
    let expected_kind = match import.kind {
        ArchivedImportKind::Func(_) => ExternKind::Func,
        ArchivedImportKind::Table(_) => ExternKind::Table,
        ArchivedImportKind::Memory(_) => ExternKind::Memory,
        ArchivedImportKind::Global(_) => ExternKind::Global,
        ArchivedImportKind::Tag(_) => ExternKind::Tag,
    };
    if given.kind() != expected_kind {
        let (e, f) = (kind_name(expected_kind), kind_name(given.kind()));
        return Err(incompatible(format!("expected a {e}, found a {f}")));
    }
    match (&import.kind, given) {
        (ArchivedImportKind::Func(t), Extern::Func(f)) => {
            let t = t.to_native();
            if f.sig(store)? != module.sig_ids()[t as usize] {
                let expected = module.metadata().types[t as usize].ty.to_native();
                return Err(incompatible(format!("expected {expected}, found {}", f.ty(store)?)));
            }
        }
        (ArchivedImportKind::Table(declared), Extern::Table(t)) => {
            let actual = t.ty(store)?;
            let declared_type = module.canonical_table(declared.to_native());
            if actual.element != declared_type.element || actual.table64 != declared.table64 {
                return Err(incompatible(format!(
                    "expected a table of {}, found a table of {}",
                    declared_type.element, actual.element
                )));
            }
            if !limits_match(&actual.limits, &declared.limits) {
                return Err(incompatible(format!(
                    "table limits {} do not fit the declared {}",
                    describe(&actual.limits),
                    describe_declared(&declared.limits)
                )));
            }
        }
        (ArchivedImportKind::Memory(declared), Extern::Memory(m)) => {
            let actual = m.ty(store)?;
            if actual.memory64 != declared.memory64 || actual.shared != declared.shared {
                return Err(incompatible("memory index type or sharing differs".into()));
            }
            if actual.page_size_log2 != declared.page_size_log2 {
                return Err(incompatible(format!(
                    "memory page size {} differs from the declared {}",
                    actual.page_size(),
                    1u64 << declared.page_size_log2
                )));
            }
            if !limits_match(&actual.limits, &declared.limits) {
                return Err(incompatible(format!(
                    "memory limits {} do not fit the declared {}",
                    describe(&actual.limits),
                    describe_declared(&declared.limits)
                )));
            }
        }
        (ArchivedImportKind::Global(declared), Extern::Global(g)) => {
            let actual = g.ty(store)?;
            let declared = module.canonical_global(declared.to_native());
            let mutability = |m: bool| if m { "mutable" } else { "immutable" };
            let fits = if declared.mutable {
                actual.mutable && actual.content == declared.content
            } else {
                !actual.mutable && val_subtype(actual.content, declared.content)
            };
            if !fits {
                return Err(incompatible(format!(
                    "expected {} {}, found {} {}",
                    mutability(declared.mutable),
                    declared.content,
                    mutability(actual.mutable),
                    actual.content
                )));
            }
        }
        (ArchivedImportKind::Tag(t), Extern::Tag(tag)) => {
            let t = t.to_native();
            if tag.sig(store)? != module.sig_ids()[t as usize] {
                let expected = module.metadata().types[t as usize].ty.to_native();
                return Err(incompatible(format!("expected a tag of {expected}, found one of {}", tag.ty(store)?)));
            }
        }
        _ => unreachable!("kinds were compared above"),
    }
    Ok(())
}

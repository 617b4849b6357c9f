//! The engine-wide signature registry, and the canonical form of types the
//! runtime compares.
//!
//! # Canonical types
//!
//! Structurally equal function types get the same `u32` id. Ids go into VM
//! contexts (`type_ids`) and function references (`VMFuncRef::type_id`),
//! where `call_indirect` compares them, and decide whether a function fits
//! an import.
//!
//! A module's metadata names concrete heap types (`(ref $t)`) by *module*
//! type index, which means nothing outside the module. Every type the
//! runtime keeps or compares — registered signatures, the types of tables
//! and globals in a store, what [`Func::ty`](crate::Func::ty),
//! [`Table::ty`](crate::Table::ty) and [`Global::ty`](crate::Global::ty)
//! report — is *canonical*: `HeapType::Concrete(id)` holds the engine-wide
//! signature id instead. A module's types are canonicalized in order when
//! it is loaded ([`SignatureRegistry::register_module`]): without the GC
//! proposal's recursion groups a type may only refer to types before it,
//! so each reference is to an id already known. Host code that builds a
//! type with a concrete heap type uses an id it got from the runtime.
//!
//! # Subtyping
//!
//! Without GC, function types are final and have no declared supertypes,
//! so subtyping is small: `(ref null? $t) <: (ref null? func)`, bottoms
//! `nofunc`/`noextern` below everything in their hierarchy, `ref` below
//! `ref null`, and two concrete types match exactly when their ids are
//! equal ([`val_subtype`]).

use kiln_abi::{FuncType, HeapType, RefType, ValType};
use std::collections::HashMap;
use std::sync::RwLock;

/// A registered signature's id. Ids start at 1, so a zeroed id never matches.
pub(crate) type SigId = u32;

#[derive(Default)]
pub(crate) struct SignatureRegistry {
    inner: RwLock<Registry>,
}

#[derive(Default)]
struct Registry {
    ids: HashMap<FuncType, SigId>,
    types: Vec<FuncType>,
}

impl SignatureRegistry {
    /// The id of the canonical type `ty`, registering it if new. Ids live as
    /// long as the engine.
    pub(crate) fn register(&self, ty: &FuncType) -> SigId {
        if let Some(&id) = self.inner.read().unwrap_or_else(|e| e.into_inner()).ids.get(ty) {
            return id;
        }
        let mut reg = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if let Some(&id) = reg.ids.get(ty) {
            return id;
        }
        reg.types.push(ty.clone());
        let id = reg.types.len() as SigId;
        reg.ids.insert(ty.clone(), id);
        id
    }

    /// Registers a module's types, given in module order with concrete heap
    /// types as module type indices, and returns their ids. Fails with the
    /// offending type's index if a type refers to itself or a later one.
    pub(crate) fn register_module(&self, types: impl IntoIterator<Item = FuncType>) -> Result<Vec<SigId>, u32> {
        let mut ids = Vec::new();
        for (index, ty) in types.into_iter().enumerate() {
            let refers_ahead = ty.params.iter().chain(&ty.results).any(|t| match t {
                ValType::Ref(RefType { heap: HeapType::Concrete(i), .. }) => *i as usize >= index,
                _ => false,
            });
            if refers_ahead {
                return Err(index as u32);
            }
            ids.push(self.register(&canonical_func_type(&ty, &ids)));
        }
        Ok(ids)
    }

    /// The canonical type registered under `id`.
    pub(crate) fn lookup(&self, id: SigId) -> Option<FuncType> {
        let reg = self.inner.read().unwrap_or_else(|e| e.into_inner());
        reg.types.get((id as usize).checked_sub(1)?).cloned()
    }
}

/// `ty` with module type indices replaced by the ids in `sig_ids`. An
/// index without an id (which metadata validation rules out) becomes id 0,
/// which no signature has, so the type matches nothing but itself.
pub(crate) fn canonical_ref_type(ty: RefType, sig_ids: &[SigId]) -> RefType {
    match ty.heap {
        HeapType::Concrete(index) => {
            RefType { heap: HeapType::Concrete(sig_ids.get(index as usize).copied().unwrap_or(0)), ..ty }
        }
        _ => ty,
    }
}

/// [`canonical_ref_type`] of any value type.
pub(crate) fn canonical_val_type(ty: ValType, sig_ids: &[SigId]) -> ValType {
    match ty {
        ValType::Ref(r) => ValType::Ref(canonical_ref_type(r, sig_ids)),
        other => other,
    }
}

fn canonical_func_type(ty: &FuncType, sig_ids: &[SigId]) -> FuncType {
    let map = |types: &[ValType]| types.iter().map(|&t| canonical_val_type(t, sig_ids)).collect();
    FuncType { params: map(&ty.params), results: map(&ty.results) }
}

/// Whether heap type `a` is a subtype of `b` (both canonical).
pub(crate) fn heap_subtype(a: HeapType, b: HeapType) -> bool {
    use HeapType::*;
    match (a, b) {
        (a, b) if a == b => true,
        (NoFunc, Func | Concrete(_)) | (Concrete(_), Func) => true,
        (NoExtern, Extern) => true,
        (None, Any | Eq | I31 | Struct | Array) | (I31 | Struct | Array, Any | Eq) | (Eq, Any) => true,
        (NoExn, Exn) => true,
        _ => false,
    }
}

/// Whether reference type `a` is a subtype of `b` (both canonical).
pub(crate) fn ref_subtype(a: RefType, b: RefType) -> bool {
    (!a.nullable || b.nullable) && heap_subtype(a.heap, b.heap)
}

/// Whether value type `a` is a subtype of `b` (both canonical).
pub(crate) fn val_subtype(a: ValType, b: ValType) -> bool {
    match (a, b) {
        (ValType::Ref(a), ValType::Ref(b)) => ref_subtype(a, b),
        (a, b) => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_abi::ValType::*;

    #[test]
    fn equal_types_share_an_id() {
        let r = SignatureRegistry::default();
        let a = r.register(&FuncType::new([I32], [I64]));
        let b = r.register(&FuncType::new([I32], [I64]));
        let c = r.register(&FuncType::new([I64], [I32]));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, 0);
        assert_eq!(r.lookup(c), Some(FuncType::new([I64], [I32])));
        assert_eq!(r.lookup(0), None);
    }

    fn concrete(nullable: bool, index: u32) -> ValType {
        ValType::Ref(RefType { nullable, heap: HeapType::Concrete(index) })
    }

    #[test]
    fn module_types_are_canonical_across_modules() {
        let r = SignatureRegistry::default();
        // Module A: 0 = [] -> [], 1 = [(ref 0)] -> []
        let a = r.register_module([FuncType::new([], []), FuncType::new([concrete(false, 0)], [])]).unwrap();
        // Module B: 0 = [i32] -> [], 1 = [] -> [], 2 = [(ref 1)] -> []
        let b = r
            .register_module([FuncType::new([I32], []), FuncType::new([], []), FuncType::new([concrete(false, 1)], [])])
            .unwrap();
        assert_eq!(a[1], b[2], "same structure through differently numbered types");
        assert_eq!(r.lookup(a[1]), Some(FuncType::new([concrete(false, a[0])], [])));
        // A reference to itself or a later type is refused.
        assert_eq!(r.register_module([FuncType::new([concrete(true, 0)], [])]), Err(0));
    }

    #[test]
    fn subtyping_of_references() {
        let func = |nullable| ValType::Ref(RefType { nullable, heap: HeapType::Func });
        assert!(val_subtype(concrete(false, 3), func(true)));
        assert!(val_subtype(concrete(false, 3), concrete(true, 3)));
        assert!(!val_subtype(concrete(true, 3), concrete(false, 3)));
        assert!(!val_subtype(concrete(false, 3), concrete(false, 4)));
        assert!(!val_subtype(func(true), concrete(true, 3)));
        assert!(val_subtype(ValType::Ref(RefType { nullable: true, heap: HeapType::NoFunc }), concrete(true, 3)));
        assert!(!val_subtype(ValType::FUNCREF, ValType::EXTERNREF));
        assert!(val_subtype(I32, I32) && !val_subtype(I32, I64));
    }
}

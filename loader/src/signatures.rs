//! The engine-wide signature registry: structurally equal function types get
//! the same `u32` id. Ids go into VM contexts (`type_ids`) and function
//! references (`VMFuncRef::type_id`), where `call_indirect` compares them.

use kiln_abi::FuncType;
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
    /// The id of `ty`, registering it if new. Ids live as long as the engine.
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

    /// The type registered under `id`.
    pub(crate) fn lookup(&self, id: SigId) -> Option<FuncType> {
        let reg = self.inner.read().unwrap_or_else(|e| e.into_inner());
        reg.types.get((id as usize).checked_sub(1)?).cloned()
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
}

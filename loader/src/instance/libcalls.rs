//! The Rust builtins' implementations (see `vm::builtins` for the table).
//!
//! Each is called by generated code with its own VM context and runs as host
//! code (the caller has entered a `HostScope`). They never panic on bad
//! indices: generated code is trusted to pass valid ones, and if it does
//! not, the operation fails the way the wasm instruction would.

use super::InstanceData;
use crate::store::StoreOpaque;
use crate::vm::VMContext;
use kiln_abi::TrapCode;
use kiln_abi::metadata::ArchivedSegmentMode;

/// The instance behind `vmctx` and its store.
///
/// # Safety
/// `vmctx` must be a live VM context whose store has no live Rust reference
/// (true while its wasm code runs).
unsafe fn context<'a>(vmctx: *mut VMContext) -> Option<(&'a mut InstanceData, &'a mut StoreOpaque)> {
    // SAFETY: forwarded from the caller.
    let data = unsafe { InstanceData::ptr_from_vmctx(vmctx) }?;
    // SAFETY: a live instance's data.
    let store = unsafe { (*data).store.as_ptr() };
    // SAFETY: the instance data is a separate allocation from the store
    // block (the store holds it through a raw pointer), so these two
    // exclusive borrows do not overlap; nothing else borrows either while
    // wasm runs.
    Some(unsafe { (&mut *data, &mut *store) })
}

/// Copies `len` items at `src` of `source` to `dst` of a destination of
/// `dst_len` items, with the bounds checks of `table.init`/`memory.init`.
fn init_range(source_len: usize, src: u64, dst: u64, dst_len: u64, len: u64) -> Option<(std::ops::Range<usize>, u64)> {
    let src_end = src.checked_add(len).filter(|&e| e <= source_len as u64)?;
    dst.checked_add(len).filter(|&e| e <= dst_len)?;
    Some((usize::try_from(src).ok()?..usize::try_from(src_end).ok()?, dst))
}

/// # Safety
/// See [`context`].
pub(crate) unsafe fn memory_grow(vmctx: *mut VMContext, memory: u32, delta: u64) -> i64 {
    // SAFETY: forwarded.
    let Some((inst, store)) = (unsafe { context(vmctx) }) else { return -1 };
    let Some(&index) = inst.memories.get(memory as usize) else { return -1 };
    store.memories[index as usize].grow(delta).map_or(-1, |old| old as i64)
}

/// # Safety
/// See [`context`].
pub(crate) unsafe fn table_grow(vmctx: *mut VMContext, table: u32, delta: u64, init: usize) -> i64 {
    // SAFETY: forwarded.
    let Some((inst, store)) = (unsafe { context(vmctx) }) else { return -1 };
    let Some(&index) = inst.tables.get(table as usize) else { return -1 };
    store.tables[index as usize].grow(delta, init).map_or(-1, |old| old as i64)
}

/// # Safety
/// See [`context`].
pub(crate) unsafe fn table_init(vmctx: *mut VMContext, table: u32, elem: u32, dst: u64, src: u64, len: u64) -> i32 {
    let oob = TrapCode::TableOutOfBounds.as_u32() as i32;
    // SAFETY: forwarded.
    let Some((inst, store)) = (unsafe { context(vmctx) }) else { return oob };
    let Some(&index) = inst.tables.get(table as usize) else { return oob };
    let items: &[usize] = inst.elements.get(elem as usize).and_then(|e| e.as_deref()).unwrap_or(&[]);
    let entry = &mut store.tables[index as usize];
    match init_range(items.len(), src, dst, entry.len(), len) {
        Some((range, dst)) if entry.write(dst, &items[range.clone()]) => 0,
        _ => oob,
    }
}

/// # Safety
/// See [`context`].
pub(crate) unsafe fn elem_drop(vmctx: *mut VMContext, elem: u32) {
    // SAFETY: forwarded.
    if let Some((inst, _)) = unsafe { context(vmctx) }
        && let Some(items) = inst.elements.get_mut(elem as usize)
    {
        *items = None;
    }
}

/// # Safety
/// See [`context`].
pub(crate) unsafe fn memory_init(vmctx: *mut VMContext, memory: u32, data: u32, dst: u64, src: u64, len: u64) -> i32 {
    let oob = TrapCode::MemoryOutOfBounds.as_u32() as i32;
    // SAFETY: forwarded.
    let Some((inst, store)) = (unsafe { context(vmctx) }) else { return oob };
    let Some(&index) = inst.memories.get(memory as usize) else { return oob };
    let segment = inst.module.metadata().data.get(data as usize);
    let bytes: &[u8] = match segment {
        Some(s) if !inst.dropped_data[data as usize] && !matches!(s.mode, ArchivedSegmentMode::Active(_)) => &s.bytes,
        _ => &[],
    };
    let target = store.memories[index as usize].data_mut();
    match init_range(bytes.len(), src, dst, target.len() as u64, len) {
        Some((range, dst)) => {
            let dst = dst as usize;
            target[dst..dst + range.len()].copy_from_slice(&bytes[range]);
            0
        }
        None => oob,
    }
}

/// # Safety
/// See [`context`].
pub(crate) unsafe fn data_drop(vmctx: *mut VMContext, data: u32) {
    // SAFETY: forwarded.
    if let Some((inst, _)) = unsafe { context(vmctx) }
        && let Some(dropped) = inst.dropped_data.get_mut(data as usize)
    {
        *dropped = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_bounds_follow_the_spec() {
        assert_eq!(init_range(4, 1, 2, 5, 3), Some((1..4, 2)));
        assert_eq!(init_range(4, 2, 0, 5, 3), None);
        assert_eq!(init_range(4, 0, 3, 5, 3), None);
        assert_eq!(init_range(4, 4, 5, 5, 0), Some((4..4, 5)));
        assert_eq!(init_range(4, 5, 0, 5, 0), None);
        assert_eq!(init_range(4, u64::MAX, 0, 5, 2), None);
    }
}

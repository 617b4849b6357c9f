//! Process-wide registries the fault handler consults: where kiln code lives
//! and where linear memories are reserved.
//!
//! Entries are added and removed through RAII [`Registration`]s. The signal
//! handler takes the read lock only when the faulting thread is inside wasm
//! (its activation is set); such a thread holds no lock itself, because
//! host code clears the activation before running, so the read can at worst
//! wait for another thread's short update.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::RwLock;

/// Which registry a range belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RangeKind {
    /// Executable code of a loaded kiln library.
    Code,
    /// A linear memory's whole reservation, guard region included.
    Memory,
}

/// Start → (end, number of registrations). The same library loaded twice
/// is registered twice (the dynamic loader maps it once).
type Ranges = BTreeMap<usize, (usize, usize)>;

static CODE: RwLock<Ranges> = RwLock::new(BTreeMap::new());
static MEMORY: RwLock<Ranges> = RwLock::new(BTreeMap::new());

fn map(kind: RangeKind) -> &'static RwLock<Ranges> {
    match kind {
        RangeKind::Code => &CODE,
        RangeKind::Memory => &MEMORY,
    }
}

/// Ranges registered until dropped.
#[derive(Debug)]
pub(crate) struct Registration {
    kind: RangeKind,
    starts: Vec<usize>,
}

/// Registers `ranges` (non-empty, non-overlapping with anything registered).
pub(crate) fn register(kind: RangeKind, ranges: impl IntoIterator<Item = Range<usize>>) -> Registration {
    let mut map = map(kind).write().unwrap_or_else(|e| e.into_inner());
    let mut starts = Vec::new();
    for r in ranges.into_iter().filter(|r| !r.is_empty()) {
        map.entry(r.start).or_insert((r.end, 0)).1 += 1;
        starts.push(r.start);
    }
    Registration { kind, starts }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut map = map(self.kind).write().unwrap_or_else(|e| e.into_inner());
        for start in &self.starts {
            if let Some((_, count)) = map.get_mut(start) {
                *count -= 1;
                if *count == 0 {
                    map.remove(start);
                }
            }
        }
    }
}

/// Whether `address` lies in a registered range of `kind`. Allocation-free
/// and panic-free: called from the signal handler.
pub(crate) fn contains(kind: RangeKind, address: usize) -> bool {
    let map = map(kind).read().unwrap_or_else(|e| e.into_inner());
    map.range(..=address).next_back().is_some_and(|(_, &(end, _))| address < end)
}

/// The fault classifier handed to the C signal handler: a fault is a wasm
/// out-of-bounds access when the pc is in kiln code and the address is in a
/// linear memory's reservation.
pub(crate) extern "C" fn classify_fault(pc: usize, address: usize) -> i32 {
    i32::from(contains(RangeKind::Code, pc) && contains(RangeKind::Memory, address))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_found_until_unregistered() {
        let r = register(RangeKind::Code, [0x1000..0x2000, 0x5000..0x6000]);
        assert!(contains(RangeKind::Code, 0x1000));
        assert!(contains(RangeKind::Code, 0x1fff));
        assert!(!contains(RangeKind::Code, 0x2000));
        assert!(contains(RangeKind::Code, 0x5800));
        assert!(!contains(RangeKind::Memory, 0x5800));
        assert_eq!(classify_fault(0x5800, 0x5800), 0);
        let again = register(RangeKind::Code, std::iter::once(0x1000..0x2000));
        drop(r);
        assert!(contains(RangeKind::Code, 0x1000));
        assert!(!contains(RangeKind::Code, 0x5000));
        drop(again);
        assert!(!contains(RangeKind::Code, 0x1000));
    }
}

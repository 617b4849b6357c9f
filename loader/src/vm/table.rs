//! Table storage: a vector of pointer-sized references (null = null) that
//! generated code reads and writes through its `VMTableDefinition`.

/// The most elements a table may have in this implementation; growing past
/// it fails like growing past the declared maximum.
pub(crate) const MAX_TABLE_ELEMENTS: u64 = 10_000_000;

/// A table's elements.
#[derive(Debug)]
pub(crate) struct TableStorage {
    elements: Vec<usize>,
    max: u64,
}

impl TableStorage {
    /// `min` elements set to `init`, growable to `max` (or the
    /// implementation limit). `None` if `min` is too large.
    pub(crate) fn new(min: u64, max: Option<u64>, init: usize) -> Option<TableStorage> {
        let max = max.unwrap_or(u64::MAX).min(MAX_TABLE_ELEMENTS);
        let mut table = TableStorage { elements: Vec::new(), max };
        table.grow(min, init)?;
        Some(table)
    }

    pub(crate) fn len(&self) -> u64 {
        self.elements.len() as u64
    }

    /// The elements' base address (changes when the table grows).
    pub(crate) fn base(&mut self) -> *mut usize {
        self.elements.as_mut_ptr()
    }

    pub(crate) fn get(&self, index: u64) -> Option<usize> {
        self.elements.get(usize::try_from(index).ok()?).copied()
    }

    /// Sets one element; `false` if out of bounds.
    pub(crate) fn set(&mut self, index: u64, value: usize) -> bool {
        match usize::try_from(index).ok().and_then(|i| self.elements.get_mut(i)) {
            Some(slot) => {
                *slot = value;
                true
            }
            None => false,
        }
    }

    /// The elements `[start, start + len)`, if in bounds.
    pub(crate) fn slice_mut(&mut self, start: u64, len: u64) -> Option<&mut [usize]> {
        let end = start.checked_add(len)?;
        let (start, end) = (usize::try_from(start).ok()?, usize::try_from(end).ok()?);
        self.elements.get_mut(start..end)
    }

    /// Grows by `delta` elements set to `init`; returns the previous size, or
    /// `None` (changing nothing) past the maximum or if allocation fails.
    pub(crate) fn grow(&mut self, delta: u64, init: usize) -> Option<u64> {
        let old = self.len();
        let new = old.checked_add(delta).filter(|&n| n <= self.max)?;
        let new = usize::try_from(new).ok()?;
        self.elements.try_reserve_exact(new - self.elements.len()).ok()?;
        self.elements.resize(new, init);
        Some(old)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_its_maximum_only() {
        let mut t = TableStorage::new(2, Some(4), 0).unwrap();
        assert_eq!(t.grow(2, 7), Some(2));
        assert_eq!(t.get(3), Some(7));
        assert_eq!(t.grow(1, 0), None);
        assert!(!t.set(4, 1));
        assert!(t.slice_mut(3, 2).is_none());
        assert_eq!(t.slice_mut(4, 0).map(|s| s.len()), Some(0));
        assert!(TableStorage::new(MAX_TABLE_ELEMENTS + 1, None, 0).is_none());
    }
}

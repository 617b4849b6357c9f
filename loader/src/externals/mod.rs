//! Memories, tables and globals (created by instances or by the host), and
//! the `Extern` sum of everything an instance imports or exports.

mod global;
mod memory;
mod shared_memory;
mod table;

pub use global::Global;
pub(crate) use global::GlobalEntry;
pub use memory::Memory;
pub(crate) use memory::MemoryEntry;
pub use shared_memory::SharedMemory;
pub use table::Table;
pub(crate) use table::TableEntry;

use crate::Func;
use kiln_abi::metadata::ExternKind;

/// Something an instance imports or exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A table.
    Table(Table),
    /// A linear memory.
    Memory(Memory),
    /// A global.
    Global(Global),
    /// A tag (exception handling).
    Tag(crate::Tag),
}

impl Extern {
    /// Its kind.
    pub fn kind(&self) -> ExternKind {
        match self {
            Extern::Func(_) => ExternKind::Func,
            Extern::Table(_) => ExternKind::Table,
            Extern::Memory(_) => ExternKind::Memory,
            Extern::Global(_) => ExternKind::Global,
            Extern::Tag(_) => ExternKind::Tag,
        }
    }

    /// The function, if it is one.
    pub fn into_func(self) -> Option<Func> {
        if let Extern::Func(f) = self { Some(f) } else { None }
    }

    /// The table, if it is one.
    pub fn into_table(self) -> Option<Table> {
        if let Extern::Table(t) = self { Some(t) } else { None }
    }

    /// The memory, if it is one.
    pub fn into_memory(self) -> Option<Memory> {
        if let Extern::Memory(m) = self { Some(m) } else { None }
    }

    /// The tag, if it is one.
    pub fn into_tag(self) -> Option<crate::Tag> {
        if let Extern::Tag(t) = self { Some(t) } else { None }
    }

    /// The global, if it is one.
    pub fn into_global(self) -> Option<Global> {
        if let Extern::Global(g) = self { Some(g) } else { None }
    }
}

impl From<Func> for Extern {
    fn from(f: Func) -> Extern {
        Extern::Func(f)
    }
}

impl From<Table> for Extern {
    fn from(t: Table) -> Extern {
        Extern::Table(t)
    }
}

impl From<Memory> for Extern {
    fn from(m: Memory) -> Extern {
        Extern::Memory(m)
    }
}

impl From<crate::Tag> for Extern {
    fn from(t: crate::Tag) -> Extern {
        Extern::Tag(t)
    }
}

impl From<Global> for Extern {
    fn from(g: Global) -> Extern {
        Extern::Global(g)
    }
}

/// A readable name of an extern kind for messages.
pub(crate) fn kind_name(kind: ExternKind) -> &'static str {
    match kind {
        ExternKind::Func => "function",
        ExternKind::Table => "table",
        ExternKind::Memory => "memory",
        ExternKind::Global => "global",
        ExternKind::Tag => "tag",
    }
}

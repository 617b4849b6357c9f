//! The descriptor table: what each guest fd stands for, with its rights.
//!
//! A guest fd is an index into this table, never a host fd. Each entry
//! holds the host object (a file, a cap-std directory, or one of the three
//! stdio streams), the fd's *base* rights (what may be done with it) and
//! *inheriting* rights (the most a descriptor opened through it may get).
//! Rights only ever shrink: `path_open` intersects what the guest asks for
//! with the directory's inheriting rights, and `fd_fdstat_set_rights`
//! refuses to add any. Every function names the rights it needs and the
//! lookup fails with `ENOTCAPABLE` when one is missing.
//!
//! Which number a new descriptor gets is left open by WASI, and programs
//! can tell: one that closes its standard output and then opens a file
//! sends its later prints into that file if the file gets number 1. kiln
//! numbers descriptors as the reference runtime (Wasmtime) does, so that a
//! program behaves the same under both: a new descriptor takes the highest
//! number that was closed and not reused since, and only when there is
//! none the number after the highest one open. POSIX's "lowest free number"
//! would hand a freed stdio number to the very next file.

use crate::ctx::{Input, Output};
use crate::errno::{Errno, WasiResult};
use crate::types::{Filetype, rights};
use std::collections::{BTreeMap, BTreeSet};

/// One listed directory entry, as `fd_readdir` reports it.
#[derive(Clone, Debug)]
pub(crate) struct Listed {
    pub name: Vec<u8>,
    pub ino: u64,
    pub filetype: Filetype,
}

/// An open directory.
pub(crate) struct DirDesc {
    pub dir: cap_std::fs::Dir,
    /// The guest name, for preopened directories.
    pub preopen: Option<String>,
    /// The listing `fd_readdir` hands out: taken afresh at cookie 0 and
    /// kept, so later cookies index the same snapshot.
    pub listing: Option<Vec<Listed>>,
}

/// An open file (regular file or any other non-directory the guest
/// opened by path).
pub(crate) struct FileDesc {
    pub file: std::fs::File,
    pub filetype: Filetype,
}

/// What a descriptor stands for.
pub(crate) enum Descriptor {
    File(FileDesc),
    Dir(DirDesc),
    Stdin(Input),
    Stdout(Output),
}

/// A table entry.
pub(crate) struct FdEntry {
    pub desc: Descriptor,
    pub base: u64,
    pub inheriting: u64,
    /// `fdflags` of stdio descriptors, which have no host flags of their
    /// own to report (files report their real ones).
    pub flags: u16,
}

impl FdEntry {
    pub fn new(desc: Descriptor, base: u64, inheriting: u64) -> FdEntry {
        FdEntry { desc, base, inheriting, flags: 0 }
    }

    /// Fails with `ENOTCAPABLE` unless the entry has every right in `needed`.
    pub fn require(&self, needed: u64) -> WasiResult<()> {
        if self.base & needed == needed { Ok(()) } else { Err(Errno::NotCapable) }
    }
}

/// Guest fds to entries.
#[derive(Default)]
pub(crate) struct FdTable {
    entries: BTreeMap<u32, FdEntry>,
    /// Numbers closed (or renumbered away from) and not handed out again.
    freed: BTreeSet<u32>,
}

impl FdTable {
    /// Puts `entry` at `fd` (used while building the context).
    pub fn insert_at(&mut self, fd: u32, entry: FdEntry) {
        self.freed.remove(&fd);
        self.entries.insert(fd, entry);
    }

    /// Puts `entry` at the highest freed number, else after the highest
    /// number in use (see the module documentation).
    pub fn push(&mut self, entry: FdEntry) -> WasiResult<u32> {
        let fd = match self.freed.pop_last() {
            Some(fd) => fd,
            None => match self.entries.last_key_value() {
                Some((&last, _)) => last.checked_add(1).ok_or(Errno::Mfile)?,
                None => 0,
            },
        };
        self.entries.insert(fd, entry);
        Ok(fd)
    }

    /// The entry at `fd`, or `EBADF`.
    pub fn get(&self, fd: u32) -> WasiResult<&FdEntry> {
        self.entries.get(&fd).ok_or(Errno::Badf)
    }

    /// The entry at `fd` if it has the rights `needed`.
    pub fn get_with(&self, fd: u32, needed: u64) -> WasiResult<&FdEntry> {
        let entry = self.get(fd)?;
        entry.require(needed)?;
        Ok(entry)
    }

    /// The entry at `fd` mutably, or `EBADF`.
    pub fn get_mut(&mut self, fd: u32) -> WasiResult<&mut FdEntry> {
        self.entries.get_mut(&fd).ok_or(Errno::Badf)
    }

    /// The entry at `fd` mutably, if it has the rights `needed`.
    pub fn get_mut_with(&mut self, fd: u32, needed: u64) -> WasiResult<&mut FdEntry> {
        let entry = self.get_mut(fd)?;
        entry.require(needed)?;
        Ok(entry)
    }

    /// The directory at `fd` with the rights `needed`: `EBADF` for no
    /// entry, `ENOTDIR` for a descriptor that is not a directory (a path
    /// relative to a file names nothing), `ENOTCAPABLE` for missing rights.
    pub fn dir(&self, fd: u32, needed: u64) -> WasiResult<(&DirDesc, &FdEntry)> {
        let entry = self.get(fd)?;
        let Descriptor::Dir(dir) = &entry.desc else { return Err(Errno::NotDir) };
        entry.require(needed)?;
        Ok((dir, entry))
    }

    /// Like [`FdTable::dir`], mutably.
    pub fn dir_mut(&mut self, fd: u32, needed: u64) -> WasiResult<&mut DirDesc> {
        let entry = self.get_mut(fd)?;
        entry.require(needed)?;
        match &mut entry.desc {
            Descriptor::Dir(dir) => Ok(dir),
            _ => Err(Errno::NotDir),
        }
    }

    /// Closes `fd`; its number may be handed out again.
    pub fn remove(&mut self, fd: u32) -> WasiResult<FdEntry> {
        let entry = self.entries.remove(&fd).ok_or(Errno::Badf)?;
        self.freed.insert(fd);
        Ok(entry)
    }

    /// Moves `from` to `to`, closing what `to` held; both must be open.
    pub fn renumber(&mut self, from: u32, to: u32) -> WasiResult<()> {
        self.get(from)?;
        self.get(to)?;
        if from != to {
            let entry = self.remove(from)?;
            self.entries.insert(to, entry);
        }
        Ok(())
    }
}

/// The rights a descriptor of type `filetype` can use at all.
pub(crate) fn rights_for(filetype: Filetype) -> u64 {
    match filetype {
        Filetype::Directory => rights::DIRECTORY,
        _ => rights::REGULAR_FILE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctx::Output;

    fn entry() -> FdEntry {
        FdEntry::new(Descriptor::Stdout(Output::Null), rights::STDOUT, 0)
    }

    #[test]
    fn highest_freed_fd_first_and_renumber() {
        let mut table = FdTable::default();
        for fd in 0..6 {
            assert_eq!(table.push(entry()), Ok(fd));
        }
        table.remove(1).unwrap();
        assert_eq!(table.push(entry()), Ok(1), "the only freed number");
        // Freed in the order 4, 2, 5: handed out highest first, whatever
        // the order they were closed in, then past the highest in use.
        for fd in [4, 2, 5] {
            table.remove(fd).unwrap();
        }
        assert_eq!(table.push(entry()), Ok(5));
        assert_eq!(table.push(entry()), Ok(4));
        assert_eq!(table.push(entry()), Ok(2));
        assert_eq!(table.push(entry()), Ok(6));
        assert_eq!(table.renumber(0, 9).err(), Some(Errno::Badf));
        table.renumber(0, 2).unwrap();
        assert!(table.get(0).is_err());
        assert!(table.get(2).is_ok());
        assert_eq!(table.push(entry()), Ok(0), "renumbering frees the source's number");
        assert_eq!(table.get_with(2, rights::FD_READ).err(), Some(Errno::NotCapable));
        assert_eq!(table.dir(2, 0).err(), Some(Errno::NotDir));
    }
}

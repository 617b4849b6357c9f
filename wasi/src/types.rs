//! The spec's constants and memory layouts (`wasi_snapshot_preview1.witx`).
//!
//! Every struct the guest reads or writes is encoded here by hand, little
//! endian at the spec's offsets, into a byte array of the spec's size; the
//! functions then copy the array into guest memory through
//! [`GuestMemory`](crate::memory::GuestMemory). No Rust struct is ever
//! overlaid on guest memory, so alignment and padding cannot go wrong.

/// Kind of a file (`filetype`, u8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Filetype {
    Unknown = 0,
    BlockDevice = 1,
    CharacterDevice = 2,
    Directory = 3,
    RegularFile = 4,
    SocketDgram = 5,
    SocketStream = 6,
    SymbolicLink = 7,
}

impl Filetype {
    /// From the answers a host file type gives, in this order: directory,
    /// regular file, symlink, block device, character device, socket.
    fn classify(kinds: [bool; 6]) -> Filetype {
        const TYPES: [Filetype; 6] = [
            Filetype::Directory,
            Filetype::RegularFile,
            Filetype::SymbolicLink,
            Filetype::BlockDevice,
            Filetype::CharacterDevice,
            Filetype::SocketStream,
        ];
        kinds.iter().zip(TYPES).find(|(is, _)| **is).map_or(Filetype::Unknown, |(_, ty)| ty)
    }

    /// From a std file type.
    pub(crate) fn from_std(ty: std::fs::FileType) -> Filetype {
        use std::os::unix::fs::FileTypeExt;
        Filetype::classify([
            ty.is_dir(),
            ty.is_file(),
            ty.is_symlink(),
            ty.is_block_device(),
            ty.is_char_device(),
            ty.is_socket(),
        ])
    }

    /// From a cap-std file type.
    pub(crate) fn from_cap(ty: cap_std::fs::FileType) -> Filetype {
        use cap_std::fs::FileTypeExt;
        Filetype::classify([
            ty.is_dir(),
            ty.is_file(),
            ty.is_symlink(),
            ty.is_block_device(),
            ty.is_char_device(),
            ty.is_socket(),
        ])
    }
}

/// `fdflags` (u16).
pub mod fdflags {
    /// Writes go to the end of the file.
    pub const APPEND: u16 = 1 << 0;
    /// Data writes are synchronized.
    pub const DSYNC: u16 = 1 << 1;
    /// Non-blocking mode.
    pub const NONBLOCK: u16 = 1 << 2;
    /// Reads are synchronized.
    pub const RSYNC: u16 = 1 << 3;
    /// Data and metadata writes are synchronized.
    pub const SYNC: u16 = 1 << 4;
    /// Every defined flag.
    pub const ALL: u16 = APPEND | DSYNC | NONBLOCK | RSYNC | SYNC;
}

/// `oflags` (u16) of `path_open`.
pub mod oflags {
    /// Create the file if it does not exist.
    pub const CREAT: u16 = 1 << 0;
    /// Fail unless it is a directory.
    pub const DIRECTORY: u16 = 1 << 1;
    /// With `CREAT`, fail if it exists.
    pub const EXCL: u16 = 1 << 2;
    /// Truncate to size 0.
    pub const TRUNC: u16 = 1 << 3;
    /// Every defined flag.
    pub const ALL: u16 = CREAT | DIRECTORY | EXCL | TRUNC;
}

/// `lookupflags` (u32).
pub mod lookupflags {
    /// Follow a symlink in the last path component.
    pub const SYMLINK_FOLLOW: u32 = 1 << 0;
}

/// `fstflags` (u16) of the `*_set_times` functions.
pub mod fstflags {
    /// Set the access time to the given value.
    pub const ATIM: u16 = 1 << 0;
    /// Set the access time to now.
    pub const ATIM_NOW: u16 = 1 << 1;
    /// Set the modification time to the given value.
    pub const MTIM: u16 = 1 << 2;
    /// Set the modification time to now.
    pub const MTIM_NOW: u16 = 1 << 3;
}

/// `rights` (u64): what a descriptor may be used for.
pub mod rights {
    #![allow(missing_docs)] // each right is named after the function it allows
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub const FD_SYNC: u64 = 1 << 4;
    pub const FD_TELL: u64 = 1 << 5;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_ALLOCATE: u64 = 1 << 8;
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    pub const PATH_OPEN: u64 = 1 << 13;
    pub const FD_READDIR: u64 = 1 << 14;
    pub const PATH_READLINK: u64 = 1 << 15;
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub const PATH_SYMLINK: u64 = 1 << 24;
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    pub const SOCK_SHUTDOWN: u64 = 1 << 28;
    pub const SOCK_ACCEPT: u64 = 1 << 29;

    /// Every right the spec defines.
    pub const ALL: u64 = (1 << 30) - 1;

    /// The rights that mean something for a regular file.
    pub const REGULAR_FILE: u64 = FD_DATASYNC
        | FD_READ
        | FD_SEEK
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_TELL
        | FD_WRITE
        | FD_ADVISE
        | FD_ALLOCATE
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | POLL_FD_READWRITE;

    /// The rights that mean something for a directory.
    pub const DIRECTORY: u64 = FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_ADVISE
        | PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_OPEN
        | FD_READDIR
        | PATH_READLINK
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_FILESTAT_GET
        | PATH_FILESTAT_SET_SIZE
        | PATH_FILESTAT_SET_TIMES
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_TIMES
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE
        | POLL_FD_READWRITE;

    /// Standard input.
    pub const STDIN: u64 = FD_READ | FD_FDSTAT_SET_FLAGS | FD_FILESTAT_GET | POLL_FD_READWRITE;

    /// Standard output and error.
    pub const STDOUT: u64 = FD_WRITE | FD_FDSTAT_SET_FLAGS | FD_FILESTAT_GET | POLL_FD_READWRITE;
}

/// `whence` (u8) of `fd_seek`.
pub mod whence {
    /// From the start.
    pub const SET: u32 = 0;
    /// From the current offset.
    pub const CUR: u32 = 1;
    /// From the end.
    pub const END: u32 = 2;
}

/// `clockid` (u32).
pub mod clockid {
    /// Wall clock time.
    pub const REALTIME: u32 = 0;
    /// Time since an arbitrary point, never going back.
    pub const MONOTONIC: u32 = 1;
    /// CPU time of the process.
    pub const PROCESS_CPUTIME: u32 = 2;
    /// CPU time of the thread.
    pub const THREAD_CPUTIME: u32 = 3;
}

/// `eventtype` (u8).
pub mod eventtype {
    /// A clock subscription's timeout.
    pub const CLOCK: u8 = 0;
    /// A descriptor has data to read.
    pub const FD_READ: u8 = 1;
    /// A descriptor can take data.
    pub const FD_WRITE: u8 = 2;
}

/// `subclockflags` (u16): the timeout is an absolute time of the clock.
pub const SUBSCRIPTION_CLOCK_ABSTIME: u16 = 1;

/// `eventrwflags` (u16): the peer hung up (end of input).
pub const EVENT_FD_READWRITE_HANGUP: u16 = 1;

/// `preopentype` (u8): a preopened directory.
pub const PREOPENTYPE_DIR: u8 = 0;

/// Size of `iovec` and `ciovec`: `buf: u32` at 0, `buf_len: u32` at 4.
pub const IOVEC_SIZE: u32 = 8;
/// Size of `dirent`'s header; the name follows it, not NUL-terminated.
pub const DIRENT_SIZE: usize = 24;
/// Size of `subscription`.
pub const SUBSCRIPTION_SIZE: u32 = 48;
/// Size of `event`.
pub const EVENT_SIZE: u32 = 32;

/// `fdstat` (24 bytes, align 8).
#[derive(Clone, Copy, Debug)]
pub struct Fdstat {
    /// The kind of file.
    pub filetype: Filetype,
    /// `fdflags`.
    pub flags: u16,
    /// Rights of operations on the descriptor.
    pub rights_base: u64,
    /// Rights that descriptors opened through it may get.
    pub rights_inheriting: u64,
}

impl Fdstat {
    /// `fs_filetype` at 0, `fs_flags` at 2, the rights at 8 and 16.
    pub fn encode(&self) -> [u8; 24] {
        let mut out = [0; 24];
        out[0] = self.filetype as u8;
        out[2..4].copy_from_slice(&self.flags.to_le_bytes());
        out[8..16].copy_from_slice(&self.rights_base.to_le_bytes());
        out[16..24].copy_from_slice(&self.rights_inheriting.to_le_bytes());
        out
    }
}

/// `filestat` (64 bytes, align 8). Times are nanoseconds since the epoch.
#[derive(Clone, Copy, Debug)]
#[allow(missing_docs)]
pub struct Filestat {
    pub dev: u64,
    pub ino: u64,
    pub filetype: Filetype,
    pub nlink: u64,
    pub size: u64,
    pub atim: u64,
    pub mtim: u64,
    pub ctim: u64,
}

/// Seconds and nanoseconds as WASI's u64 nanoseconds (0 before the epoch,
/// saturating far after it).
fn timestamp(secs: i64, nsec: i64) -> u64 {
    let ns = i128::from(secs) * 1_000_000_000 + i128::from(nsec);
    u64::try_from(ns.max(0)).unwrap_or(u64::MAX)
}

impl Filestat {
    /// From std metadata (files and inherited stdio).
    pub(crate) fn from_std(meta: &std::fs::Metadata) -> Filestat {
        use std::os::unix::fs::MetadataExt;
        Filestat {
            dev: meta.dev(),
            ino: meta.ino(),
            filetype: Filetype::from_std(meta.file_type()),
            nlink: meta.nlink(),
            size: meta.size(),
            atim: timestamp(meta.atime(), meta.atime_nsec()),
            mtim: timestamp(meta.mtime(), meta.mtime_nsec()),
            ctim: timestamp(meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// From cap-std metadata (directories and paths).
    pub(crate) fn from_cap(meta: &cap_std::fs::Metadata) -> Filestat {
        use cap_std::fs::MetadataExt;
        Filestat {
            dev: meta.dev(),
            ino: meta.ino(),
            filetype: Filetype::from_cap(meta.file_type()),
            nlink: meta.nlink(),
            size: meta.len(),
            atim: timestamp(meta.atime(), meta.atime_nsec()),
            mtim: timestamp(meta.mtime(), meta.mtime_nsec()),
            ctim: timestamp(meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// `dev` 0, `ino` 8, `filetype` 16, `nlink` 24, `size` 32, `atim` 40,
    /// `mtim` 48, `ctim` 56.
    pub fn encode(&self) -> [u8; 64] {
        let mut out = [0; 64];
        out[0..8].copy_from_slice(&self.dev.to_le_bytes());
        out[8..16].copy_from_slice(&self.ino.to_le_bytes());
        out[16] = self.filetype as u8;
        out[24..32].copy_from_slice(&self.nlink.to_le_bytes());
        out[32..40].copy_from_slice(&self.size.to_le_bytes());
        out[40..48].copy_from_slice(&self.atim.to_le_bytes());
        out[48..56].copy_from_slice(&self.mtim.to_le_bytes());
        out[56..64].copy_from_slice(&self.ctim.to_le_bytes());
        out
    }
}

/// `prestat` (8 bytes): tag `dir` at 0, `pr_name_len: u32` at 4.
pub fn encode_prestat_dir(name_len: u32) -> [u8; 8] {
    let mut out = [0; 8];
    out[0] = PREOPENTYPE_DIR;
    out[4..8].copy_from_slice(&name_len.to_le_bytes());
    out
}

/// `dirent` header: `d_next` 0, `d_ino` 8, `d_namlen: u32` 16, `d_type` 20.
pub fn encode_dirent(next: u64, ino: u64, namlen: u32, filetype: Filetype) -> [u8; DIRENT_SIZE] {
    let mut out = [0; DIRENT_SIZE];
    out[0..8].copy_from_slice(&next.to_le_bytes());
    out[8..16].copy_from_slice(&ino.to_le_bytes());
    out[16..20].copy_from_slice(&namlen.to_le_bytes());
    out[20] = filetype as u8;
    out
}

/// `event` (32 bytes): `userdata` 0, `error: u16` 8, `type: u8` 10, and for
/// fd events `nbytes: u64` 16, `flags: u16` 24.
pub fn encode_event(userdata: u64, error: u16, ty: u8, nbytes: u64, flags: u16) -> [u8; EVENT_SIZE as usize] {
    let mut out = [0; EVENT_SIZE as usize];
    out[0..8].copy_from_slice(&userdata.to_le_bytes());
    out[8..10].copy_from_slice(&error.to_le_bytes());
    out[10] = ty;
    out[16..24].copy_from_slice(&nbytes.to_le_bytes());
    out[24..26].copy_from_slice(&flags.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let fdstat =
            Fdstat { filetype: Filetype::Directory, flags: 0x11, rights_base: 2, rights_inheriting: 3 }.encode();
        assert_eq!((fdstat[0], fdstat[2], fdstat[8], fdstat[16]), (3, 0x11, 2, 3));
        let dirent = encode_dirent(7, 9, 5, Filetype::RegularFile);
        assert_eq!((dirent[0], dirent[8], dirent[16], dirent[20]), (7, 9, 5, 4));
        let event = encode_event(1, 21, eventtype::FD_WRITE, 4, 1);
        assert_eq!((event[0], event[8], event[10], event[16], event[24]), (1, 21, 2, 4, 1));
        assert_eq!(encode_prestat_dir(6), [0, 0, 0, 0, 6, 0, 0, 0]);
        assert_eq!(rights::ALL, 0x3fff_ffff);
        assert_eq!(timestamp(-5, 0), 0);
        assert_eq!(timestamp(1, 2), 1_000_000_002);
    }
}

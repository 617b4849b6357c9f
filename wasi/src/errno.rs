//! WASI error numbers (`errno` of the witx spec) and how host errors map to
//! them.
//!
//! The numbers are the spec's, not the host's: a guest compiled against
//! wasi-libc compares them with its own `E*` constants. Host errors carry a
//! raw OS errno whenever the kernel produced them, and that is matched first;
//! only errors made up in user space (cap-std's sandbox refusals, std's
//! argument checks) fall back to `io::ErrorKind`.

use std::io;

/// Every error number of `wasi_snapshot_preview1`, with its spec value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
#[allow(missing_docs)] // the names are the spec's; each means its POSIX namesake
pub enum Errno {
    Success = 0,
    TooBig = 1,
    Acces = 2,
    AddrInUse = 3,
    AddrNotAvail = 4,
    AfNoSupport = 5,
    Again = 6,
    Already = 7,
    Badf = 8,
    BadMsg = 9,
    Busy = 10,
    Canceled = 11,
    Child = 12,
    ConnAborted = 13,
    ConnRefused = 14,
    ConnReset = 15,
    Deadlk = 16,
    DestAddrReq = 17,
    Dom = 18,
    Dquot = 19,
    Exist = 20,
    Fault = 21,
    Fbig = 22,
    HostUnreach = 23,
    Idrm = 24,
    Ilseq = 25,
    InProgress = 26,
    Intr = 27,
    Inval = 28,
    Io = 29,
    IsConn = 30,
    IsDir = 31,
    Loop = 32,
    Mfile = 33,
    Mlink = 34,
    MsgSize = 35,
    Multihop = 36,
    NameTooLong = 37,
    NetDown = 38,
    NetReset = 39,
    NetUnreach = 40,
    Nfile = 41,
    NoBufs = 42,
    NoDev = 43,
    NoEnt = 44,
    NoExec = 45,
    NoLck = 46,
    NoLink = 47,
    NoMem = 48,
    NoMsg = 49,
    NoProtoOpt = 50,
    NoSpc = 51,
    NoSys = 52,
    NotConn = 53,
    NotDir = 54,
    NotEmpty = 55,
    NotRecoverable = 56,
    NotSock = 57,
    NotSup = 58,
    NoTty = 59,
    Nxio = 60,
    Overflow = 61,
    OwnerDead = 62,
    Perm = 63,
    Pipe = 64,
    Proto = 65,
    ProtoNoSupport = 66,
    ProtoType = 67,
    Range = 68,
    Rofs = 69,
    Spipe = 70,
    Srch = 71,
    Stale = 72,
    TimedOut = 73,
    TxtBsy = 74,
    Xdev = 75,
    NotCapable = 76,
}

/// What a WASI function returns to the guest: nothing, or an errno.
pub type WasiResult<T> = Result<T, Errno>;

impl Errno {
    /// The number the guest sees.
    pub fn raw(self) -> u16 {
        self as u16
    }

    /// The WASI errno for a raw host (Linux/POSIX) errno; `Io` for numbers
    /// without a WASI counterpart.
    pub fn from_raw_os_error(code: i32) -> Errno {
        use rustix::io::Errno as E;
        // rustix only takes the kernel's range of error numbers.
        if !(1..4096).contains(&code) {
            return Errno::Io;
        }
        let e = E::from_raw_os_error(code);
        // `EWOULDBLOCK`, `EOPNOTSUPP` and `EDEADLOCK` are aliases on Linux and
        // so fall into the arms of their namesakes.
        match e {
            E::TOOBIG => Errno::TooBig,
            E::ACCESS => Errno::Acces,
            E::ADDRINUSE => Errno::AddrInUse,
            E::ADDRNOTAVAIL => Errno::AddrNotAvail,
            E::AFNOSUPPORT => Errno::AfNoSupport,
            E::AGAIN => Errno::Again,
            E::ALREADY => Errno::Already,
            E::BADF => Errno::Badf,
            E::BADMSG => Errno::BadMsg,
            E::BUSY => Errno::Busy,
            E::CANCELED => Errno::Canceled,
            E::CHILD => Errno::Child,
            E::CONNABORTED => Errno::ConnAborted,
            E::CONNREFUSED => Errno::ConnRefused,
            E::CONNRESET => Errno::ConnReset,
            E::DEADLK => Errno::Deadlk,
            E::DESTADDRREQ => Errno::DestAddrReq,
            E::DOM => Errno::Dom,
            E::DQUOT => Errno::Dquot,
            E::EXIST => Errno::Exist,
            E::FAULT => Errno::Fault,
            E::FBIG => Errno::Fbig,
            E::HOSTUNREACH => Errno::HostUnreach,
            E::IDRM => Errno::Idrm,
            E::ILSEQ => Errno::Ilseq,
            E::INPROGRESS => Errno::InProgress,
            E::INTR => Errno::Intr,
            E::INVAL => Errno::Inval,
            E::IO => Errno::Io,
            E::ISCONN => Errno::IsConn,
            E::ISDIR => Errno::IsDir,
            E::LOOP => Errno::Loop,
            E::MFILE => Errno::Mfile,
            E::MLINK => Errno::Mlink,
            E::MSGSIZE => Errno::MsgSize,
            E::MULTIHOP => Errno::Multihop,
            E::NAMETOOLONG => Errno::NameTooLong,
            E::NETDOWN => Errno::NetDown,
            E::NETRESET => Errno::NetReset,
            E::NETUNREACH => Errno::NetUnreach,
            E::NFILE => Errno::Nfile,
            E::NOBUFS => Errno::NoBufs,
            E::NODEV => Errno::NoDev,
            E::NOENT => Errno::NoEnt,
            E::NOEXEC => Errno::NoExec,
            E::NOLCK => Errno::NoLck,
            E::NOLINK => Errno::NoLink,
            E::NOMEM => Errno::NoMem,
            E::NOMSG => Errno::NoMsg,
            E::NOPROTOOPT => Errno::NoProtoOpt,
            E::NOSPC => Errno::NoSpc,
            E::NOSYS => Errno::NoSys,
            E::NOTCONN => Errno::NotConn,
            E::NOTDIR => Errno::NotDir,
            E::NOTEMPTY => Errno::NotEmpty,
            E::NOTRECOVERABLE => Errno::NotRecoverable,
            E::NOTSOCK => Errno::NotSock,
            E::NOTSUP => Errno::NotSup,
            E::NOTTY => Errno::NoTty,
            E::NXIO => Errno::Nxio,
            E::OVERFLOW => Errno::Overflow,
            E::OWNERDEAD => Errno::OwnerDead,
            E::PERM => Errno::Perm,
            E::PIPE => Errno::Pipe,
            E::PROTO => Errno::Proto,
            E::PROTONOSUPPORT => Errno::ProtoNoSupport,
            E::PROTOTYPE => Errno::ProtoType,
            E::RANGE => Errno::Range,
            E::ROFS => Errno::Rofs,
            E::SPIPE => Errno::Spipe,
            E::SRCH => Errno::Srch,
            E::STALE => Errno::Stale,
            E::TIMEDOUT => Errno::TimedOut,
            E::TXTBSY => Errno::TxtBsy,
            E::XDEV => Errno::Xdev,
            _ => Errno::Io,
        }
    }
}

impl From<io::Error> for Errno {
    fn from(error: io::Error) -> Errno {
        Errno::from(&error)
    }
}

impl From<&io::Error> for Errno {
    /// The kernel's errno when there is one. Without one, the error was made
    /// in user space: cap-std reports a path that would leave its directory
    /// (`..` past the root, an absolute path, a symlink pointing out) as
    /// `PermissionDenied` with no OS code, which is exactly WASI's "not
    /// capable"; the other kinds map to their closest errno.
    fn from(error: &io::Error) -> Errno {
        if let Some(code) = error.raw_os_error() {
            return Errno::from_raw_os_error(code);
        }
        match error.kind() {
            io::ErrorKind::PermissionDenied => Errno::NotCapable,
            io::ErrorKind::NotFound => Errno::NoEnt,
            io::ErrorKind::AlreadyExists => Errno::Exist,
            io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => Errno::Inval,
            io::ErrorKind::Unsupported => Errno::NotSup,
            io::ErrorKind::WouldBlock => Errno::Again,
            io::ErrorKind::Interrupted => Errno::Intr,
            io::ErrorKind::OutOfMemory => Errno::NoMem,
            io::ErrorKind::BrokenPipe => Errno::Pipe,
            io::ErrorKind::UnexpectedEof => Errno::Io,
            _ => Errno::Io,
        }
    }
}

impl From<rustix::io::Errno> for Errno {
    fn from(error: rustix::io::Errno) -> Errno {
        Errno::from_raw_os_error(error.raw_os_error())
    }
}

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WASI errno {} ({:?})", self.raw(), self)
    }
}

impl std::error::Error for Errno {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_values() {
        let pairs = [
            (Errno::Success, 0),
            (Errno::TooBig, 1),
            (Errno::Acces, 2),
            (Errno::Badf, 8),
            (Errno::Exist, 20),
            (Errno::Fault, 21),
            (Errno::Inval, 28),
            (Errno::Io, 29),
            (Errno::IsDir, 31),
            (Errno::Loop, 32),
            (Errno::NameTooLong, 37),
            (Errno::NoEnt, 44),
            (Errno::NoSys, 52),
            (Errno::NotDir, 54),
            (Errno::NotEmpty, 55),
            (Errno::NotSock, 57),
            (Errno::NotSup, 58),
            (Errno::Perm, 63),
            (Errno::Spipe, 70),
            (Errno::Xdev, 75),
            (Errno::NotCapable, 76),
        ];
        for (errno, value) in pairs {
            assert_eq!(errno.raw(), value, "{errno:?}");
        }
    }

    #[test]
    fn os_errors_first_then_kinds() {
        assert_eq!(Errno::from(io::Error::from_raw_os_error(rustix::io::Errno::NOENT.raw_os_error())), Errno::NoEnt);
        assert_eq!(Errno::from(io::Error::from_raw_os_error(rustix::io::Errno::ACCESS.raw_os_error())), Errno::Acces);
        assert_eq!(Errno::from(io::Error::from_raw_os_error(rustix::io::Errno::NOTDIR.raw_os_error())), Errno::NotDir);
        assert_eq!(
            Errno::from(io::Error::from_raw_os_error(rustix::io::Errno::WOULDBLOCK.raw_os_error())),
            Errno::Again
        );
        assert_eq!(Errno::from(io::Error::new(io::ErrorKind::PermissionDenied, "outside")), Errno::NotCapable);
        assert_eq!(Errno::from(io::Error::from_raw_os_error(100_000)), Errno::Io);
        assert_eq!(Errno::from(io::Error::from_raw_os_error(-1)), Errno::Io);
    }
}

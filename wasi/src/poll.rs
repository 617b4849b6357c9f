//! `poll_oneoff`: wait for clocks and descriptors.
//!
//! Every subscription is classified once, up front:
//! - a clock becomes a deadline on the host's monotonic clock (a relative
//!   timeout from now, or an absolute time of its WASI clock converted by
//!   the distance to that clock's present);
//! - a descriptor that can never block (regular files, in-memory and null
//!   stdio) is ready at once, with the bytes left to read where that is
//!   known;
//! - the host's inherited stdio streams are asked with `poll(2)`;
//! - a bad subscription (closed fd, missing `poll_fd_readwrite` right,
//!   unknown clock) becomes an event carrying its error.
//!
//! If anything is ready at once, the call reports that without waiting
//! (host streams are checked with a zero timeout so they are reported as
//! well). Otherwise it waits for the host streams or the nearest deadline,
//! whichever comes first, and reports what happened.

use crate::clocks_random::now;
use crate::ctx::{Input, Output, WasiCtx};
use crate::errno::{Errno, WasiResult};
use crate::memory::GuestMemory;
use crate::table::Descriptor;
use crate::types::{
    EVENT_FD_READWRITE_HANGUP, EVENT_SIZE, SUBSCRIPTION_CLOCK_ABSTIME, SUBSCRIPTION_SIZE, encode_event, eventtype,
    rights,
};
use rustix::event::{PollFd, PollFlags};
use std::io::Seek;
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

/// An event, not yet encoded.
struct Event {
    userdata: u64,
    error: Errno,
    ty: u8,
    nbytes: u64,
    flags: u16,
}

/// A subscription that has to wait.
enum Waiting {
    Clock { userdata: u64, deadline: Instant },
    Host { userdata: u64, ty: u8, fd: BorrowedFd<'static> },
}

/// What one subscription turned out to be.
enum Classified {
    Ready(Event),
    Waiting(Waiting),
}

fn ready(userdata: u64, ty: u8, nbytes: u64, flags: u16) -> Classified {
    Classified::Ready(Event { userdata, error: Errno::Success, ty, nbytes, flags })
}

fn failed(userdata: u64, ty: u8, error: Errno) -> Classified {
    Classified::Ready(Event { userdata, error, ty, nbytes: 0, flags: 0 })
}

/// A clock subscription: `id: u32` at 16, `timeout: u64` at 24,
/// `precision` at 32 (ignored), `flags: u16` at 40.
fn clock(mem: &GuestMemory<'_>, at: u32, userdata: u64) -> WasiResult<Classified> {
    let id = mem.read_u32(at + 16)?;
    let timeout = mem.read_u64(at + 24)?;
    let flags = mem.read_u16(at + 40)?;
    if flags & !SUBSCRIPTION_CLOCK_ABSTIME != 0 {
        return Ok(failed(userdata, eventtype::CLOCK, Errno::Inval));
    }
    let wait = if flags & SUBSCRIPTION_CLOCK_ABSTIME != 0 {
        match now(id) {
            Ok(current) => timeout.saturating_sub(current),
            Err(e) => return Ok(failed(userdata, eventtype::CLOCK, e)),
        }
    } else {
        if let Err(e) = now(id) {
            return Ok(failed(userdata, eventtype::CLOCK, e));
        }
        timeout
    };
    let deadline = Instant::now().checked_add(Duration::from_nanos(wait));
    Ok(match deadline {
        Some(deadline) => Classified::Waiting(Waiting::Clock { userdata, deadline }),
        // Centuries away: the same as never.
        None => Classified::Waiting(Waiting::Clock { userdata, deadline: far_future() }),
    })
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

/// An fd subscription: `file_descriptor: u32` at 16.
fn descriptor(ctx: &WasiCtx, mem: &GuestMemory<'_>, at: u32, userdata: u64, ty: u8) -> WasiResult<Classified> {
    let fd = mem.read_u32(at + 16)?;
    let entry = match ctx.table.get_with(fd, rights::POLL_FD_READWRITE) {
        Ok(entry) => entry,
        Err(e) => return Ok(failed(userdata, ty, e)),
    };
    let read = ty == eventtype::FD_READ;
    Ok(match (&entry.desc, read) {
        (Descriptor::File(f), true) => {
            let size = f.file.metadata().map(|m| m.len()).unwrap_or(0);
            let pos = (&f.file).stream_position().unwrap_or(size);
            ready(userdata, ty, size.saturating_sub(pos), 0)
        }
        (Descriptor::File(_), false) => ready(userdata, ty, 0, 0),
        (Descriptor::Stdin(Input::Null), true) => ready(userdata, ty, 0, EVENT_FD_READWRITE_HANGUP),
        (Descriptor::Stdin(Input::Pipe(pipe)), true) => {
            let left = pipe.remaining();
            ready(userdata, ty, left, if left == 0 { EVENT_FD_READWRITE_HANGUP } else { 0 })
        }
        (Descriptor::Stdin(Input::Inherit), true) => {
            Classified::Waiting(Waiting::Host { userdata, ty, fd: rustix::stdio::stdin() })
        }
        (Descriptor::Stdout(Output::Null | Output::Pipe(_)), false) => ready(userdata, ty, 0, 0),
        (Descriptor::Stdout(Output::Stdout), false) => {
            Classified::Waiting(Waiting::Host { userdata, ty, fd: rustix::stdio::stdout() })
        }
        (Descriptor::Stdout(Output::Stderr), false) => {
            Classified::Waiting(Waiting::Host { userdata, ty, fd: rustix::stdio::stderr() })
        }
        // Reading an output, writing an input or polling a directory.
        _ => failed(userdata, ty, Errno::Badf),
    })
}

/// Polls the host streams among `waiting` until `deadline` (`None`: no
/// waiting at all), adding an event for each one that is ready.
fn poll_host(waiting: &[Waiting], deadline: Option<Instant>, events: &mut Vec<Event>) -> WasiResult<()> {
    let hosts: Vec<(u64, u8, BorrowedFd<'static>)> = waiting
        .iter()
        .filter_map(|w| match *w {
            Waiting::Host { userdata, ty, fd } => Some((userdata, ty, fd)),
            Waiting::Clock { .. } => None,
        })
        .collect();
    if hosts.is_empty() {
        return Ok(());
    }
    let mut fds: Vec<PollFd<'_>> = hosts
        .iter()
        .map(|(_, ty, fd)| PollFd::new(fd, if *ty == eventtype::FD_READ { PollFlags::IN } else { PollFlags::OUT }))
        .collect();
    loop {
        let timeout = deadline.map(|d| {
            let left = d.saturating_duration_since(Instant::now());
            rustix::time::Timespec {
                tv_sec: left.as_secs().min(i64::MAX as u64) as i64,
                tv_nsec: left.subsec_nanos().into(),
            }
        });
        match rustix::event::poll(&mut fds, Some(&timeout.unwrap_or(rustix::time::Timespec { tv_sec: 0, tv_nsec: 0 })))
        {
            Ok(_) => break,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    for (pollfd, &(userdata, ty, _)) in fds.iter().zip(&hosts) {
        let got = pollfd.revents();
        if got.is_empty() {
            continue;
        }
        let error = if got.contains(PollFlags::NVAL) {
            Errno::Badf
        } else if got.contains(PollFlags::ERR) {
            Errno::Io
        } else {
            Errno::Success
        };
        let flags = if got.contains(PollFlags::HUP) { EVENT_FD_READWRITE_HANGUP } else { 0 };
        events.push(Event { userdata, error, ty, nbytes: 0, flags });
    }
    Ok(())
}

/// Adds an event for every clock whose deadline has passed.
fn expired_clocks(waiting: &[Waiting], events: &mut Vec<Event>) {
    let now = Instant::now();
    for w in waiting {
        if let Waiting::Clock { userdata, deadline } = *w {
            if deadline <= now {
                events.push(Event { userdata, error: Errno::Success, ty: eventtype::CLOCK, nbytes: 0, flags: 0 });
            }
        }
    }
}

/// `poll_oneoff(in, out, nsubscriptions, nevents_ptr)`.
pub fn poll_oneoff(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    subs: u32,
    out: u32,
    nsubs: u32,
    nevents: u32,
) -> WasiResult<()> {
    if nsubs == 0 {
        return Err(Errno::Inval);
    }
    // Both arrays must be inside memory before anything happens.
    mem.slice(subs, nsubs.checked_mul(SUBSCRIPTION_SIZE).ok_or(Errno::Fault)?)?;
    mem.slice(out, nsubs.checked_mul(EVENT_SIZE).ok_or(Errno::Fault)?)?;
    let mut events = Vec::new();
    let mut waiting = Vec::new();
    for i in 0..nsubs {
        let at = subs + i * SUBSCRIPTION_SIZE;
        let userdata = mem.read_u64(at)?;
        let classified = match mem.read_u8(at + 8)? {
            eventtype::CLOCK => clock(mem, at, userdata)?,
            ty @ (eventtype::FD_READ | eventtype::FD_WRITE) => descriptor(ctx, mem, at, userdata, ty)?,
            _ => return Err(Errno::Inval),
        };
        match classified {
            Classified::Ready(event) => events.push(event),
            Classified::Waiting(w) => waiting.push(w),
        }
    }
    if events.is_empty() {
        let nearest = waiting
            .iter()
            .filter_map(|w| match *w {
                Waiting::Clock { deadline, .. } => Some(deadline),
                Waiting::Host { .. } => None,
            })
            .min()
            .unwrap_or_else(far_future);
        // Until something happens: `poll(2)` and `sleep` may return a
        // little early, and an empty answer would read as a timeout.
        while events.is_empty() {
            if waiting.iter().any(|w| matches!(w, Waiting::Host { .. })) {
                poll_host(&waiting, Some(nearest), &mut events)?;
            } else {
                std::thread::sleep(nearest.saturating_duration_since(Instant::now()));
            }
            expired_clocks(&waiting, &mut events);
        }
    } else {
        poll_host(&waiting, None, &mut events)?;
        expired_clocks(&waiting, &mut events);
    }
    for (i, e) in events.iter().enumerate() {
        let encoded = encode_event(e.userdata, e.error.raw(), e.ty, e.nbytes, e.flags);
        mem.write(out + i as u32 * EVENT_SIZE, &encoded)?;
    }
    mem.write_u32(nevents, events.len() as u32)
}

//! The parking table behind `memory.atomic.wait32/64` and
//! `memory.atomic.notify`.
//!
//! Waiters and notifiers meet at an address: the absolute address of the
//! waited-on integer in a shared memory's reservation. A shared memory
//! never moves and is mapped once per process, so every thread and every
//! store that imports it names the same cell by the same address, and a
//! process-wide table suffices. It is one mutex over a map from address
//! to the queue of threads parked there, oldest first (the spec wakes
//! waiters in the order they arrived).
//!
//! No wake-up can be lost: `wait` reads the value *under the table's
//! lock* and parks without releasing it in between (the condition
//! variable releases it atomically), and `notify` takes the same lock, so
//! a store followed by a notify in another thread either changes the
//! value before the read (the waiter returns "not equal") or finds the
//! waiter queued. A queued waiter is woken by setting its flag under the
//! lock; a spurious wake-up only goes round the loop again. A waiter whose
//! time runs out removes itself, so a later notify counts only the threads
//! it really woke.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// What a wait returned, as wasm numbers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitResult {
    /// Woken by a notify.
    Ok = 0,
    /// The value was not the expected one.
    NotEqual = 1,
    /// The timeout passed first.
    TimedOut = 2,
}

/// One parked thread.
#[derive(Default)]
struct Waiter {
    /// Set by the notify that wakes it; read and written only with the
    /// table's lock held, so the lock orders it.
    woken: AtomicBool,
    wake: Condvar,
}

type Table = BTreeMap<usize, VecDeque<Arc<Waiter>>>;

fn table() -> MutexGuard<'static, Table> {
    static TABLE: Mutex<Table> = Mutex::new(BTreeMap::new());
    // Nothing under the lock can panic halfway through an update.
    TABLE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The value at `addr` (a 4- or 8-byte integer), read atomically.
///
/// # Safety
/// `addr` must be naturally aligned for the integer and valid to read.
unsafe fn read(addr: *mut u8, wide: bool) -> u64 {
    if wide {
        // SAFETY: forwarded from the caller.
        unsafe { AtomicU64::from_ptr(addr.cast()) }.load(Ordering::SeqCst)
    } else {
        // SAFETY: forwarded from the caller.
        u64::from(unsafe { AtomicU32::from_ptr(addr.cast()) }.load(Ordering::SeqCst))
    }
}

/// Parks the calling thread on `addr` while the integer there (`u32`, or
/// `u64` if `wide`) equals `expected`, until a notify of `addr` or for at
/// most `timeout` (forever when `None`).
///
/// # Safety
/// `addr` must be naturally aligned for the integer and stay valid to
/// read for the call.
pub(crate) unsafe fn wait(addr: *mut u8, wide: bool, expected: u64, timeout: Option<Duration>) -> WaitResult {
    let mut table = table();
    // SAFETY: forwarded from the caller.
    if unsafe { read(addr, wide) } != expected {
        return WaitResult::NotEqual;
    }
    let key = addr as usize;
    let waiter = Arc::new(Waiter::default());
    table.entry(key).or_default().push_back(waiter.clone());
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    loop {
        if waiter.woken.load(Ordering::Relaxed) {
            return WaitResult::Ok;
        }
        table = match deadline {
            None => waiter.wake.wait(table).unwrap_or_else(PoisonError::into_inner),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    remove(&mut table, key, &waiter);
                    return WaitResult::TimedOut;
                }
                waiter.wake.wait_timeout(table, left).unwrap_or_else(PoisonError::into_inner).0
            }
        };
    }
}

/// Takes `waiter` out of `key`'s queue (it timed out).
fn remove(table: &mut Table, key: usize, waiter: &Arc<Waiter>) {
    if let Some(queue) = table.get_mut(&key) {
        queue.retain(|w| !Arc::ptr_eq(w, waiter));
        if queue.is_empty() {
            table.remove(&key);
        }
    }
}

/// Wakes at most `count` threads parked on `addr`, oldest first; returns
/// how many it woke.
pub(crate) fn notify(addr: *mut u8, count: u32) -> u32 {
    let mut table = table();
    let key = addr as usize;
    let Some(queue) = table.get_mut(&key) else { return 0 };
    let mut woken = 0;
    while woken < count {
        let Some(waiter) = queue.pop_front() else { break };
        waiter.woken.store(true, Ordering::Relaxed);
        waiter.wake.notify_one();
        woken += 1;
    }
    if queue.is_empty() {
        table.remove(&key);
    }
    woken
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_sees_the_value_and_the_timeout() {
        let mut cell = 7u64;
        let addr = (&raw mut cell).cast::<u8>();
        // SAFETY: a live, aligned local.
        unsafe {
            assert_eq!(wait(addr, true, 8, None), WaitResult::NotEqual);
            assert_eq!(wait(addr, true, 7, Some(Duration::from_millis(1))), WaitResult::TimedOut);
        }
        assert_eq!(notify(addr, 1), 0, "a waiter that timed out is gone");
    }

    #[test]
    fn notify_wakes_as_many_as_asked() {
        let cell = Box::leak(Box::new(0u32));
        let addr = (cell as *mut u32).cast::<u8>() as usize;
        let threads: Vec<_> = (0..3)
            // SAFETY: the cell is leaked, so it lives for the test.
            .map(|_| std::thread::spawn(move || unsafe { wait(addr as *mut u8, false, 0, None) }))
            .collect();
        // Wake them one at a time until all three are accounted for; a
        // thread not yet parked is simply not counted.
        let mut woken = 0;
        while woken < 3 {
            woken += notify(addr as *mut u8, 1);
            std::thread::yield_now();
        }
        for t in threads {
            assert_eq!(t.join().unwrap(), WaitResult::Ok);
        }
        assert_eq!(notify(addr as *mut u8, u32::MAX), 0);
    }
}

//! Thread stack bounds and alternate signal stacks.

use std::cell::Cell;
use std::io;

thread_local! {
    static STACK_BOTTOM: Cell<Option<Option<usize>>> = const { Cell::new(None) };
    static ALT_STACK: Cell<bool> = const { Cell::new(false) };
    static OWNED_ALT_STACK: std::cell::RefCell<Option<AltStack>> = const { std::cell::RefCell::new(None) };
}

/// The lowest usable address of the current thread's stack, if the OS tells
/// (cached per thread).
pub(crate) fn thread_stack_bottom() -> Option<usize> {
    STACK_BOTTOM.with(|cached| {
        if let Some(bottom) = cached.get() {
            return bottom;
        }
        let bottom = query_stack_bottom();
        cached.set(Some(bottom));
        bottom
    })
}

#[cfg(target_os = "linux")]
fn query_stack_bottom() -> Option<usize> {
    // SAFETY: pthread_getattr_np fills a zeroed attribute object for the
    // calling thread, which we destroy before returning; addr/size are plain
    // out parameters.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let rc = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        (rc == 0 && !addr.is_null()).then_some(addr as usize)
    }
}

#[cfg(not(target_os = "linux"))]
fn query_stack_bottom() -> Option<usize> {
    None
}

/// Size of the alternate signal stack kiln installs on threads that have
/// none.
const ALT_STACK_SIZE: usize = 64 * 1024;

/// An alternate signal stack we allocated: a guard page, then the stack.
struct AltStack {
    mapping: *mut libc::c_void,
    len: usize,
}

impl Drop for AltStack {
    fn drop(&mut self) {
        // SAFETY: disabling this thread's alternate stack is always allowed;
        // we only do so if it is still ours. Then the mapping is unused and
        // ours to unmap.
        unsafe {
            let mut current: libc::stack_t = std::mem::zeroed();
            if libc::sigaltstack(std::ptr::null(), &mut current) == 0
                && current.ss_sp == self.mapping.cast::<u8>().add(super::page_size()).cast()
            {
                let disable = libc::stack_t { ss_sp: std::ptr::null_mut(), ss_flags: libc::SS_DISABLE, ss_size: 0 };
                libc::sigaltstack(&disable, std::ptr::null_mut());
            }
            libc::munmap(self.mapping, self.len);
        }
    }
}

/// Makes sure the current thread has an alternate signal stack, so the
/// fault handler can run even when the fault is a stack overflow. Rust's
/// own threads have one; threads created elsewhere get one from us, freed
/// when the thread exits.
pub(crate) fn ensure_alt_stack() -> io::Result<()> {
    if ALT_STACK.with(Cell::get) {
        return Ok(());
    }
    // SAFETY: querying the current alternate stack has no side effects.
    let mut current: libc::stack_t = unsafe { std::mem::zeroed() };
    // SAFETY: `current` is a valid out parameter.
    if unsafe { libc::sigaltstack(std::ptr::null(), &mut current) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if current.ss_flags & libc::SS_DISABLE == 0 && current.ss_size >= libc::MINSIGSTKSZ {
        ALT_STACK.with(|c| c.set(true));
        return Ok(());
    }
    let page = super::page_size();
    let len = ALT_STACK_SIZE + page;
    // SAFETY: a fresh anonymous mapping; its first page stays PROT_NONE as a
    // guard and the rest is the stack.
    let mapping = unsafe {
        libc::mmap(std::ptr::null_mut(), len, libc::PROT_NONE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
    };
    if mapping == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let alt = AltStack { mapping, len };
    // SAFETY: inside the mapping just created.
    let stack = unsafe { mapping.cast::<u8>().add(page) };
    // SAFETY: as above.
    if unsafe { libc::mprotect(stack.cast(), ALT_STACK_SIZE, libc::PROT_READ | libc::PROT_WRITE) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let new = libc::stack_t { ss_sp: stack.cast(), ss_flags: 0, ss_size: ALT_STACK_SIZE };
    // SAFETY: the stack is a live mapping owned by `alt`, which stays in this
    // thread's storage until the thread exits and disables it first.
    if unsafe { libc::sigaltstack(&new, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    OWNED_ALT_STACK.with(|owned| *owned.borrow_mut() = Some(alt));
    ALT_STACK.with(|c| c.set(true));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_bottom_is_below_the_stack_pointer() {
        let sp = super::super::stack_pointer();
        let bottom = thread_stack_bottom().expect("Linux reports thread stacks");
        assert!(bottom < sp);
        assert!(sp - bottom < 64 * 1024 * 1024);
    }

    #[test]
    fn threads_without_an_alt_stack_get_one() {
        std::thread::spawn(|| {
            // Disable whatever the Rust runtime set up, then ask for one.
            let disable = libc::stack_t { ss_sp: std::ptr::null_mut(), ss_flags: libc::SS_DISABLE, ss_size: 0 };
            // SAFETY: disabling the alternate stack of this thread only.
            unsafe { libc::sigaltstack(&disable, std::ptr::null_mut()) };
            ensure_alt_stack().unwrap();
            // SAFETY: a plain query into a valid out parameter.
            let mut current: libc::stack_t = unsafe { std::mem::zeroed() };
            // SAFETY: as above.
            unsafe { libc::sigaltstack(std::ptr::null(), &mut current) };
            assert_eq!(current.ss_flags & libc::SS_DISABLE, 0);
            assert_eq!(current.ss_size, ALT_STACK_SIZE);
        })
        .join()
        .unwrap();
    }
}

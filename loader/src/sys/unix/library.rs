//! Opening libraries and finding their executable ranges (ELF:
//! `dl_iterate_phdr`; macOS would walk the dyld image list instead).

use std::ops::Range;
use std::path::Path;

/// Opens a library with every symbol bound now (`RTLD_NOW`), so a missing
/// host symbol is a load error rather than a crash at first call, and
/// privately (`RTLD_LOCAL`), so its symbols never satisfy other libraries.
///
/// # Safety
/// Loading a library runs its initializers and IFUNC resolvers and loads
/// its dependencies; the caller must have checked that it has none of
/// them (`module::dynamic`).
pub(crate) unsafe fn open_library(path: &Path) -> Result<libloading::Library, libloading::Error> {
    use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
    // SAFETY: forwarded from the caller.
    unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL) }.map(Into::into)
}

struct Search {
    address: usize,
    ranges: Vec<Range<usize>>,
}

unsafe extern "C" fn visit(info: *mut libc::dl_phdr_info, _size: libc::size_t, data: *mut libc::c_void) -> libc::c_int {
    // SAFETY: the dynamic loader passes a valid info record for the duration
    // of the callback, and `data` is the `Search` passed below.
    let (info, search) = unsafe { (&*info, &mut *data.cast::<Search>()) };
    let base = info.dlpi_addr as usize;
    // SAFETY: `dlpi_phdr` points to `dlpi_phnum` program headers.
    let headers = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) };
    let loads = headers.iter().filter(|h| h.p_type == libc::PT_LOAD);
    let range = |h: &libc::Elf64_Phdr| {
        let start = base.wrapping_add(h.p_vaddr as usize);
        start..start.wrapping_add(h.p_memsz as usize)
    };
    if !loads.clone().any(|h| range(h).contains(&search.address)) {
        return 0;
    }
    search.ranges = loads.filter(|h| h.p_flags & libc::PF_X != 0).map(range).collect();
    1
}

/// The executable segments of the loaded object that contains `address`.
pub(crate) fn code_ranges_containing(address: usize) -> Vec<Range<usize>> {
    let mut search = Search { address, ranges: Vec::new() };
    // SAFETY: `visit` only reads the records it is given and writes to the
    // `Search`, which outlives the call.
    unsafe { libc::dl_iterate_phdr(Some(visit), (&raw mut search).cast()) };
    search.ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_this_programs_code() {
        let f = code_ranges_containing as fn(usize) -> Vec<Range<usize>> as usize;
        let ranges = code_ranges_containing(f);
        assert!(ranges.iter().any(|r| r.contains(&f)), "{ranges:x?}");
    }
}

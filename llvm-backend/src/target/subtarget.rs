//! LLVM 19's own knowledge of a target's CPUs and features, through the
//! C++ shim `subtarget.cpp` (the C API has no way to list them or to say
//! which features a CPU implies). Nothing here is a hand-kept list: names
//! and implications are whatever the linked LLVM says.

use std::ffi::{CStr, CString, c_char};

unsafe extern "C" {
    fn kiln_subtarget_cpus(triple: *const c_char) -> *mut c_char;
    fn kiln_subtarget_feature_names(triple: *const c_char) -> *mut c_char;
    fn kiln_subtarget_enabled(triple: *const c_char, cpu: *const c_char, features: *const c_char) -> *mut c_char;
    fn kiln_subtarget_free(list: *mut c_char);
}

/// The CPU and feature names LLVM accepts for one target triple.
pub(crate) struct Subtarget {
    triple: CString,
    /// CPU names, sorted.
    pub cpus: Vec<String>,
    /// Feature names, sorted.
    pub features: Vec<String>,
}

impl Subtarget {
    /// LLVM's tables for `llvm_triple`; `None` if LLVM does not know it.
    /// The LLVM targets must be initialized.
    pub fn new(llvm_triple: &str) -> Option<Subtarget> {
        let triple = CString::new(llvm_triple).ok()?;
        // SAFETY: `triple` is a valid C string for the call.
        let cpus = take(unsafe { kiln_subtarget_cpus(triple.as_ptr()) })?;
        // SAFETY: as above.
        let features = take(unsafe { kiln_subtarget_feature_names(triple.as_ptr()) })?;
        Some(Subtarget { triple, cpus, features })
    }

    /// Whether LLVM knows CPU `name`.
    pub fn has_cpu(&self, name: &str) -> bool {
        self.cpus.binary_search_by(|c| c.as_str().cmp(name)).is_ok()
    }

    /// Whether LLVM knows feature `name` (without a sign).
    pub fn has_feature(&self, name: &str) -> bool {
        self.features.binary_search_by(|f| f.as_str().cmp(name)).is_ok()
    }

    /// The features LLVM enables for `cpu` with the signed feature list
    /// `features` (`+a`, `-b`, applied in order), tuning features aside.
    /// Every name must be one LLVM knows.
    pub fn enabled(&self, cpu: &str, features: &[String]) -> Vec<String> {
        let (Ok(cpu), Ok(features)) = (CString::new(cpu), CString::new(features.join(","))) else {
            return Vec::new();
        };
        // SAFETY: all three are valid C strings for the call.
        take(unsafe { kiln_subtarget_enabled(self.triple.as_ptr(), cpu.as_ptr(), features.as_ptr()) })
            .unwrap_or_default()
    }
}

/// The names in a list the shim returned, which is freed; `None` for null.
fn take(list: *mut c_char) -> Option<Vec<String>> {
    if list.is_null() {
        return None;
    }
    // SAFETY: the shim returns a NUL-terminated string it allocated.
    let text = unsafe { CStr::from_ptr(list) }.to_string_lossy().into_owned();
    // SAFETY: `list` came from the shim and is freed once, here.
    unsafe { kiln_subtarget_free(list) };
    let mut names: Vec<String> = text.split(',').filter(|n| !n.is_empty()).map(str::to_string).collect();
    names.sort();
    Some(names)
}

//! Modules linked into the running program from a static archive
//! (`kiln compile --emit a --prefix NAME`, or `kiln::build` in a build
//! script).
//!
//! There is no library to open and no file to check first: the program
//! declares the archive's two symbols, `NAME_kiln_metadata` and
//! `NAME_kiln_functions`, and hands their addresses and sizes to
//! [`StaticModule::new`]. Everything `Module::from_file` guarantees is
//! checked the same way from those: the metadata header, format version
//! and checksum, the target, pointer size and CPU features, the metadata's
//! indices against the function table's length, and that no slot the
//! module uses is null.
//!
//! The code range comes from the function table: a static archive's table
//! ends with the addresses of two local symbols that bound the module's
//! one code section (`kiln_abi::symbols::CODE_START`, `CODE_END`). The
//! range must be as long as the code the compiler recorded, and every
//! entry point must lie inside it; then it is registered for the fault
//! handler, so an out-of-bounds access in the module's code is a trap and
//! a fault anywhere else in the program is not claimed.

use std::ffi::c_void;

/// The two symbols of one statically linked kiln module, as a program
/// declares them. The generated bindings of `kiln::build` make one; by
/// hand:
///
/// ```ignore
/// unsafe extern "C" {
///     static plugin_kiln_metadata: [u8; 1024];          // the symbols' sizes,
///     static plugin_kiln_functions: [*const c_void; 8]; // from the archive
/// }
/// static PLUGIN: StaticModule = unsafe {
///     StaticModule::new("plugin", &raw const plugin_kiln_metadata as *const u8, 1024,
///                       &raw const plugin_kiln_functions as *const *const c_void, 8)
/// };
/// ```
#[derive(Clone, Copy, Debug)]
pub struct StaticModule {
    pub(super) name: &'static str,
    pub(super) metadata: *const u8,
    pub(super) metadata_len: usize,
    pub(super) functions: *const *const c_void,
    pub(super) function_slots: usize,
}

// SAFETY: the pointers refer to immutable data linked into the program,
// valid for its whole life and not tied to a thread.
unsafe impl Send for StaticModule {}
// SAFETY: as above; only ever read.
unsafe impl Sync for StaticModule {}

impl StaticModule {
    /// Describes the module whose symbols are `NAME_kiln_metadata`
    /// (`metadata_len` bytes at `metadata`) and `NAME_kiln_functions`
    /// (`function_slots` pointers at `functions`); `name` labels errors.
    ///
    /// # Safety
    /// Both must be the symbols of one static archive that kiln produced,
    /// linked into this program, with their sizes as the archive records
    /// them: the loader checks the metadata's integrity and every fact it
    /// can, but it runs the code the table points to.
    pub const unsafe fn new(
        name: &'static str,
        metadata: *const u8,
        metadata_len: usize,
        functions: *const *const c_void,
        function_slots: usize,
    ) -> StaticModule {
        StaticModule { name, metadata, metadata_len, functions, function_slots }
    }

    /// The name it was given.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

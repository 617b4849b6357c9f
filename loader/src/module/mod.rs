//! Loading a compiled library: check the file, `dlopen` it, read its
//! metadata in place, register its code for the fault handler. A module
//! linked into the program from a static archive takes the same checks
//! without the file and the `dlopen` ([`static_module`]).

mod compat;
mod dynamic;
mod error;
mod file;
mod static_module;
pub(crate) mod validate;

pub use error::{LoadError, LoadErrorKind};
pub use file::read_metadata;
pub use static_module::StaticModule;

use crate::Engine;
use crate::registry::{self, RangeKind, Registration};
use crate::signatures::{self, SigId};
use kiln_abi::ValType;
use kiln_abi::types::{GlobalType, TableType};
use kiln_abi::metadata::{ArchivedExternKind, ArchivedImportKind, ArchivedModuleMetadata, ExternKind};
use kiln_abi::{PtrSize, VMOffsets, artifact, symbols};
use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::Arc;

/// A loaded kiln library, ready to be instantiated any number of times.
/// Cheap to clone.
#[derive(Clone)]
pub struct Module {
    inner: Arc<ModuleInner>,
}

struct ModuleInner {
    engine: Engine,
    path: PathBuf,
    /// The archived metadata inside the mapped library.
    metadata: NonNull<ArchivedModuleMetadata>,
    /// The library's `kiln_functions` table.
    functions: NonNull<*const c_void>,
    /// Engine-wide signature id of each module type.
    sig_ids: Box<[SigId]>,
    offsets: VMOffsets,
    /// Unregisters the code before the library is unloaded (fields drop in
    /// order).
    _code: Registration,
    /// The library it came from; `None` for a module linked into the
    /// program ([`Module::from_static`]).
    _library: Option<libloading::Library>,
}

// SAFETY: the pointers refer to immutable data inside the library, which the
// module keeps loaded; nothing in it is tied to a thread.
unsafe impl Send for ModuleInner {}
// SAFETY: as above; shared access is read-only.
unsafe impl Sync for ModuleInner {}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module").field("path", &self.inner.path).finish_non_exhaustive()
    }
}

impl Module {
    /// Loads the kiln library at `path`.
    ///
    /// Before the dynamic loader sees the file, it is mapped and parsed: it
    /// must be a shared library with intact kiln metadata of this format
    /// version written by this runtime's build ([`crate::COMPILER_BUILD`]),
    /// built for this host's target, pointer size and CPU features; its
    /// dynamic segment must ask the dynamic loader to run none of its code
    /// (no initializers, finalizers or IFUNC resolvers) and to load no
    /// other library, and it may import only the allowed symbols. Then it
    /// is opened, its metadata is validated again in place (zero-copy) and
    /// checked for consistency, and its code is registered for the fault
    /// handler.
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module, LoadError> {
        let path = path.as_ref();
        let err = |kind: LoadErrorKind| kind.at(path);
        // A path without a slash would make the dynamic loader search its
        // library path instead of opening the file we check.
        let absolute = std::path::absolute(path).map_err(|e| err(LoadErrorKind::Io(e)))?;
        let facts = file::check_library(path)?;

        // SAFETY: `check_library` read this file as the dynamic loader
        // will: no initializers, finalizers, IFUNC resolvers or other
        // libraries to load, and only the allowed C functions to bind, so
        // `dlopen` runs none of its code. (A file rewritten between the
        // check and this call is not covered, as for any library that
        // changes while it is loaded; the header comparison below reports
        // a replaced one.)
        let library =
            unsafe { crate::sys::open_library(&absolute) }.map_err(|e| err(LoadErrorKind::Dlopen(e.to_string())))?;
        // SAFETY: we only take the symbol's address.
        let blob = unsafe { library.get::<*const u8>(symbols::METADATA.as_bytes()) }
            .map(|s| *s)
            .map_err(|_| err(LoadErrorKind::NotKiln))?;
        // SAFETY: as above.
        let functions = unsafe { library.get::<*const c_void>(symbols::FUNCTIONS.as_bytes()) }
            .map(|s| *s as *mut *const c_void)
            .map_err(|_| err(LoadErrorKind::MissingFunctions))?;
        let functions = NonNull::new(functions).ok_or_else(|| err(LoadErrorKind::MissingFunctions))?;

        // SAFETY: every kiln metadata symbol has at least a header.
        let header = unsafe { std::slice::from_raw_parts(blob, artifact::HEADER_SIZE) };
        let header = artifact::read_header(header).map_err(|e| err(LoadErrorKind::Metadata(e)))?;
        if header.blob_len() != facts.blob_len as u64 {
            return Err(err(LoadErrorKind::Dlopen("the library changed while it was being loaded".into())));
        }
        // SAFETY: the file check found `blob_len` bytes of this symbol in the
        // file's data, which the loader maps at the symbol's address, and
        // the mapped header announces the same length.
        let blob = unsafe { std::slice::from_raw_parts(blob, facts.blob_len) };
        let metadata =
            artifact::decode_for_build(blob, crate::COMPILER_BUILD).map_err(|e| err(LoadErrorKind::Metadata(e)))?;
        compat::check_host(metadata).map_err(err)?;
        validate::validate(metadata, facts.function_slots).map_err(|m| err(LoadErrorKind::InvalidMetadata(m)))?;
        let num_slots = facts.function_slots.unwrap_or(0);
        for slot in 0..num_slots {
            // SAFETY: the table has `num_slots` entries (its symbol's size).
            if unsafe { functions.as_ptr().add(slot).read() }.is_null() {
                return Err(err(LoadErrorKind::InvalidMetadata(format!("function table slot {slot} is null"))));
            }
        }

        // Found through the metadata (never empty, unlike the function table
        // of a module without functions). A library without code has none.
        let code = crate::sys::code_ranges_containing(blob.as_ptr() as usize);
        let sig_ids = engine
            .signatures()
            .register_module(metadata.types.iter().map(|t| t.ty.to_native()))
            .map_err(|t| err(LoadErrorKind::InvalidMetadata(format!("type {t} refers to itself or a later type"))))?
            .into_boxed_slice();
        let offsets = VMOffsets::new(PtrSize::HOST, &metadata.shape());
        Ok(Module {
            inner: Arc::new(ModuleInner {
                engine: engine.clone(),
                path: path.to_path_buf(),
                metadata: NonNull::from(metadata),
                functions,
                sig_ids,
                offsets,
                _code: registry::register(RangeKind::Code, code),
                _library: Some(library),
            }),
        })
    }

    /// The module linked into this program from a static archive whose
    /// symbols `handle` describes.
    ///
    /// The checks of [`Module::from_file`] apply: metadata header, format
    /// version, checksum and compiler build; target, pointer size and CPU
    /// features; the
    /// metadata's consistency with the function table's length; no null
    /// entry point. The module's code range, which the table's last two
    /// slots give, must hold every entry point and be exactly as long as
    /// the code the compiler recorded; it is registered so that
    /// out-of-bounds accesses in that code become traps. Errors name the
    /// module as `static:NAME`.
    pub fn from_static(engine: &Engine, handle: &StaticModule) -> Result<Module, LoadError> {
        let path = PathBuf::from(format!("static:{}", handle.name));
        let err = |kind: LoadErrorKind| kind.at(&path);
        let invalid = |m: String| err(LoadErrorKind::InvalidMetadata(m));
        if handle.metadata.is_null() || handle.metadata_len < artifact::HEADER_SIZE {
            return Err(err(LoadErrorKind::NotKiln));
        }
        // SAFETY: `StaticModule::new`'s caller promised `metadata_len`
        // readable bytes, which is at least a header.
        let bytes = unsafe { std::slice::from_raw_parts(handle.metadata, handle.metadata_len) };
        let header = artifact::read_header(&bytes[..artifact::HEADER_SIZE]).map_err(|e| err(LoadErrorKind::Metadata(e)))?;
        if header.blob_len() != handle.metadata_len as u64 {
            return Err(err(LoadErrorKind::MetadataLocation(format!(
                "the header announces {} bytes, the symbol has {}",
                header.blob_len(),
                handle.metadata_len
            ))));
        }
        let metadata =
            artifact::decode_for_build(bytes, crate::COMPILER_BUILD).map_err(|e| err(LoadErrorKind::Metadata(e)))?;
        compat::check_host(metadata).map_err(err)?;

        let functions = NonNull::new(handle.functions.cast_mut()).ok_or_else(|| err(LoadErrorKind::MissingFunctions))?;
        let num_slots = handle.function_slots.checked_sub(symbols::CODE_RANGE_SLOTS).ok_or_else(|| {
            invalid(format!("the function table has {} entries, too few for the code range", handle.function_slots))
        })?;
        validate::validate(metadata, Some(num_slots)).map_err(invalid)?;
        // SAFETY: the table has `function_slots` entries (the caller's
        // promise), which is `num_slots` plus the two of the code range.
        let slots = unsafe { std::slice::from_raw_parts(handle.functions, handle.function_slots) };
        let code = slots[num_slots] as usize..slots[num_slots + 1] as usize;
        if code.end.checked_sub(code.start) != Some(metadata.code_size.to_native() as usize) {
            return Err(invalid(format!(
                "the code range {:#x}..{:#x} is not the {} bytes of code the compiler recorded",
                code.start, code.end, metadata.code_size
            )));
        }
        for (slot, &entry) in slots[..num_slots].iter().enumerate() {
            if entry.is_null() || !code.contains(&(entry as usize)) {
                return Err(invalid(format!("function table slot {slot} does not point into the module's code")));
            }
        }

        let sig_ids = engine
            .signatures()
            .register_module(metadata.types.iter().map(|t| t.ty.to_native()))
            .map_err(|t| invalid(format!("type {t} refers to itself or a later type")))?
            .into_boxed_slice();
        let offsets = VMOffsets::new(PtrSize::HOST, &metadata.shape());
        Ok(Module {
            inner: Arc::new(ModuleInner {
                engine: engine.clone(),
                path,
                metadata: NonNull::from(metadata),
                functions,
                sig_ids,
                offsets,
                _code: registry::register(RangeKind::Code, std::iter::once(code)),
                _library: None,
            }),
        })
    }

    /// The module's metadata, read in place from the library.
    pub fn metadata(&self) -> &ArchivedModuleMetadata {
        // SAFETY: validated by `decode` at load; the library stays loaded as
        // long as `self`.
        unsafe { self.inner.metadata.as_ref() }
    }

    /// The file it was loaded from; `static:NAME` for a module linked into
    /// the program.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The engine it was loaded into.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Its imports in declaration order: module, name, kind.
    pub fn imports(&self) -> impl Iterator<Item = (&str, &str, ExternKind)> {
        self.metadata().imports.iter().map(|i| {
            let kind = match i.kind {
                ArchivedImportKind::Func(_) => ExternKind::Func,
                ArchivedImportKind::Table(_) => ExternKind::Table,
                ArchivedImportKind::Memory(_) => ExternKind::Memory,
                ArchivedImportKind::Global(_) => ExternKind::Global,
                ArchivedImportKind::Tag(_) => ExternKind::Tag,
            };
            (i.module.as_str(), i.name.as_str(), kind)
        })
    }

    /// Its memory imports in declaration order: module, name and the
    /// declared type (a host must provide a shared memory for a `shared`
    /// one, see [`SharedMemory`](crate::SharedMemory)).
    pub fn memory_imports(&self) -> impl Iterator<Item = (&str, &str, kiln_abi::types::MemoryType)> {
        self.metadata().imports.iter().filter_map(|i| match &i.kind {
            ArchivedImportKind::Memory(ty) => Some((i.module.as_str(), i.name.as_str(), ty.to_native())),
            _ => None,
        })
    }

    /// Its exports in declaration order: name, kind.
    pub fn exports(&self) -> impl Iterator<Item = (&str, ExternKind)> {
        self.metadata().exports.iter().map(|e| {
            let kind = match e.kind {
                ArchivedExternKind::Func => ExternKind::Func,
                ArchivedExternKind::Table => ExternKind::Table,
                ArchivedExternKind::Memory => ExternKind::Memory,
                ArchivedExternKind::Global => ExternKind::Global,
                ArchivedExternKind::Tag => ExternKind::Tag,
            };
            (e.name.as_str(), kind)
        })
    }

    pub(crate) fn offsets(&self) -> &VMOffsets {
        &self.inner.offsets
    }

    pub(crate) fn sig_ids(&self) -> &[SigId] {
        &self.inner.sig_ids
    }

    /// A type of this module's metadata in canonical form (concrete heap
    /// types as engine-wide signature ids; see `signatures`).
    pub(crate) fn canonical(&self, ty: ValType) -> ValType {
        signatures::canonical_val_type(ty, &self.inner.sig_ids)
    }

    /// [`Module::canonical`] of a table type.
    pub(crate) fn canonical_table(&self, ty: TableType) -> TableType {
        TableType { element: signatures::canonical_ref_type(ty.element, &self.inner.sig_ids), ..ty }
    }

    /// [`Module::canonical`] of a global type.
    pub(crate) fn canonical_global(&self, ty: GlobalType) -> GlobalType {
        GlobalType { content: self.canonical(ty.content), ..ty }
    }

    /// Entry `slot` of the function table (validated at load to exist).
    pub(crate) fn slot(&self, slot: u32) -> *const c_void {
        // SAFETY: `validate` checked every slot the metadata uses against
        // the table's size.
        unsafe { self.inner.functions.as_ptr().add(slot as usize).read() }
    }
}

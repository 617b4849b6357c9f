//! Reading a library file without loading it: find the metadata blob and
//! the function table, and check what can be checked before any of the
//! file's code could run.

use super::{LoadError, LoadErrorKind, compat, dynamic};
use kiln_abi::artifact::{self, OwnedMetadata};
use kiln_abi::metadata::ArchivedModuleMetadata;
use kiln_abi::seal::{self, SealError};
use kiln_abi::symbols;
use object::{BinaryFormat, Object, ObjectKind, ObjectSection, ObjectSymbol};
use std::path::Path;

/// What the pre-load check learned about a library.
#[derive(Debug)]
pub(crate) struct LibraryFacts {
    /// Length of the metadata blob (header + payload).
    pub blob_len: usize,
    /// Number of entries in the function table, if the file records it.
    pub function_slots: Option<usize>,
}

fn map(path: &Path) -> Result<memmap2::Mmap, LoadError> {
    let file = std::fs::File::open(path).map_err(|e| LoadErrorKind::Io(e).at(path))?;
    // SAFETY: the mapping is read-only and its contents are treated as
    // untrusted bytes. If another process truncates the file meanwhile,
    // reads may fault (SIGBUS) and the process dies; that is the accepted
    // cost of not copying libraries into memory.
    unsafe { memmap2::Mmap::map(&file) }.map_err(|e| LoadErrorKind::Io(e).at(path))
}

fn parse<'a>(path: &Path, data: &'a [u8]) -> Result<object::File<'a>, LoadError> {
    object::File::parse(data).map_err(|e| LoadErrorKind::Malformed(e.to_string()).at(path))
}

/// The name a C symbol has in an object of `format` (Mach-O prefixes `_`).
fn mangled(format: BinaryFormat, name: &str) -> String {
    match format {
        BinaryFormat::MachO => format!("_{name}"),
        _ => name.to_string(),
    }
}

/// A defined symbol named `name`, looked up among dynamic symbols first.
fn find_symbol<'d, 'f>(file: &'f object::File<'d>, name: &str) -> Option<object::Symbol<'d, 'f>> {
    let name = mangled(file.format(), name);
    let wanted = |s: &object::Symbol<'d, 'f>| !s.is_undefined() && s.name_bytes().ok() == Some(name.as_bytes());
    file.dynamic_symbols().find(wanted).or_else(|| file.symbols().find(wanted))
}

/// Where a symbol's bytes lie: its address, and its size if the file
/// records one (0 otherwise).
#[derive(Clone, Copy)]
struct Location {
    address: u64,
    size: u64,
    /// The section, when a symbol table names it (sections of a relocatable
    /// object all start at address 0).
    section: Option<object::SectionIndex>,
}

/// Finds the defined symbol `name` in the symbol tables (ELF, Mach-O,
/// relocatable COFF), else in the export table (a PE DLL has no symbol
/// table; its exports carry addresses only).
fn locate(file: &object::File<'_>, name: &str) -> Option<Location> {
    if let Some(symbol) = find_symbol(file, name) {
        return Some(Location { address: symbol.address(), size: symbol.size(), section: symbol.section_index() });
    }
    let name = mangled(file.format(), name);
    let exports = file.exports().ok()?;
    exports.filter_map(Result::ok).find_map(|export| match (export.name(), export.target()) {
        (object::NameOrOrdinal::Name(n), object::ExportTarget::Address { address }) if n == name.as_bytes() => {
            Some(Location { address, size: 0, section: None })
        }
        _ => None,
    })
}

/// The file bytes a symbol covers: its size if recorded, else up to the end
/// of the section that contains it.
fn symbol_bytes<'a>(file: &object::File<'a>, data: &'a [u8], symbol: Location) -> Result<&'a [u8], LoadErrorKind> {
    let location = |what: &str| LoadErrorKind::MetadataLocation(what.to_string());
    let section = match symbol.section {
        Some(index) => file.section_by_index(index).map_err(|e| location(&e.to_string()))?,
        None => file
            .sections()
            .find(|s| (s.address()..s.address().saturating_add(s.size())).contains(&symbol.address))
            .ok_or_else(|| location("it is not in a section"))?,
    };
    let (offset, size) = section.file_range().ok_or_else(|| location("its section has no file data"))?;
    let start = symbol.address.checked_sub(section.address()).filter(|&s| s <= size);
    let start = start.ok_or_else(|| location("it lies outside its section's file data"))?;
    let available = size - start;
    let len = match symbol.size {
        0 => available,
        n if n <= available => n,
        _ => return Err(LoadErrorKind::Malformed("the metadata symbol extends past its section".into())),
    };
    let begin = usize::try_from(offset + start).ok();
    let end = begin.and_then(|b| b.checked_add(usize::try_from(len).ok()?));
    match (begin, end) {
        (Some(b), Some(e)) if e <= data.len() => Ok(&data[b..e]),
        _ => Err(LoadErrorKind::Malformed("the metadata lies past the end of the file".into())),
    }
}

fn metadata_bytes<'a>(path: &Path, file: &object::File<'a>, data: &'a [u8]) -> Result<&'a [u8], LoadError> {
    let symbol = locate(file, symbols::METADATA).ok_or_else(|| LoadErrorKind::NotKiln.at(path))?;
    symbol_bytes(file, data, symbol).map_err(|k| k.at(path))
}

/// Reads the metadata of any kiln artifact (a library, an object file or
/// a static archive), for any target, without loading it: an ELF `.so`, a
/// Mach-O `.dylib` (symbol `_kiln_metadata`), a PE `.dll` (found through
/// its export table), or a `.a`/`.lib` (the member that defines
/// `PREFIX_kiln_metadata`), whatever the host.
pub fn read_metadata(path: impl AsRef<Path>) -> Result<OwnedMetadata, LoadError> {
    let path = path.as_ref();
    let data = map(path)?;
    let blob = if data.starts_with(ARCHIVE_MAGIC) {
        archive_metadata_bytes(path, &data)?
    } else {
        let file = parse(path, &data)?;
        metadata_bytes(path, &file, &data)?
    };
    OwnedMetadata::from_blob(blob).map_err(|e| LoadErrorKind::Metadata(e).at(path))
}

/// How every `ar` archive (GNU, BSD or COFF `.lib`) starts.
const ARCHIVE_MAGIC: &[u8] = b"!<arch>\n";

/// The metadata blob of a static archive: the bytes of the one global
/// symbol whose name ends in `_kiln_metadata` (the prefix is the user's).
fn archive_metadata_bytes<'a>(path: &Path, data: &'a [u8]) -> Result<&'a [u8], LoadError> {
    let malformed = |e: object::Error| LoadErrorKind::Malformed(e.to_string()).at(path);
    let archive = object::read::archive::ArchiveFile::parse(data).map_err(malformed)?;
    let suffix = format!("_{}", symbols::METADATA);
    for member in archive.members() {
        let bytes = member.map_err(malformed)?.data(data).map_err(malformed)?;
        // Members that are not objects (none in kiln's archives) are skipped.
        let Ok(file) = object::File::parse(bytes) else { continue };
        let metadata = file.symbols().find(|s| {
            s.is_global() && !s.is_undefined() && s.name().is_ok_and(|name| name.ends_with(&suffix))
        });
        if let Some(symbol) = metadata {
            let location = Location { address: symbol.address(), size: symbol.size(), section: symbol.section_index() };
            return symbol_bytes(&file, bytes, location).map_err(|k| k.at(path));
        }
    }
    Err(LoadErrorKind::NotKiln.at(path))
}

/// Checks the blob's integrity and that this runtime's build wrote it,
/// then validates it where it lies when it is aligned (a library's data
/// keeps its in-memory alignment in the file), else on a copy, and runs
/// `f` on the result.
fn with_metadata<R>(blob: &[u8], f: impl FnOnce(&ArchivedModuleMetadata) -> R) -> Result<R, LoadErrorKind> {
    if (blob.as_ptr() as usize).is_multiple_of(artifact::ALIGN) {
        return artifact::decode_for_build(blob, crate::COMPILER_BUILD).map(f).map_err(LoadErrorKind::Metadata);
    }
    let owned = OwnedMetadata::from_blob_for_build(blob, crate::COMPILER_BUILD).map_err(LoadErrorKind::Metadata)?;
    Ok(f(owned.get()))
}

/// Everything checked before `dlopen`: its seal matches its bytes
/// ([`seal`]), it is a shared library carrying intact kiln metadata
/// written by this runtime's build for this host, loading it runs none of
/// its code and loads no other library ([`dynamic`]), and it imports
/// nothing but the allowed symbols.
///
/// A damaged library is refused as such before anything else is read. A
/// file without a seal is read on, so that one kiln did not link, or one
/// of another format version, is refused for that reason; one that passes
/// every other check is refused for its missing seal.
pub(crate) fn check_library(path: &Path) -> Result<LibraryFacts, LoadError> {
    let mapped = map(path)?;
    let sealed = seal::unseal(&mapped);
    let data = match sealed {
        Ok(content) => content,
        Err(SealError::Missing) => &mapped[..],
        Err(damaged) => return Err(LoadErrorKind::Seal(damaged).at(path)),
    };
    let facts = check_content(path, data)?;
    sealed.map_err(|e| LoadErrorKind::Seal(e).at(path))?;
    Ok(facts)
}

/// The checks of [`check_library`] after the seal's, on the library's
/// bytes without the seal.
fn check_content(path: &Path, data: &[u8]) -> Result<LibraryFacts, LoadError> {
    let file = parse(path, data)?;
    match file.kind() {
        ObjectKind::Dynamic => {}
        ObjectKind::Executable => return Err(LoadErrorKind::NotALibrary("an executable").at(path)),
        ObjectKind::Relocatable => return Err(LoadErrorKind::NotALibrary("a relocatable object file").at(path)),
        _ => return Err(LoadErrorKind::NotALibrary("an object file of unknown kind").at(path)),
    }
    let blob = metadata_bytes(path, &file, data)?;
    let header = artifact::read_header(blob).map_err(|e| LoadErrorKind::Metadata(e).at(path))?;
    with_metadata(blob, compat::check_host).and_then(|r| r).map_err(|k| k.at(path))?;
    let blob_len = usize::try_from(header.blob_len()).map_err(|_| LoadErrorKind::NotKiln.at(path))?;
    if file.format() != BinaryFormat::Elf {
        return Err(LoadErrorKind::NotKilnLinked("it is not an ELF file".into()).at(path));
    }
    dynamic::check(data).map_err(|k| k.at(path))?;

    for symbol in file.dynamic_symbols().filter(|s| s.is_undefined()) {
        let name = symbol.name().unwrap_or("<unnamed>");
        if !name.is_empty() && !symbols::ALLOWED_UNDEFINED.iter().any(|allowed| mangled(file.format(), allowed) == name)
        {
            return Err(LoadErrorKind::UndefinedSymbol(name.to_string()).at(path));
        }
    }

    let functions = find_symbol(&file, symbols::FUNCTIONS).ok_or_else(|| LoadErrorKind::MissingFunctions.at(path))?;
    // ELF records symbol sizes (0 for an empty table); elsewhere 0 may mean
    // "unknown".
    let function_slots = match (functions.size(), file.format()) {
        (0, BinaryFormat::Elf) => Some(0),
        (0, _) => None,
        (bytes, _) => Some(bytes as usize / std::mem::size_of::<usize>()),
    };
    Ok(LibraryFacts { blob_len, function_slots })
}

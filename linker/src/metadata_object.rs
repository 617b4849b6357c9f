//! The object file that carries a module's metadata blob.
//!
//! The blob goes in a read-only data section of its own, 16-byte aligned,
//! under one global symbol whose size is the blob's size, so both `dlsym`
//! and a reader of the file (`kiln inspect`) find it. The object has the
//! target's format and the header facts its linker checks: RISC-V's float
//! ABI flags, the macOS build version.
//!
//! For a Windows DLL, the object also defines `_fltused`: LLVM references
//! it from every MSVC object that uses floating point, for the C runtime,
//! which a kiln DLL does not link. A static `.lib` leaves it to the C
//! runtime of the program it is linked into.

use crate::LinkError;
use kiln_abi::symbols;
use kiln_abi::target::Target;
use object::write::{MachOBuildVersion, Object, StandardSection, Symbol, SymbolSection};
use object::{Architecture, BinaryFormat, Endianness, FileFlags, SymbolFlags, SymbolKind, SymbolScope, elf, macho};

/// The object format and architecture of `target`, as `object` names them.
pub(crate) fn object_kind(target: &Target) -> Result<(BinaryFormat, Architecture), LinkError> {
    let arch = match target.architecture() {
        target_lexicon::Architecture::X86_64 => Architecture::X86_64,
        target_lexicon::Architecture::Aarch64(_) => Architecture::Aarch64,
        target_lexicon::Architecture::Riscv64(_) => Architecture::Riscv64,
        _ => return Err(LinkError::UnsupportedTarget(target.name())),
    };
    let format = match target.binary_format() {
        target_lexicon::BinaryFormat::Elf => BinaryFormat::Elf,
        target_lexicon::BinaryFormat::Macho => BinaryFormat::MachO,
        target_lexicon::BinaryFormat::Coff => BinaryFormat::Coff,
        _ => return Err(LinkError::UnsupportedTarget(target.name())),
    };
    Ok((format, arch))
}

/// A macOS version `major.minor`, as Mach-O records it.
fn macho_version(version: &str) -> macho::Version {
    let mut parts = version.split('.').map(|p| p.parse::<u16>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    macho::Version::new(major, minor as u8, 0)
}

/// What the metadata object goes into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MetadataFor {
    /// A shared library (or a relocatable object linked like one).
    SharedLibrary,
    /// A static archive, linked into a program with a C runtime.
    StaticLibrary,
}

/// Builds a relocatable object defining the metadata symbol, for a shared
/// library.
pub fn metadata_object(target: &Target, blob: &[u8], prefix: Option<&str>) -> Result<Vec<u8>, LinkError> {
    metadata_object_for(target, blob, prefix, MetadataFor::SharedLibrary)
}

/// [`metadata_object`] for what `purpose` names.
pub(crate) fn metadata_object_for(
    target: &Target,
    blob: &[u8],
    prefix: Option<&str>,
    purpose: MetadataFor,
) -> Result<Vec<u8>, LinkError> {
    let (format, arch) = object_kind(target)?;
    let mut obj = Object::new(format, arch, Endianness::Little);
    match format {
        BinaryFormat::Elf if arch == Architecture::Riscv64 => {
            // lp64d with compressed instructions, as LLVM marks the code objects.
            let e_flags = elf::EF_RISCV_FLOAT_ABI_DOUBLE | elf::EF_RISCV_RVC;
            obj.flags = FileFlags::Elf { os_abi: elf::ELFOSABI_NONE, abi_version: 0, e_flags };
        }
        BinaryFormat::MachO => {
            let mut version = MachOBuildVersion::default();
            version.platform = macho::PLATFORM_MACOS;
            version.minos = macho_version(kiln_abi::target::MACOS_MIN_VERSION);
            version.sdk = version.minos;
            obj.set_macho_build_version(version);
        }
        _ => {}
    }
    let section = obj.section_id(StandardSection::ReadOnlyData);
    let offset = obj.append_section_data(section, blob, kiln_abi::artifact::ALIGN as u64);
    obj.add_symbol(Symbol {
        name: symbols::metadata_symbol(prefix).into_bytes(),
        value: offset,
        size: blob.len() as u64,
        kind: SymbolKind::Data,
        scope: SymbolScope::Dynamic,
        weak: false,
        section: SymbolSection::Section(section),
        flags: SymbolFlags::None,
    });
    if format == BinaryFormat::Coff && purpose == MetadataFor::SharedLibrary {
        // The value MSVC's C runtime gives it.
        let offset = obj.append_section_data(section, &0x9875u32.to_le_bytes(), 4);
        obj.add_symbol(Symbol {
            name: b"_fltused".to_vec(),
            value: offset,
            size: 4,
            kind: SymbolKind::Data,
            scope: SymbolScope::Linkage,
            weak: false,
            section: SymbolSection::Section(section),
            flags: SymbolFlags::None,
        });
    }
    obj.write().map_err(|e| LinkError::Verification(format!("cannot write the metadata object: {e}")))
}

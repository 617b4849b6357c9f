//! The object file that carries a module's metadata blob.
//!
//! The blob goes in a read-only data section of its own, 16-byte aligned,
//! under one global symbol whose size is the blob's size, so both `dlsym`
//! and a reader of the file (`kiln inspect`) find it.

use crate::LinkError;
use kiln_abi::symbols;
use kiln_abi::target::Target;
use object::write::{Object, StandardSection, Symbol, SymbolSection};
use object::{Architecture, BinaryFormat, Endianness, SymbolFlags, SymbolKind, SymbolScope};

/// Builds a relocatable object defining the metadata symbol.
pub fn metadata_object(target: &Target, blob: &[u8], prefix: Option<&str>) -> Result<Vec<u8>, LinkError> {
    let arch = match target.architecture() {
        target_lexicon::Architecture::X86_64 => Architecture::X86_64,
        target_lexicon::Architecture::Aarch64(_) => Architecture::Aarch64,
        _ => return Err(LinkError::UnsupportedTarget(target.name())),
    };
    let mut obj = Object::new(BinaryFormat::Elf, arch, Endianness::Little);
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
    obj.write().map_err(|e| LinkError::Verification(format!("cannot write the metadata object: {e}")))
}

//! Static archives (`.a`, and `.lib` for Windows), written in process.
//!
//! A static archive is meant to be linked into a program together with
//! other modules' archives, so it must not define anything a program or
//! another module could also define:
//!
//! * the two kiln symbols carry the user's prefix (`NAME_kiln_metadata`,
//!   `NAME_kiln_functions`) and are the only global definitions;
//! * every other definition is made local to its object here. The compiler
//!   already gives wasm functions and trampolines internal linkage; what is
//!   left are the Windows definitions of `memcpy`, `memmove`, `memset` and
//!   `__chkstk` (which would clash with the C runtime's). The metadata
//!   object of a `.lib` does not define `_fltused`: the program's C runtime
//!   does, and kiln's code refers to it;
//! * the code object's function table ends with the addresses of
//!   [`symbols::CODE_START`] and [`symbols::CODE_END`], which the compiler
//!   leaves undefined and this module defines, locally, at the start and
//!   the end of the object's one code section. A section is never split by
//!   a linker, so in the final program the two bound exactly the module's
//!   code, which the runtime registers for its fault handler.
//!
//! The symbols are rewritten with `object`. ELF: the code and metadata
//! objects are first joined into one by `ld.lld -r` (which also gives the
//! object a separate section-name table, as `object`'s builder needs), then
//! rewritten by the builder, which keeps local symbols before global ones
//! and renumbers relocations. COFF: the fixed-size symbol records are
//! patched in place; code and metadata stay two members. The archive is
//! written by `ar_archive_writer`, the writer rustc uses (LLVM's, ported):
//! GNU format with a symbol table for ELF, the COFF format with both linker
//! members for Windows. Member names are fixed and timestamps, owners and
//! modes zero, so the same input gives the same bytes.
//!
//! Mach-O is not supported yet: its symbol table must stay sorted into
//! local, external and undefined ranges, which in-place patching cannot
//! keep, and `object` has no Mach-O builder.

use crate::metadata_object::{MetadataFor, metadata_object_for};
use crate::{LinkError, LinkRequest};
use ar_archive_writer::{ArchiveKind, DEFAULT_OBJECT_READER, NewArchiveMember, write_archive_to_stream};
use kiln_abi::symbols;
use object::build::elf::Builder;
use object::{Object, ObjectSection, ObjectSymbol, SectionKind, elf};
use std::io::Cursor;
use target_lexicon::BinaryFormat;

/// Builds the archive's bytes for `request` (whose prefix is valid).
pub(crate) fn build(request: &LinkRequest<'_>, prefix: &str) -> Result<Vec<u8>, LinkError> {
    let target = request.target;
    let keep = [symbols::functions_symbol(Some(prefix)), symbols::metadata_symbol(Some(prefix))];
    let [code] = request.objects else {
        return Err(LinkError::Verification(format!(
            "a static archive takes one code object, got {}",
            request.objects.len()
        )));
    };
    let meta = metadata_object_for(target, request.metadata, Some(prefix), MetadataFor::StaticLibrary)?;
    let (members, kind) = match target.binary_format() {
        BinaryFormat::Elf => {
            let joined = crate::join_objects(request, &[code, &meta])?;
            let member =
                NewArchiveMember::new(localize_elf(&joined, &keep)?, &DEFAULT_OBJECT_READER, format!("{prefix}.o"));
            (vec![member], ArchiveKind::Gnu)
        }
        BinaryFormat::Coff => {
            let members = vec![
                NewArchiveMember::new(localize_coff(code, &keep)?, &DEFAULT_OBJECT_READER, format!("{prefix}.obj")),
                NewArchiveMember::new(meta, &DEFAULT_OBJECT_READER, format!("{prefix}-metadata.obj")),
            ];
            (members, ArchiveKind::Coff)
        }
        _ => {
            return Err(LinkError::UnsupportedOutput { target: target.name(), what: "a static library" });
        }
    };
    let mut out = Cursor::new(Vec::new());
    write_archive_to_stream(&mut out, &members, kind, false, Some(false))
        .map_err(|e| LinkError::Verification(format!("cannot write the archive: {e}")))?;
    Ok(out.into_inner())
}

fn malformed(e: impl std::fmt::Display) -> LinkError {
    LinkError::Verification(format!("cannot rewrite the code object: {e}"))
}

/// The one code section of `file`: its index and size.
fn code_section<'a>(file: &object::File<'a>) -> Result<(object::SectionIndex, u64), LinkError> {
    let mut text = file.sections().filter(|s| s.kind() == SectionKind::Text);
    match (text.next(), text.next()) {
        (Some(s), None) => Ok((s.index(), s.size())),
        _ => Err(LinkError::Verification("the code object does not have exactly one code section".into())),
    }
}

/// ELF: defines the code markers and makes every global definition but
/// `keep` local.
fn localize_elf(data: &[u8], keep: &[String]) -> Result<Vec<u8>, LinkError> {
    let file = object::File::parse(data).map_err(malformed)?;
    let (_, size) = code_section(&file)?;
    let mut builder = Builder::read(data).map_err(malformed)?;
    let text = builder
        .sections
        .iter()
        .find(|s| s.sh_flags.contains(elf::SHF_EXECINSTR))
        .map(|s| s.id())
        .ok_or_else(|| malformed("no code section"))?;
    let mut markers = 0;
    for sym in builder.symbols.iter_mut() {
        let name = sym.name.to_vec();
        let marker =
            [(symbols::CODE_START, 0), (symbols::CODE_END, size)].into_iter().find(|(m, _)| m.as_bytes() == &name[..]);
        if let Some((_, value)) = marker {
            sym.section = Some(text);
            sym.st_value = value;
            sym.st_size = 0;
            sym.st_info = elf::SymbolInfo::new(elf::STB_LOCAL, elf::STT_NOTYPE);
            sym.st_other = sym.st_other.with_visibility(elf::STV_DEFAULT);
            markers += 1;
            continue;
        }
        let defined = sym.section.is_some() || sym.st_shndx != elf::SHN_UNDEF;
        let global = sym.st_info.st_bind() != elf::STB_LOCAL;
        if defined && global && !keep.iter().any(|k| k.as_bytes() == &name[..]) {
            sym.st_info = elf::SymbolInfo::new(elf::STB_LOCAL, sym.st_info.st_type());
            sym.st_other = sym.st_other.with_visibility(elf::STV_DEFAULT);
        }
    }
    if markers != 2 {
        return Err(malformed("the function table does not refer to both code markers"));
    }
    let mut out = Vec::new();
    builder.write(&mut out).map_err(malformed)?;
    Ok(out)
}

/// `IMAGE_SYM_CLASS_EXTERNAL` and `IMAGE_SYM_CLASS_STATIC`.
const COFF_EXTERNAL: u8 = object::pe::IMAGE_SYM_CLASS_EXTERNAL.0;
const COFF_STATIC: u8 = object::pe::IMAGE_SYM_CLASS_STATIC.0;
/// Size of one COFF symbol record, and where its fields are.
const COFF_SYMBOL_SIZE: usize = 18;
const COFF_VALUE: usize = 8;
const COFF_SECTION_NUMBER: usize = 12;
const COFF_STORAGE_CLASS: usize = 16;

/// COFF: the same as [`localize_elf`], by patching symbol records in place
/// (relocations name symbols by index, which does not change). A static
/// symbol is the COFF spelling of a local one.
fn localize_coff(data: &[u8], keep: &[String]) -> Result<Vec<u8>, LinkError> {
    let file = object::File::parse(data).map_err(malformed)?;
    let (text, size) = code_section(&file)?;
    let symbol_table = u32::from_le_bytes(data[8..12].try_into().map_err(malformed)?) as usize;
    let mut out = data.to_vec();
    let mut markers = 0;
    for sym in file.symbols() {
        let name = sym.name().map_err(malformed)?;
        let record = symbol_table + sym.index().0 * COFF_SYMBOL_SIZE;
        let Some(fields) = out.get_mut(record..record + COFF_SYMBOL_SIZE) else {
            return Err(malformed("symbol record out of range"));
        };
        let marker = [(symbols::CODE_START, 0), (symbols::CODE_END, size)].into_iter().find(|(m, _)| *m == name);
        if let Some((_, value)) = marker {
            let value = u32::try_from(value).map_err(malformed)?;
            let section = u16::try_from(text.0).map_err(malformed)?;
            fields[COFF_VALUE..COFF_VALUE + 4].copy_from_slice(&value.to_le_bytes());
            fields[COFF_SECTION_NUMBER..COFF_SECTION_NUMBER + 2].copy_from_slice(&section.to_le_bytes());
            fields[COFF_STORAGE_CLASS] = COFF_STATIC;
            markers += 1;
        } else if i16::from_le_bytes([fields[COFF_SECTION_NUMBER], fields[COFF_SECTION_NUMBER + 1]]) > 0
            && fields[COFF_STORAGE_CLASS] == COFF_EXTERNAL
            && !keep.iter().any(|k| k == name)
        {
            fields[COFF_STORAGE_CLASS] = COFF_STATIC;
        }
    }
    if markers != 2 {
        return Err(malformed("the function table does not refer to both code markers"));
    }
    Ok(out)
}

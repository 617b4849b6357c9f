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
//! One file per format does the rewrite. ELF ([`elf`]): the code and
//! metadata objects are first joined into one by `ld.lld -r` (which also
//! gives the object a separate section-name table, as `object`'s builder
//! needs), then rewritten by `object`'s builder, which keeps local symbols
//! before global ones and renumbers relocations. COFF ([`coff`]): the
//! fixed-size symbol records are patched in place; code and metadata stay
//! two members. Mach-O ([`macho`]): the symbol table is re-sorted into its
//! local, external and undefined ranges and relocations renumbered, in
//! place (LLD's Mach-O flavour has no `-r`); and the code object is marked
//! as not divisible at symbols, so a linker keeps its code section whole.
//!
//! The archive is written by `ar_archive_writer`, the writer rustc uses
//! (LLVM's, ported): GNU format with a symbol table for ELF, BSD format
//! with a `__.SYMDEF` table for Mach-O, the COFF format with both linker
//! members for Windows. Member names are fixed and timestamps, owners and
//! modes zero, so the same input gives the same bytes.

mod coff;
mod elf;
mod macho;

use crate::metadata_object::{MetadataFor, metadata_object_for};
use crate::{LinkError, LinkRequest};
use ar_archive_writer::{ArchiveKind, DEFAULT_OBJECT_READER, NewArchiveMember, write_archive_to_stream};
use kiln_abi::symbols;
use object::{Object, ObjectSection, SectionKind};
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
                NewArchiveMember::new(elf::localize(&joined, &keep)?, &DEFAULT_OBJECT_READER, format!("{prefix}.o"));
            (vec![member], ArchiveKind::Gnu)
        }
        BinaryFormat::Coff => {
            let members = vec![
                NewArchiveMember::new(coff::localize(code, &keep)?, &DEFAULT_OBJECT_READER, format!("{prefix}.obj")),
                NewArchiveMember::new(meta, &DEFAULT_OBJECT_READER, format!("{prefix}-metadata.obj")),
            ];
            (members, ArchiveKind::Coff)
        }
        BinaryFormat::Macho => {
            let keep = keep.map(|k| symbols::object_symbol(BinaryFormat::Macho, &k));
            let members = vec![
                NewArchiveMember::new(macho::localize(code, &keep)?, &DEFAULT_OBJECT_READER, format!("{prefix}.o")),
                NewArchiveMember::new(meta, &DEFAULT_OBJECT_READER, format!("{prefix}-metadata.o")),
            ];
            (members, ArchiveKind::Darwin)
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

/// Where the code marker named `name` (as the object spells it) goes in a
/// code section of `size` bytes: the start or the end; `None` for any
/// other symbol.
fn marker_offset(name: &[u8], spelled: impl Fn(&str) -> String, size: u64) -> Option<u64> {
    [(symbols::CODE_START, 0), (symbols::CODE_END, size)]
        .into_iter()
        .find(|(marker, _)| spelled(marker).as_bytes() == name)
        .map(|(_, offset)| offset)
}

/// The error for an object with not exactly both markers referenced.
fn markers_missing() -> LinkError {
    malformed("the function table does not refer to both code markers")
}

/// The one code section of `file`: its index and size.
fn code_section<'a>(file: &object::File<'a>) -> Result<(object::SectionIndex, u64), LinkError> {
    let mut text = file.sections().filter(|s| s.kind() == SectionKind::Text);
    match (text.next(), text.next()) {
        (Some(s), None) => Ok((s.index(), s.size())),
        _ => Err(LinkError::Verification("the code object does not have exactly one code section".into())),
    }
}


//! Mach-O objects for a static archive: the code markers defined, every
//! other global definition but the prefixed kiln symbols made local, and
//! the code section kept whole.
//!
//! A Mach-O object's symbol table is sorted into three ranges that
//! `LC_DYSYMTAB` records: local symbols, external definitions, undefined
//! symbols. The markers come in undefined and leave local, so the table is
//! re-sorted and every reference to a symbol by index — relocations with
//! `r_extern` set and the indirect symbol table — is renumbered. Symbol
//! records keep their size and the string table is untouched, so the
//! rewrite is done in place.
//!
//! LLVM marks Mach-O objects `MH_SUBSECTIONS_VIA_SYMBOLS`: a linker may
//! then cut a section at every symbol and reorder or drop the pieces,
//! after which two markers would no longer bound the module's code. The
//! flag is cleared, so the code section is one piece, as in ELF and COFF.

use super::{code_section, malformed, marker_offset, markers_missing};
use crate::LinkError;
use kiln_abi::symbols;
use object::{Object, ObjectSection, macho};
use target_lexicon::BinaryFormat;

const HEADER_SIZE: usize = 32;
const HEADER_FLAGS: usize = 24;
const NLIST_SIZE: usize = 16;
const RELOCATION_SIZE: usize = 8;
const SECTION_SIZE: usize = 80;
const SEGMENT_SIZE: usize = 72;
/// Bits of a relocation's second word.
const R_SYMBOLNUM: u32 = 0x00ff_ffff;
const R_EXTERN: u32 = 1 << 27;
/// Set in `r_address` of a scattered relocation (never emitted for 64-bit
/// targets).
const R_SCATTERED: u32 = 0x8000_0000;

/// Little-endian field access with bounds checks.
struct Bytes<'a>(&'a mut [u8]);

impl Bytes<'_> {
    fn u32(&self, at: usize) -> Result<u32, LinkError> {
        let field = self.0.get(at..at + 4).ok_or_else(|| malformed("Mach-O field out of range"))?;
        Ok(u32::from_le_bytes(field.try_into().map_err(malformed)?))
    }

    fn put_u32(&mut self, at: usize, value: u32) -> Result<(), LinkError> {
        let field = self.0.get_mut(at..at + 4).ok_or_else(|| malformed("Mach-O field out of range"))?;
        field.copy_from_slice(&value.to_le_bytes());
        Ok(())
    }

    fn range(&self, at: u32, count: u32, size: usize) -> Result<std::ops::Range<usize>, LinkError> {
        let start = at as usize;
        let end = (count as usize).checked_mul(size).and_then(|len| start.checked_add(len));
        match end {
            Some(end) if end <= self.0.len() => Ok(start..end),
            _ => Err(malformed("Mach-O table out of range")),
        }
    }
}

/// Where the tables this rewrite touches are.
#[derive(Default)]
struct Layout {
    symtab: Option<usize>,
    dysymtab: Option<usize>,
    /// `(reloff, nreloc)` of every section.
    relocations: Vec<(u32, u32)>,
}

fn layout(data: &Bytes<'_>) -> Result<Layout, LinkError> {
    let mut layout = Layout::default();
    let ncmds = data.u32(16)?;
    let mut at = HEADER_SIZE;
    for _ in 0..ncmds {
        let (cmd, size) = (data.u32(at)?, data.u32(at + 4)? as usize);
        match cmd {
            c if c == macho::LC_SYMTAB.0 => layout.symtab = Some(at),
            c if c == macho::LC_DYSYMTAB.0 => layout.dysymtab = Some(at),
            c if c == macho::LC_SEGMENT_64.0 => {
                for section in 0..data.u32(at + 64)? as usize {
                    let header = at + SEGMENT_SIZE + section * SECTION_SIZE;
                    layout.relocations.push((data.u32(header + 56)?, data.u32(header + 60)?));
                }
            }
            _ => {}
        }
        if size < 8 {
            return Err(malformed("Mach-O load command too small"));
        }
        at += size;
    }
    Ok(layout)
}

/// Defines the code markers at the bounds of the one code section, makes
/// every global definition but `keep` (Mach-O spellings) local, and clears
/// `MH_SUBSECTIONS_VIA_SYMBOLS`.
pub(super) fn localize(data: &[u8], keep: &[String]) -> Result<Vec<u8>, LinkError> {
    let file = object::File::parse(data).map_err(malformed)?;
    let (text, size) = code_section(&file)?;
    let text_address = file.section_by_index(text).map_err(malformed)?.address();
    let text_ordinal = u8::try_from(text.0).map_err(malformed)?;

    let mut out = data.to_vec();
    let mut bytes = Bytes(&mut out);
    if bytes.u32(0)? != macho::MH_MAGIC_64 || bytes.u32(12)? != macho::MH_OBJECT.0 {
        return Err(malformed("not a 64-bit little-endian Mach-O object"));
    }
    let flags = bytes.u32(HEADER_FLAGS)?;
    bytes.put_u32(HEADER_FLAGS, flags & !macho::MH_SUBSECTIONS_VIA_SYMBOLS.0)?;

    let layout = layout(&bytes)?;
    let (Some(symtab), Some(dysymtab)) = (layout.symtab, layout.dysymtab) else {
        return Err(malformed("no symbol table"));
    };
    let symbols = bytes.range(bytes.u32(symtab + 8)?, bytes.u32(symtab + 12)?, NLIST_SIZE)?;
    let strings = bytes.range(bytes.u32(symtab + 16)?, bytes.u32(symtab + 20)?, 1)?;
    let count = symbols.len() / NLIST_SIZE;
    let [nlocal, nextdef, nundef] = [12, 20, 28].map(|field| bytes.u32(dysymtab + field).map(|n| n as usize));
    let (nlocal, nextdef, nundef) = (nlocal?, nextdef?, nundef?);
    if nlocal + nextdef + nundef != count {
        return Err(malformed("the symbol ranges do not cover the symbol table"));
    }
    // Tables of contents, module tables and external reference tables
    // belong to old-style dynamic libraries, never to objects.
    for field in [36, 44, 52] {
        if bytes.u32(dysymtab + field)? != 0 {
            return Err(malformed("unexpected dynamic-library tables in an object"));
        }
    }

    // Sort each symbol into its new range, in its old order within it.
    let name_of = |record: &[u8]| -> Result<Vec<u8>, LinkError> {
        let strx = u32::from_le_bytes(record[..4].try_into().map_err(malformed)?) as usize;
        let rest = out_strings(data, &strings, strx)?;
        Ok(rest.split(|&b| b == 0).next().unwrap_or_default().to_vec())
    };
    let spelled = |name: &str| symbols::object_symbol(BinaryFormat::Macho, name);
    let (mut locals, mut external, mut undefined) = (Vec::new(), Vec::new(), Vec::new());
    let mut markers = 0;
    for index in 0..count {
        let at = symbols.start + index * NLIST_SIZE;
        let mut record: [u8; NLIST_SIZE] = bytes.0[at..at + NLIST_SIZE].try_into().map_err(malformed)?;
        let name = name_of(&record)?;
        let n_type = record[4];
        if let Some(offset) = marker_offset(&name, spelled, size) {
            if index < nlocal + nextdef {
                return Err(malformed("a code marker is already defined"));
            }
            record[4] = macho::N_SECT.0;
            record[5] = text_ordinal;
            record[6..8].fill(0);
            record[8..16].copy_from_slice(&(text_address + offset).to_le_bytes());
            markers += 1;
            locals.push((index, record));
        } else if index < nlocal {
            locals.push((index, record));
        } else if index < nlocal + nextdef {
            if keep.iter().any(|k| k.as_bytes() == &name[..]) {
                external.push((index, record));
            } else {
                record[4] = n_type & !(macho::N_EXT.0 | macho::N_PEXT.0);
                locals.push((index, record));
            }
        } else {
            undefined.push((index, record));
        }
    }
    if markers != 2 {
        return Err(markers_missing());
    }

    let mut new_index = vec![0u32; count];
    let order = locals.iter().chain(&external).chain(&undefined);
    for (new, (old, record)) in order.enumerate() {
        new_index[*old] = new as u32;
        let at = symbols.start + new * NLIST_SIZE;
        bytes.0[at..at + NLIST_SIZE].copy_from_slice(record);
    }
    let ranges = [locals.len(), external.len(), undefined.len()];
    let mut first = 0;
    for (field, len) in [8, 16, 24].into_iter().zip(ranges) {
        bytes.put_u32(dysymtab + field, first as u32)?;
        bytes.put_u32(dysymtab + field + 4, len as u32)?;
        first += len;
    }

    let renumber = |old: u32| -> Result<u32, LinkError> {
        new_index.get(old as usize).copied().ok_or_else(|| malformed("a relocation names a symbol that does not exist"))
    };
    for &(reloff, nreloc) in &layout.relocations {
        let table = bytes.range(reloff, nreloc, RELOCATION_SIZE)?;
        for at in table.step_by(RELOCATION_SIZE) {
            if bytes.u32(at)? & R_SCATTERED != 0 {
                return Err(malformed("scattered relocation in a 64-bit object"));
            }
            let info = bytes.u32(at + 4)?;
            if info & R_EXTERN != 0 {
                let symbol = renumber(info & R_SYMBOLNUM)?;
                bytes.put_u32(at + 4, (info & !R_SYMBOLNUM) | symbol)?;
            }
        }
    }
    let indirect = bytes.range(bytes.u32(dysymtab + 56)?, bytes.u32(dysymtab + 60)?, 4)?;
    for at in indirect.step_by(4) {
        let entry = bytes.u32(at)?;
        if entry & (macho::INDIRECT_SYMBOL_LOCAL.0 | macho::INDIRECT_SYMBOL_ABS.0) == 0 {
            bytes.put_u32(at, renumber(entry)?)?;
        }
    }
    Ok(out)
}

/// The string table from offset `strx` on.
fn out_strings<'a>(data: &'a [u8], strings: &std::ops::Range<usize>, strx: usize) -> Result<&'a [u8], LinkError> {
    data.get(strings.clone())
        .and_then(|table| table.get(strx..))
        .ok_or_else(|| malformed("a symbol name lies outside the string table"))
}

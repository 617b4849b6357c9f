//! COFF objects for a static `.lib`: the same rewrite as for ELF, by
//! patching the fixed-size symbol records in place.

use super::{code_section, malformed, marker_offset, markers_missing};
use crate::LinkError;
use object::{Object, ObjectSymbol};

/// `IMAGE_SYM_CLASS_EXTERNAL` and `IMAGE_SYM_CLASS_STATIC`.
const COFF_EXTERNAL: u8 = object::pe::IMAGE_SYM_CLASS_EXTERNAL.0;
const COFF_STATIC: u8 = object::pe::IMAGE_SYM_CLASS_STATIC.0;
/// Size of one COFF symbol record, and where its fields are.
const COFF_SYMBOL_SIZE: usize = 18;
const COFF_VALUE: usize = 8;
const COFF_SECTION_NUMBER: usize = 12;
const COFF_STORAGE_CLASS: usize = 16;

/// The same as ELF's `localize`, by patching symbol records in place
/// (relocations name symbols by index, which does not change). A static
/// symbol is the COFF spelling of a local one.
pub(super) fn localize(data: &[u8], keep: &[String]) -> Result<Vec<u8>, LinkError> {
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
        if let Some(value) = marker_offset(name.as_bytes(), str::to_string, size) {
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
        return Err(markers_missing());
    }
    Ok(out)
}

//! ELF objects for a static archive: the code markers defined, every
//! other global definition but the prefixed kiln symbols made local.

use super::{code_section, malformed, marker_offset, markers_missing};
use crate::LinkError;
use object::build::elf::Builder;
use object::elf;

/// Defines the code markers and makes every global definition but `keep`
/// local.
pub(super) fn localize(data: &[u8], keep: &[String]) -> Result<Vec<u8>, LinkError> {
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
        if let Some(value) = marker_offset(&name, str::to_string, size) {
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
        return Err(markers_missing());
    }
    let mut out = Vec::new();
    builder.write(&mut out).map_err(malformed)?;
    Ok(out)
}


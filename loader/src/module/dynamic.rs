//! What the dynamic loader would do with a library before any of its code
//! could run, checked by reading the file before `dlopen`.
//!
//! `dlopen` runs code of the library before returning: `DT_INIT`, the
//! `DT_PREINIT_ARRAY` and `DT_INIT_ARRAY` functions, and the resolver of
//! every GNU indirect function (`STT_GNU_IFUNC`, `R_*_IRELATIVE`) a
//! relocation binds; `dlclose` runs `DT_FINI` and `DT_FINI_ARRAY`. It also
//! loads what the library depends on (`DT_NEEDED`, and the filter and
//! audit libraries of `DT_AUXILIARY`, `DT_FILTER`, `DT_AUDIT`,
//! `DT_DEPAUDIT`), with their initializers. A library kiln links has none
//! of these (`ld.lld -shared -nostdlib`, nothing to depend on: the few C
//! library functions it may import are bound from the process), so the
//! loader refuses any library that has one, reading exactly what the
//! dynamic loader reads: the `PT_DYNAMIC` segment and the relocation and
//! symbol tables it points to (not the section headers, which `ld.so`
//! ignores). Relocations may only be of the kinds kiln's libraries use
//! (relative, absolute, GOT and PLT entries) and bind only the allowed C
//! functions. Thread-local storage and an executable stack, which kiln
//! libraries never ask for, are refused too.

use super::LoadErrorKind;
use kiln_abi::symbols;
use object::elf::{self, FileHeader64, Rela64, Sym64};
use object::read::elf::{Dyn, FileHeader, ProgramHeader, SectionHeader, Sym};
use object::{LittleEndian as LE, pod};

/// The relocation types a kiln library may carry, per ELF machine.
fn allowed_relocation(machine: u16, r_type: u32) -> bool {
    match machine {
        // R_X86_64_NONE, _64, _GLOB_DAT, _JUMP_SLOT, _RELATIVE
        62 => matches!(r_type, 0 | 1 | 6 | 7 | 8),
        // R_AARCH64_NONE, _ABS64, _GLOB_DAT, _JUMP_SLOT, _RELATIVE
        183 => matches!(r_type, 0 | 257 | 1025 | 1026 | 1027),
        _ => false,
    }
}

/// The ELF machine of this host.
const HOST_MACHINE: u16 = if cfg!(target_arch = "x86_64") {
    62
} else if cfg!(target_arch = "aarch64") {
    183
} else {
    0
};

fn bad(what: impl Into<String>) -> LoadErrorKind {
    LoadErrorKind::NotKilnLinked(what.into())
}

/// A 64-bit little-endian ELF shared library's dynamic segment, read the
/// way the dynamic loader reads it.
struct Image<'a> {
    data: &'a [u8],
    loads: Vec<(u64, u64, u64)>,
}

impl<'a> Image<'a> {
    /// The `len` file bytes at virtual address `address` (inside one
    /// `PT_LOAD` segment's file data).
    fn at(&self, address: u64, len: u64, what: &str) -> Result<&'a [u8], LoadErrorKind> {
        let outside = || bad(format!("its {what} lies outside the file's loaded data"));
        let &(vaddr, offset, filesz) = self
            .loads
            .iter()
            .find(|(vaddr, _, filesz)| (*vaddr..vaddr.saturating_add(*filesz)).contains(&address))
            .ok_or_else(outside)?;
        let start = address - vaddr;
        if len > filesz - start {
            return Err(outside());
        }
        let begin = usize::try_from(offset + start).map_err(|_| outside())?;
        let end = begin.checked_add(usize::try_from(len).map_err(|_| outside())?).ok_or_else(outside)?;
        self.data.get(begin..end).ok_or_else(outside)
    }
}

/// Checks that loading the ELF library `data` runs none of its code and
/// loads no other library.
pub(crate) fn check(data: &[u8]) -> Result<(), LoadErrorKind> {
    let malformed = |e: object::Error| LoadErrorKind::Malformed(e.to_string());
    let header = FileHeader64::<LE>::parse(data).map_err(malformed)?;
    let endian = header.endian().map_err(malformed)?;
    let machine = header.e_machine(endian).0;
    if machine != HOST_MACHINE {
        return Err(bad(format!("it is for ELF machine {machine}, not this host's")));
    }
    let segments = header.program_headers(endian, data).map_err(malformed)?;
    let mut image = Image { data, loads: Vec::new() };
    let mut dynamic = None;
    for segment in segments {
        match segment.p_type(endian) {
            elf::PT_LOAD => image.loads.push((
                segment.p_vaddr(endian),
                segment.p_offset(endian),
                segment.p_filesz(endian).min(segment.p_memsz(endian)),
            )),
            elf::PT_DYNAMIC => dynamic = segment.dynamic(endian, data).map_err(malformed)?,
            elf::PT_TLS => return Err(bad("it has thread-local storage")),
            elf::PT_GNU_STACK if segment.p_flags(endian).0 & elf::PF_X.0 != 0 => {
                return Err(bad("it asks for an executable stack"));
            }
            _ => {}
        }
    }
    let dynamic = dynamic.ok_or_else(|| bad("it has no dynamic segment"))?;

    let value = |tag: elf::DynamicTag| dynamic.iter().find(|d| d.d_tag(endian) == tag).map(|d| d.d_val(endian));
    let strtab = value(elf::DT_STRTAB);
    let strsz = value(elf::DT_STRSZ).unwrap_or(0);
    let name = |offset: u64| -> String {
        let table = strtab.and_then(|t| image.at(t, strsz, "string table").ok()).unwrap_or_default();
        let bytes = usize::try_from(offset).ok().and_then(|o| table.get(o..)).unwrap_or_default();
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        String::from_utf8_lossy(&bytes[..end]).into_owned()
    };
    for entry in dynamic {
        let tag = entry.d_tag(endian);
        if tag == elf::DT_NULL {
            break;
        }
        let runs = match tag {
            elf::DT_INIT => Some("an initializer (DT_INIT)"),
            elf::DT_FINI => Some("a finalizer (DT_FINI)"),
            elf::DT_INIT_ARRAY if value(elf::DT_INIT_ARRAYSZ) != Some(0) => Some("initializers (DT_INIT_ARRAY)"),
            elf::DT_PREINIT_ARRAY if value(elf::DT_PREINIT_ARRAYSZ) != Some(0) => {
                Some("initializers (DT_PREINIT_ARRAY)")
            }
            elf::DT_FINI_ARRAY if value(elf::DT_FINI_ARRAYSZ) != Some(0) => Some("finalizers (DT_FINI_ARRAY)"),
            _ => None,
        };
        if let Some(what) = runs {
            return Err(LoadErrorKind::RunsCode(what.to_string()));
        }
        let depends = match tag {
            elf::DT_NEEDED => Some("DT_NEEDED"),
            elf::DT_AUXILIARY => Some("DT_AUXILIARY"),
            elf::DT_FILTER => Some("DT_FILTER"),
            elf::DT_AUDIT => Some("DT_AUDIT"),
            elf::DT_DEPAUDIT => Some("DT_DEPAUDIT"),
            _ => None,
        };
        if let Some(kind) = depends {
            return Err(LoadErrorKind::Dependency(format!("{} ({kind})", name(entry.d_val(endian)))));
        }
    }

    let symtab = value(elf::DT_SYMTAB);
    let mut relocations = Vec::new();
    if let Some(rela) = value(elf::DT_RELA) {
        relocations.push((rela, value(elf::DT_RELASZ).unwrap_or(0), "relocations"));
    }
    if let Some(jmprel) = value(elf::DT_JMPREL) {
        if value(elf::DT_PLTREL) != Some(u64::from(elf::DT_RELA.0 as u32)) {
            return Err(bad("its PLT relocations are not RELA"));
        }
        relocations.push((jmprel, value(elf::DT_PLTRELSZ).unwrap_or(0), "PLT relocations"));
    }
    if value(elf::DT_REL).is_some() || value(elf::DT_RELSZ).is_some_and(|n| n != 0) {
        return Err(bad("it has REL relocations"));
    }
    for (address, size, what) in relocations {
        let bytes = image.at(address, size, what)?;
        let count = bytes.len() / std::mem::size_of::<Rela64<LE>>();
        let (entries, _) =
            pod::slice_from_bytes::<Rela64<LE>>(bytes, count).map_err(|()| bad(format!("its {what} are malformed")))?;
        for rela in entries {
            let r_type = rela.r_type(endian, false).0;
            if !allowed_relocation(machine, r_type) {
                return Err(LoadErrorKind::RunsCode(format!(
                    "relocation type {r_type}, which kiln libraries never use (an IFUNC resolver, TLS or a copy)"
                )));
            }
            let index = rela.r_sym(endian, false);
            if index == 0 {
                continue;
            }
            let entry_size = std::mem::size_of::<Sym64<LE>>() as u64;
            let symtab = symtab.ok_or_else(|| bad("its relocations name symbols but it has no symbol table"))?;
            let at = symtab
                .checked_add(u64::from(index) * entry_size)
                .ok_or_else(|| bad("a relocation's symbol is out of range"))?;
            let (sym, _) = pod::from_bytes::<Sym64<LE>>(image.at(at, entry_size, "symbol table")?)
                .map_err(|()| bad("its symbol table is malformed"))?;
            let name = name(u64::from(sym.st_name(endian)));
            if sym.st_type() == elf::STT_GNU_IFUNC {
                return Err(LoadErrorKind::RunsCode(format!("the IFUNC resolver of `{name}`")));
            }
            if sym.st_shndx(endian) == elf::SHN_UNDEF && !symbols::ALLOWED_UNDEFINED.contains(&name.as_str()) {
                return Err(LoadErrorKind::UndefinedSymbol(name));
            }
        }
    }
    check_symbol_table(header, endian, data, symtab)
}

/// `dlsym` finds symbols in the table `DT_SYMTAB` points to; the section
/// headers name the same table (the loader finds its two symbols through
/// them), and no symbol in it may be an indirect function, whose resolver
/// `dlsym` would run.
fn check_symbol_table(
    header: &FileHeader64<LE>,
    endian: LE,
    data: &[u8],
    symtab: Option<u64>,
) -> Result<(), LoadErrorKind> {
    let malformed = |e: object::Error| LoadErrorKind::Malformed(e.to_string());
    let sections = header.sections(endian, data).map_err(malformed)?;
    let Some(section) = sections.iter().find(|s| s.sh_type(endian) == elf::SHT_DYNSYM) else {
        return Ok(());
    };
    if symtab != Some(section.sh_addr(endian)) {
        return Err(bad("its dynamic symbol table is not where its dynamic segment says"));
    }
    let table = sections.symbols(endian, data, section.sh_type(endian)).map_err(malformed)?;
    for symbol in table.symbols() {
        if symbol.st_type() == elf::STT_GNU_IFUNC {
            let name = table.symbol_name(endian, symbol).map(|n| String::from_utf8_lossy(n).into_owned());
            return Err(LoadErrorKind::RunsCode(format!(
                "the IFUNC resolver of `{}`",
                name.unwrap_or_else(|_| "?".into())
            )));
        }
    }
    Ok(())
}

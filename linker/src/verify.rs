//! Checks a linked library against kiln's artifact rules, for every object
//! format: it is a shared library of the target's architecture, exports
//! exactly the metadata and function table symbols, and leaves undefined
//! (or imports) only the symbols its target allows
//! ([`symbols::allowed_undefined`]).
//!
//! A static archive is checked member by member ([`check_archive`]): objects
//! of the target's format and architecture that define exactly the two
//! prefixed kiln symbols globally between them and leave undefined only
//! [`symbols::allowed_undefined_static`].

use crate::metadata_object::object_kind;
use crate::{LinkError, LinkRequest, OutputKind};
use kiln_abi::symbols;
use object::read::archive::ArchiveFile;
use object::{BinaryFormat, NameOrOrdinal, Object, ObjectKind, ObjectSymbol};
use std::path::Path;

pub(crate) fn check(request: &LinkRequest<'_>, path: &Path) -> Result<(), LinkError> {
    if request.kind != OutputKind::SharedLibrary {
        return Ok(());
    }
    let fail = |e: &dyn std::fmt::Display| LinkError::Verification(e.to_string());
    let data = std::fs::read(path).map_err(|e| LinkError::io("reading back", path, e))?;
    let file = object::File::parse(&*data).map_err(|e| fail(&e))?;
    let (format, arch) = match object_kind(request.target)? {
        // A linked COFF image is a PE file.
        (BinaryFormat::Coff, arch) => (BinaryFormat::Pe, arch),
        kind => kind,
    };
    if (file.format(), file.architecture(), file.kind(), file.is_64()) != (format, arch, ObjectKind::Dynamic, true) {
        return Err(LinkError::Verification(format!(
            "a {:?} {:?} file of kind {:?}, expected a 64-bit {format:?} {arch:?} shared library",
            file.format(),
            file.architecture(),
            file.kind()
        )));
    }
    let mangle = |name: &str| symbols::object_symbol(request.target.binary_format(), name);
    let allowed: Vec<String> = symbols::allowed_undefined(request.target).iter().map(|s| mangle(s)).collect();

    let mut exported = Vec::new();
    let mut undefined = Vec::new();
    match format {
        BinaryFormat::Elf => {
            for sym in file.dynamic_symbols() {
                let name = sym.name().map_err(|e| fail(&e))?;
                if name.is_empty() {
                    continue;
                }
                if sym.is_undefined() {
                    undefined.push(name.to_string());
                } else if sym.is_global() {
                    exported.push(name.to_string());
                }
            }
        }
        _ => {
            for export in file.exports().map_err(|e| fail(&e))? {
                let export = export.map_err(|e| fail(&e))?;
                match export.name() {
                    NameOrOrdinal::Name(name) => exported.push(String::from_utf8_lossy(name).into_owned()),
                    NameOrOrdinal::Ordinal(n) => exported.push(format!("#{n}")),
                }
            }
            for import in file.imports().map_err(|e| fail(&e))? {
                let import = import.map_err(|e| fail(&e))?;
                match import.name() {
                    NameOrOrdinal::Name(name) => undefined.push(String::from_utf8_lossy(name).into_owned()),
                    NameOrOrdinal::Ordinal(n) => undefined.push(format!("#{n}")),
                }
            }
            // Mach-O also lists them in the symbol table.
            for sym in file.symbols().filter(|s| s.is_undefined()) {
                undefined.push(sym.name().map_err(|e| fail(&e))?.to_string());
            }
        }
    }
    if let Some(name) = undefined.iter().find(|name| !allowed.contains(name)) {
        return Err(LinkError::Verification(format!("undefined symbol `{name}` is not on the allowed list")));
    }
    exported.sort();
    let prefix = request.symbol_prefix;
    let mut want = vec![mangle(&symbols::metadata_symbol(prefix)), mangle(&symbols::functions_symbol(prefix))];
    want.sort();
    if exported != want {
        return Err(LinkError::Verification(format!("exports {exported:?}, expected exactly {want:?}")));
    }
    Ok(())
}

pub(crate) fn check_archive(request: &LinkRequest<'_>, data: &[u8]) -> Result<(), LinkError> {
    let fail = |e: &dyn std::fmt::Display| LinkError::Verification(e.to_string());
    let (format, arch) = object_kind(request.target)?;
    let mangle = |name: &str| symbols::object_symbol(request.target.binary_format(), name);
    let allowed: Vec<String> = symbols::allowed_undefined_static(request.target).iter().map(|s| mangle(s)).collect();
    let archive = ArchiveFile::parse(data).map_err(|e| fail(&e))?;
    let mut defined = Vec::new();
    for member in archive.members() {
        let member = member.map_err(|e| fail(&e))?;
        let file = object::File::parse(member.data(data).map_err(|e| fail(&e))?).map_err(|e| fail(&e))?;
        if (file.format(), file.architecture(), file.kind()) != (format, arch, ObjectKind::Relocatable) {
            return Err(LinkError::Verification(format!(
                "archive member {} is a {:?} {:?} file of kind {:?}, expected a {format:?} {arch:?} object",
                String::from_utf8_lossy(member.name()),
                file.format(),
                file.architecture(),
                file.kind()
            )));
        }
        for sym in file.symbols() {
            let name = sym.name().map_err(|e| fail(&e))?;
            if sym.is_undefined() {
                if !allowed.iter().any(|a| a == name) {
                    return Err(LinkError::Verification(format!(
                        "undefined symbol `{name}` is not on the allowed list"
                    )));
                }
            } else if sym.is_global() {
                defined.push(name.to_string());
            }
        }
    }
    defined.sort();
    let prefix = request.symbol_prefix;
    let mut want = vec![mangle(&symbols::metadata_symbol(prefix)), mangle(&symbols::functions_symbol(prefix))];
    want.sort();
    if defined != want {
        return Err(LinkError::Verification(format!("global symbols {defined:?}, expected exactly {want:?}")));
    }
    Ok(())
}

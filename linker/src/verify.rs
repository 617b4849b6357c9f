//! Checks a linked library against kiln's artifact rules, for every object
//! format: it is a shared library of the target's architecture, exports
//! exactly the metadata and function table symbols, and leaves undefined
//! (or imports) only the symbols its target allows
//! ([`symbols::allowed_undefined`]).

use crate::metadata_object::object_kind;
use crate::{LinkError, LinkRequest, OutputKind};
use kiln_abi::symbols;
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

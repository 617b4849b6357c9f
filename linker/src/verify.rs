//! Checks a linked library against kiln's artifact rules.

use crate::{LinkError, LinkRequest, OutputKind};
use kiln_abi::symbols;
use object::{Object, ObjectSymbol};
use std::path::Path;

/// Verifies that a shared library exports exactly the metadata and function
/// table symbols and leaves only allowed symbols undefined.
pub(crate) fn check(request: &LinkRequest<'_>, path: &Path) -> Result<(), LinkError> {
    if request.kind != OutputKind::SharedLibrary {
        return Ok(());
    }
    let data = std::fs::read(path).map_err(|e| LinkError::io("reading back", path, e))?;
    let file = object::File::parse(&*data).map_err(|e| LinkError::Verification(e.to_string()))?;
    let expected = [
        symbols::metadata_symbol(request.symbol_prefix),
        symbols::functions_symbol(request.symbol_prefix),
    ];
    let mut exported = Vec::new();
    for sym in file.dynamic_symbols() {
        let name = sym.name().map_err(|e| LinkError::Verification(e.to_string()))?;
        if name.is_empty() {
            continue;
        }
        if sym.is_undefined() {
            if !symbols::ALLOWED_UNDEFINED.contains(&name) {
                return Err(LinkError::Verification(format!("undefined symbol `{name}` is not on the allowed list")));
            }
        } else if sym.is_global() {
            exported.push(name.to_string());
        }
    }
    exported.sort();
    let mut want: Vec<String> = expected.to_vec();
    want.sort();
    if exported != want {
        return Err(LinkError::Verification(format!("exports {exported:?}, expected exactly {want:?}")));
    }
    Ok(())
}

//! `kiln inspect`: what a compiled library holds, read from the file
//! without loading it (so it works for any target's artifacts); or, for a
//! WebAssembly module (binary or text), the proposals it uses.

use anyhow::Result;
use clap::Args;
use kiln_abi::metadata::{ArchivedBoundsChecks, ArchivedExternKind, ArchivedImportKind, ArchivedModuleMetadata};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub(crate) struct InspectArgs {
    /// A library, object or static archive compiled by kiln, for any
    /// target; or a WebAssembly module (.wasm or .wat), whose proposals
    /// beyond wasm 1.0 are listed.
    library: PathBuf,
}

pub(crate) fn inspect(args: InspectArgs) -> Result<ExitCode> {
    if is_module(&args.library)? {
        return inspect_module(&args.library);
    }
    let owned = kiln::runtime::read_metadata(&args.library)?;
    let meta = owned.get();
    let size = std::fs::metadata(&args.library).map(|m| m.len()).unwrap_or(0);
    println!("file:        {} ({size} bytes)", args.library.display());
    println!("format:      kiln artifact format {}, compiled by kiln {}", kiln_abi::FORMAT_VERSION, owned.compiler_build());
    let features: Vec<String> = meta.target.features.iter().map(|f| format!("+{f}")).collect();
    let features = if features.is_empty() { "none beyond the baseline".to_string() } else { features.join(",") };
    println!("target:      {} (cpu {}; requires {features})", meta.target.triple, meta.target.cpu);
    let opt = match meta.opt_level {
        4 => "-Os".to_string(),
        n => format!("-O{n}"),
    };
    let bounds = match meta.bounds_checks {
        ArchivedBoundsChecks::Guard => "guard regions",
        ArchivedBoundsChecks::Explicit => "explicit checks",
    };
    println!("compiled:    {opt}, memory sandbox by {bounds}");
    println!("wasm:        sha256 {}", hex(&meta.wasm_sha256));
    if let Some(name) = meta.name.as_ref() {
        println!("name:        {name}");
    }
    let shape = meta.shape();
    println!(
        "functions:   {} defined, {} imported; {} bytes of machine code",
        shape.num_defined_funcs, shape.num_imported_funcs, meta.code_size
    );
    println!(
        "memories:    {} defined, {} imported;  tables: {} defined, {} imported;  globals: {} defined, {} imported",
        shape.num_defined_memories,
        shape.num_imported_memories,
        shape.num_defined_tables,
        shape.num_imported_tables,
        shape.num_defined_globals,
        shape.num_imported_globals
    );
    println!("segments:    {} element, {} data", meta.elements.len(), meta.data.len());
    if let Some(start) = meta.start.as_ref() {
        println!("start:       function {start}");
    }
    println!("imports:     {}", meta.imports.len());
    for import in meta.imports.iter() {
        println!("  {}.{}: {}", import.module, import.name, import_desc(meta, &import.kind));
    }
    println!("exports:     {}", meta.exports.len());
    for export in meta.exports.iter() {
        println!("  {}: {}", export.name, export_desc(meta, &export.kind, export.index.to_native()));
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether `path` holds a WebAssembly module rather than a compiled
/// library: the binary magic, or a `.wat`/`.wast` name.
fn is_module(path: &std::path::Path) -> Result<bool> {
    let text = matches!(path.extension().and_then(|e| e.to_str()), Some("wat" | "wast"));
    let mut magic = [0u8; 4];
    let binary = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok_and(|()| &magic == b"\0asm");
    Ok(text || binary)
}

/// Lists the proposals a module uses, each with the name `--features`
/// turns it off by.
fn inspect_module(path: &std::path::Path) -> Result<ExitCode> {
    let wasm = kiln::compile::read_module(path)?;
    let used = kiln::proposals_used(&wasm).map_err(|error| kiln::Error::Compile { path: path.to_path_buf(), error })?;
    println!("file:        {} ({} bytes of wasm)", path.display(), wasm.len());
    if used.is_empty() {
        println!("proposals:   none (WebAssembly 1.0)");
    } else {
        println!("proposals:   {} beyond WebAssembly 1.0 (`--features -NAME` turns one off)", used.len());
        for proposal in used {
            println!("  {:<26}{}", proposal.flag, proposal.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn func_desc(meta: &ArchivedModuleMetadata, type_index: u32) -> String {
    match meta.types.get(type_index as usize) {
        Some(sig) => sig.ty.to_native().to_string(),
        None => format!("func (bad type index {type_index})"),
    }
}

fn import_desc(meta: &ArchivedModuleMetadata, kind: &ArchivedImportKind) -> String {
    match kind {
        ArchivedImportKind::Func(t) => func_desc(meta, t.to_native()),
        ArchivedImportKind::Table(t) => t.to_native().to_string(),
        ArchivedImportKind::Memory(m) => m.to_native().to_string(),
        ArchivedImportKind::Global(g) => g.to_native().to_string(),
        ArchivedImportKind::Tag(t) => format!("tag {}", func_desc(meta, t.to_native())),
    }
}

fn export_desc(meta: &ArchivedModuleMetadata, kind: &ArchivedExternKind, index: u32) -> String {
    match kind {
        ArchivedExternKind::Func => match meta.functions.get(index as usize) {
            Some(f) => func_desc(meta, f.type_index.to_native()),
            None => format!("func {index}"),
        },
        ArchivedExternKind::Table => meta.table_type(index).map_or(format!("table {index}"), |t| t.to_string()),
        ArchivedExternKind::Memory => meta.memory_type(index).map_or(format!("memory {index}"), |m| m.to_string()),
        ArchivedExternKind::Global => meta.global_type(index).map_or(format!("global {index}"), |g| g.to_string()),
        ArchivedExternKind::Tag => match meta.tag_type(index) {
            Some(t) => format!("tag {}", func_desc(meta, t)),
            None => format!("tag {index}"),
        },
    }
}

//! The compile pipeline: wasm or wat in, a native library (or object, IR,
//! assembly) out.
//!
//! Reads the input, compiles it with `kiln-llvm`, encodes the metadata and
//! hands everything to `kiln-linker`. Every output is written atomically: a
//! failed compile leaves no file behind and never clobbers an existing one.
//!
//! An output path of `-` means standard output, as for clang: text (LLVM
//! IR, assembly) is printed there, and a binary output is refused rather
//! than written to a file named `-`.

use kiln_llvm::{CompileError, CompileOptions, TextKind};
use kiln_linker::{LinkError, LinkRequest, OutputKind};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What `compile` produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emit {
    /// A shared library the loader can open (`.so`).
    SharedLibrary,
    /// One relocatable object with code and metadata.
    Object,
    /// A static archive (`.a`, `.lib` for Windows) for linking into a
    /// program; needs `CompileOptions::symbol_prefix`.
    StaticLibrary,
    /// LLVM IR as generated, before optimization.
    LlvmIrUnoptimized,
    /// LLVM IR after optimization.
    LlvmIr,
    /// Target assembly.
    Assembly,
}

/// A failure anywhere in the pipeline.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input could not be read.
    #[error("cannot read `{}`: {error}", path.display())]
    Read {
        /// The input.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The input is WebAssembly text with a syntax error.
    #[error("{message}")]
    Text {
        /// The input.
        path: PathBuf,
        /// `path:line:col: what is wrong`.
        message: String,
    },
    /// The module did not compile.
    #[error("`{}`: {error}", path.display())]
    Compile {
        /// The input.
        path: PathBuf,
        /// Why.
        error: CompileError,
    },
    /// The module compiled but did not link.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// A binary output (library, archive, object) was asked for on
    /// standard output (`-o -`).
    #[error("`-o -` prints text only (--emit llvm-ir, llvm-ir-unoptimized or asm); give a file name for a {what}")]
    BinaryToStdout {
        /// What would have been written.
        what: &'static str,
    },
    /// The output could not be written.
    #[error("cannot write `{}`: {error}", path.display())]
    Write {
        /// The output.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
}

/// Facts about one compile, for progress output.
#[derive(Clone, Debug)]
pub struct CompileReport {
    /// Bytes of wasm in.
    pub wasm_size: usize,
    /// Bytes of machine code generated.
    pub code_size: u64,
    /// Functions defined by the module.
    pub functions: usize,
    /// Time spent in the compiler (translation, optimization, codegen).
    pub compile_time: Duration,
    /// Time spent linking.
    pub link_time: Duration,
    /// What was written, for a library or object; `None` for text output.
    pub artifact: Option<ArtifactFacts>,
}

/// The facts a program linking a static archive needs to declare its two
/// symbols, and the module's metadata, as the compile produced them (so
/// nothing has to be read back from a format that may not record symbol
/// sizes, like COFF or Mach-O).
#[derive(Clone, Debug)]
pub struct ArtifactFacts {
    /// The module's metadata.
    pub metadata: kiln_abi::ModuleMetadata,
    /// Bytes of the metadata symbol (header and archive).
    pub metadata_len: usize,
    /// Pointers in the function table symbol.
    pub function_slots: usize,
}

/// Reads a module: a wasm binary, or wasm text (`.wat`) which is assembled.
pub fn read_module(path: &Path) -> Result<Vec<u8>, Error> {
    let bytes = std::fs::read(path).map_err(|error| Error::Read { path: path.to_path_buf(), error })?;
    module_from_bytes(bytes, path)
}

/// A module from a file's bytes already read: wasm as is, wasm text
/// assembled (`path` labels errors).
pub fn module_from_bytes(bytes: Vec<u8>, path: &Path) -> Result<Vec<u8>, Error> {
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes);
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => assemble(text).map_err(|(line, col, message)| Error::Text {
            path: path.to_path_buf(),
            message: format!("{}:{line}:{col}: {message}", path.display()),
        }),
        Err(_) => Err(Error::Text {
            path: path.to_path_buf(),
            message: "neither a WebAssembly binary (no \\0asm header) nor UTF-8 WebAssembly text".into(),
        }),
    }
}

/// Assembles wasm text; an error comes with its 1-based line and column.
fn assemble(text: &str) -> Result<Vec<u8>, (usize, usize, String)> {
    let locate = |e: wast::Error| {
        let (line, col) = e.span().linecol_in(text);
        (line + 1, col + 1, e.message())
    };
    let buf = wast::parser::ParseBuffer::new(text).map_err(locate)?;
    let mut module = wast::parser::parse::<wast::Wat>(&buf).map_err(locate)?;
    module.encode().map_err(locate)
}

/// Compiles wasm bytes into `output`. `name` labels errors (usually the
/// input's path).
pub fn compile_to_file(
    wasm: &[u8],
    name: &Path,
    opts: &CompileOptions,
    emit: Emit,
    output: &Path,
) -> Result<CompileReport, Error> {
    let start = Instant::now();
    let compile_err = |error| Error::Compile { path: name.to_path_buf(), error };
    let text_kind = match emit {
        Emit::LlvmIrUnoptimized => Some(TextKind::LlvmIrUnoptimized),
        Emit::LlvmIr => Some(TextKind::LlvmIr),
        Emit::Assembly => Some(TextKind::Assembly),
        Emit::SharedLibrary | Emit::Object | Emit::StaticLibrary => None,
    };
    if let Some(kind) = text_kind {
        let text = kiln_llvm::compile_to_text(wasm, opts, kind).map_err(compile_err)?;
        if is_stdout(output) {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(|error| Error::Write { path: output.to_path_buf(), error })?;
        } else {
            write_atomically(output, text.as_bytes())?;
        }
        return Ok(CompileReport {
            wasm_size: wasm.len(),
            code_size: 0,
            functions: 0,
            compile_time: start.elapsed(),
            link_time: Duration::ZERO,
            artifact: None,
        });
    }

    if is_stdout(output) {
        let what = match emit {
            Emit::Object => "relocatable object",
            Emit::StaticLibrary => "static archive",
            _ => "shared library",
        };
        return Err(Error::BinaryToStdout { what });
    }
    let static_opts;
    let opts = if emit == Emit::StaticLibrary && !opts.static_library {
        static_opts = CompileOptions { static_library: true, ..opts.clone() };
        &static_opts
    } else {
        opts
    };
    let compiled = kiln_llvm::compile(wasm, opts).map_err(compile_err)?;
    let compile_time = start.elapsed();
    let blob = kiln_abi::artifact::encode(&compiled.metadata, kiln_loader::COMPILER_BUILD);
    let objects: Vec<&[u8]> = compiled.objects.iter().map(Vec::as_slice).collect();
    let request = LinkRequest {
        target: &opts.target,
        objects: &objects,
        metadata: &blob,
        symbol_prefix: opts.symbol_prefix.as_deref(),
        kind: match emit {
            Emit::Object => OutputKind::Object,
            Emit::StaticLibrary => OutputKind::StaticLibrary,
            _ => OutputKind::SharedLibrary,
        },
    };
    let link_start = Instant::now();
    kiln_linker::link(&request, output)?;
    let link_time = link_start.elapsed();
    let meta = compiled.metadata;
    let imported = meta.imports.iter().filter(|i| matches!(i.kind, kiln_abi::metadata::ImportKind::Func(_))).count();
    Ok(CompileReport {
        wasm_size: wasm.len(),
        code_size: meta.code_size,
        functions: meta.functions.len() - imported,
        compile_time,
        link_time,
        artifact: Some(ArtifactFacts { metadata_len: blob.len(), function_slots: compiled.function_slots, metadata: meta }),
    })
}

/// Whether `output` names standard output (`-`).
fn is_stdout(output: &Path) -> bool {
    output.as_os_str() == "-"
}

/// Reads `input` (wasm or wat) and compiles it into `output`.
pub fn compile_file(input: &Path, opts: &CompileOptions, emit: Emit, output: &Path) -> Result<CompileReport, Error> {
    let wasm = read_module(input)?;
    compile_to_file(&wasm, input, opts, emit, output)
}

/// Writes `bytes` to `path` through a temporary file in the same directory,
/// so readers never see a partial file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let write_err = |error| Error::Write { path: path.to_path_buf(), error };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new().prefix(".kiln-out-").tempfile_in(dir).map_err(write_err)?;
    tmp.write_all(bytes).map_err(write_err)?;
    tmp.persist(path).map_err(|e| write_err(e.error))?;
    Ok(())
}

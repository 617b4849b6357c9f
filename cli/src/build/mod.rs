//! Compiling wasm modules from a cargo build script, the way the `cc` crate
//! compiles C.
//!
//! ```no_run
//! // build.rs, in `fn main`:
//! kiln::build::Build::new().file("plugin.wat").opt_level(3).compile("plugin");
//! ```
//!
//! ```ignore
//! // src/main.rs
//! mod plugin {
//!     include!(concat!(env!("OUT_DIR"), "/plugin.rs"));
//! }
//! ```
//!
//! [`Build::compile`] reads what cargo tells a build script (`TARGET`,
//! `OUT_DIR`, `PROFILE`, `OPT_LEVEL`), compiles the module for `TARGET`
//! into `OUT_DIR/libNAME.a` (`NAME.lib` for Windows) with the symbol prefix
//! `NAME`, prints `cargo:rerun-if-changed` for the input and
//! `cargo:rustc-link-search=native=OUT_DIR` plus
//! `cargo:rustc-link-lib=static=NAME`, and writes `OUT_DIR/NAME.rs`: typed
//! bindings that need only the runtime ([`bindings`] describes them). With
//! [`Build::shared`] it writes `OUT_DIR/libNAME.so` instead and links
//! nothing; the bindings then load that file with `Module::from_file`.
//!
//! Errors are the build-script convention: [`Build::compile`] panics with
//! a message naming the input, which cargo shows; [`Build::try_compile`]
//! returns them.

pub mod bindings;

use crate::{CompileOptions, Emit, OptLevel};
use kiln_abi::metadata::BoundsChecks;
use kiln_abi::symbols;
use kiln_abi::target::Target;
use std::path::{Path, PathBuf};

/// What went wrong in a build script.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// No input was given with [`Build::file`].
    #[error("kiln::build: no input module; call .file(\"module.wasm\")")]
    NoInput,
    /// The name cannot become a library and symbol prefix.
    #[error("kiln::build: `{0}` is not usable as a library name and symbol prefix (ASCII letters, digits and `_`, not starting with a digit)")]
    BadName(String),
    /// A variable cargo sets for build scripts is missing or wrong.
    #[error("kiln::build: environment variable {name} {problem}; is this running in a cargo build script?")]
    Env {
        /// The variable.
        name: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// Compiling or linking the module failed.
    #[error("kiln::build: compiling `{}` failed: {error}", path.display())]
    Compile {
        /// The input.
        path: PathBuf,
        /// Why.
        error: crate::Error,
    },
    /// The module cannot be given typed bindings.
    #[error("kiln::build: `{}`: {message}", path.display())]
    Bindings {
        /// The input.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The bindings could not be written.
    #[error("kiln::build: {action} `{}`: {error}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
}

/// A build-script compile of one wasm module.
#[derive(Clone, Debug, Default)]
pub struct Build {
    file: Option<PathBuf>,
    opt_level: Option<OptLevel>,
    target: Option<String>,
    cpu: Option<String>,
    features: Vec<String>,
    bounds_checks: Option<BoundsChecks>,
    out_dir: Option<PathBuf>,
    runtime_path: Option<String>,
    shared: bool,
    cargo_metadata: Option<bool>,
}

/// What [`Build::try_compile`] produced.
#[derive(Clone, Debug)]
pub struct Artifacts {
    /// The static archive, or the shared library with [`Build::shared`].
    pub library: PathBuf,
    /// The generated bindings, for `include!`.
    pub bindings: PathBuf,
}

impl Build {
    /// A build with settings from cargo's environment.
    pub fn new() -> Build {
        Build::default()
    }

    /// The module to compile: a `.wasm` binary or `.wat` text.
    pub fn file(&mut self, path: impl AsRef<Path>) -> &mut Build {
        self.file = Some(path.as_ref().to_path_buf());
        self
    }

    /// Optimization level 0–3 (default: cargo's `OPT_LEVEL`; `s` and `z`
    /// there mean size).
    pub fn opt_level(&mut self, level: u32) -> &mut Build {
        self.opt_level = Some(match level {
            0 => OptLevel::O0,
            1 => OptLevel::O1,
            2 => OptLevel::O2,
            _ => OptLevel::O3,
        });
        self
    }

    /// Optimize for size.
    pub fn opt_size(&mut self) -> &mut Build {
        self.opt_level = Some(OptLevel::Os);
        self
    }

    /// The target triple (default: cargo's `TARGET`).
    pub fn target(&mut self, triple: &str) -> &mut Build {
        self.target = Some(triple.to_string());
        self
    }

    /// The CPU to compile for (default: the target's baseline).
    pub fn cpu(&mut self, cpu: &str) -> &mut Build {
        self.cpu = Some(cpu.to_string());
        self
    }

    /// An extra CPU feature, `+name` or `-name`, or a WebAssembly
    /// proposal to turn off, `-name` (`-tail-call`; see
    /// `kiln_llvm::KILN_PROPOSALS`).
    pub fn feature(&mut self, feature: &str) -> &mut Build {
        self.features.push(feature.to_string());
        self
    }

    /// How memory accesses are sandboxed (default: guard regions).
    pub fn bounds_checks(&mut self, mode: BoundsChecks) -> &mut Build {
        self.bounds_checks = Some(mode);
        self
    }

    /// Where outputs go (default: cargo's `OUT_DIR`).
    pub fn out_dir(&mut self, dir: impl AsRef<Path>) -> &mut Build {
        self.out_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// The path of the runtime crate in the generated code (default:
    /// `::kiln::runtime`; `::kiln_loader` for a crate that depends on
    /// `kiln-loader` directly).
    pub fn runtime_path(&mut self, path: &str) -> &mut Build {
        self.runtime_path = Some(path.to_string());
        self
    }

    /// Produce a shared library (`OUT_DIR/libNAME.so`) loaded at run time
    /// with `Module::from_file`, instead of a static archive linked in.
    pub fn shared(&mut self, shared: bool) -> &mut Build {
        self.shared = shared;
        self
    }

    /// Whether to print `cargo:` lines (default: when `OUT_DIR` came from
    /// cargo).
    pub fn cargo_metadata(&mut self, print: bool) -> &mut Build {
        self.cargo_metadata = Some(print);
        self
    }

    /// Compiles the module into the library `name` and writes its
    /// bindings; panics with a message naming the input on failure, as
    /// build scripts do.
    pub fn compile(&self, name: &str) -> Artifacts {
        match self.try_compile(name) {
            Ok(artifacts) => artifacts,
            Err(e) => panic!("{e}"),
        }
    }

    /// [`Build::compile`], returning errors.
    pub fn try_compile(&self, name: &str) -> Result<Artifacts, BuildError> {
        let input = self.file.clone().ok_or(BuildError::NoInput)?;
        if !symbols::is_valid_prefix(name) {
            return Err(BuildError::BadName(name.to_string()));
        }
        let out_dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => PathBuf::from(env("OUT_DIR")?),
        };
        let print = self.cargo_metadata.unwrap_or(self.out_dir.is_none());
        let target = match &self.target {
            Some(t) => t.clone(),
            None => env("TARGET")?,
        };
        let target = Target::parse(&target)
            .map_err(|e| BuildError::Env { name: "TARGET", problem: format!("names a target kiln cannot compile for: {e}") })?;
        let opt_level = match self.opt_level {
            Some(level) => level,
            None => cargo_opt_level()?,
        };
        if print {
            println!("cargo:rerun-if-changed={}", input.display());
            println!("cargo:rerun-if-env-changed=KILN_LLD");
        }

        let library = if self.shared {
            out_dir.join(format!("lib{name}.{}", target.shared_library_extension()))
        } else if target.binary_format() == target_lexicon::BinaryFormat::Coff {
            out_dir.join(format!("{name}.lib"))
        } else {
            out_dir.join(format!("lib{name}.a"))
        };
        let (features, disabled_proposals) =
            crate::split_features(&self.features).map_err(|error| BuildError::Compile {
                path: input.clone(),
                error: crate::Error::Compile { path: input.clone(), error },
            })?;
        let opts = CompileOptions {
            target,
            cpu: self.cpu.clone(),
            features,
            disabled_proposals,
            opt_level,
            bounds_checks: self.bounds_checks.unwrap_or_default(),
            symbol_prefix: (!self.shared).then(|| name.to_string()),
            static_library: !self.shared,
        };
        let compile_err = |error| BuildError::Compile { path: input.clone(), error };
        let emit = if self.shared { Emit::SharedLibrary } else { Emit::StaticLibrary };
        let report = crate::compile_file(&input, &opts, emit, &library).map_err(compile_err)?;
        let facts = report.artifact.ok_or_else(|| BuildError::Bindings {
            path: input.clone(),
            message: "the compile wrote no library".into(),
        })?;

        let link = if self.shared {
            bindings::Link::Shared { library: std::path::absolute(&library).unwrap_or(library.clone()) }
        } else {
            bindings::Link::Static {
                prefix: name.to_string(),
                metadata_len: facts.metadata_len,
                function_slots: facts.function_slots,
            }
        };
        let metadata = facts.metadata;
        let source = bindings::generate(&bindings::Input {
            name,
            source: &input,
            metadata: &metadata,
            link,
            runtime: self.runtime_path.as_deref().unwrap_or("::kiln::runtime"),
        })
        .map_err(|message| BuildError::Bindings { path: input.clone(), message })?;
        let bindings = out_dir.join(format!("{name}.rs"));
        crate::compile::write_atomically(&bindings, source.as_bytes())
            .map_err(|e| io_err("writing", &bindings, e))?;
        if print && !self.shared {
            println!("cargo:rustc-link-search=native={}", out_dir.display());
            println!("cargo:rustc-link-lib=static={name}");
        }
        Ok(Artifacts { library, bindings })
    }
}

fn io_err(action: &'static str, path: &Path, error: impl std::fmt::Display) -> BuildError {
    BuildError::Io { action, path: path.to_path_buf(), error: std::io::Error::other(error.to_string()) }
}

fn env(name: &'static str) -> Result<String, BuildError> {
    std::env::var(name).map_err(|e| BuildError::Env { name, problem: e.to_string() })
}

/// The optimization level cargo asks for: `OPT_LEVEL` (`0`–`3`, `s`,
/// `z`), else from `PROFILE` (`release`: 3, otherwise 0), else 2.
fn cargo_opt_level() -> Result<OptLevel, BuildError> {
    Ok(match std::env::var("OPT_LEVEL").as_deref() {
        Ok("0") => OptLevel::O0,
        Ok("1") => OptLevel::O1,
        Ok("2") => OptLevel::O2,
        Ok("3") => OptLevel::O3,
        Ok("s" | "z") => OptLevel::Os,
        Ok(other) => {
            return Err(BuildError::Env { name: "OPT_LEVEL", problem: format!("is `{other}`, not 0-3, s or z") });
        }
        Err(_) => match std::env::var("PROFILE").as_deref() {
            Ok("release") => OptLevel::O3,
            Ok(_) => OptLevel::O0,
            Err(_) => OptLevel::O2,
        },
    })
}

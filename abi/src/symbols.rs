//! Names of the symbols in a compiled artifact.
//!
//! A kiln library exports exactly two symbols: the metadata blob and the
//! function-pointer table. Everything else has hidden visibility or internal
//! linkage, so nothing else is reachable with `dlsym`. Static archives prefix
//! both names with a user-chosen name so several modules can be linked into
//! one program; there, every other symbol is local to its object, so two
//! modules' archives never clash.
//!
//! A static archive's function table ends with two more entries, the
//! addresses of [`CODE_START`] and [`CODE_END`]: local symbols at the start
//! and end of the module's one code section. A program that links the
//! archive has no other way to tell where the module's code lies, and the
//! runtime needs that range to claim faults in it as traps.

use crate::target::Target;
use target_lexicon::BinaryFormat;

/// The exported metadata blob (header + rkyv archive, 16-byte aligned).
pub const METADATA: &str = "kiln_metadata";

/// The exported table of function pointers; [`crate::metadata`] refers to
/// its entries by index.
pub const FUNCTIONS: &str = "kiln_functions";

/// The metadata symbol, prefixed for static archives.
pub fn metadata_symbol(prefix: Option<&str>) -> String {
    prefixed(prefix, METADATA)
}

/// The function table symbol, prefixed for static archives.
pub fn functions_symbol(prefix: Option<&str>) -> String {
    prefixed(prefix, FUNCTIONS)
}

fn prefixed(prefix: Option<&str>, name: &str) -> String {
    match prefix {
        Some(p) => format!("{p}_{name}"),
        None => name.to_string(),
    }
}

/// Local symbol at the first byte of a static archive's code section.
pub const CODE_START: &str = "kiln_code_start";

/// Local symbol just past the last byte of a static archive's code section.
pub const CODE_END: &str = "kiln_code_end";

/// Number of entries a static archive's function table has after the
/// module's own: the [`CODE_START`] and [`CODE_END`] addresses.
pub const CODE_RANGE_SLOTS: usize = 2;

/// Whether `prefix` may prefix kiln's symbols: a C identifier (ASCII
/// letters, digits and `_`, not starting with a digit), so the prefixed
/// names can be declared from C and Rust.
pub fn is_valid_prefix(prefix: &str) -> bool {
    let mut chars = prefix.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Internal name of defined function `index` (an index in the module's
/// function space). Never exported from the library.
pub fn defined_function(index: u32) -> String {
    format!("kiln_func_{index}")
}

/// Internal name of the array-call trampoline for module type `type_index`.
pub fn array_call_trampoline(type_index: u32) -> String {
    format!("kiln_array_call_{type_index}")
}

/// Internal name of the wasm-to-host trampoline for module type `type_index`.
pub fn wasm_to_host_trampoline(type_index: u32) -> String {
    format!("kiln_wasm_to_host_{type_index}")
}

/// The personality routine of generated functions with landing pads
/// (exception handling): the C language's, which every C runtime's
/// unwinder library has (libgcc_s on Linux, libSystem on macOS).
pub const EH_PERSONALITY: &str = "__gcc_personality_v0";

/// Symbols a library may leave undefined, resolved from the host process when
/// the library is loaded (C names; Mach-O spells them with a leading `_`,
/// see [`object_symbol`]). LLVM emits calls to the first three for large
/// copies and fills, and functions with exception handlers name the
/// personality routine [`EH_PERSONALITY`]; the rounding functions are only referenced on x86_64
/// CPUs without SSE4.1 (kiln's default x86_64 CPU has it).
///
/// This is the list for Linux. Other targets allow a subset
/// ([`allowed_undefined`]).
pub const ALLOWED_UNDEFINED: &[&str] = &[
    "memcpy", "memmove", "memset", EH_PERSONALITY, "ceil", "ceilf", "floor", "floorf", "trunc", "truncf",
    "roundeven", "roundevenf",
];

/// The symbols a library for `target` may leave undefined (C names):
///
/// * Linux: [`ALLOWED_UNDEFINED`], from the C library the host process
///   already has loaded;
/// * macOS: `memcpy`, `memmove`, `memset` and the personality routine, bound to `libSystem`, which every
///   process has (the linker is given a stub of `libSystem` naming exactly
///   these, so no SDK is needed and nothing else can stay undefined); x86_64
///   code for macOS needs SSE4.1, so no rounding functions;
/// * Windows: none. There is no C runtime to import from, so the module
///   defines `memcpy`, `memmove` and `memset` itself, and x86_64 code for
///   Windows needs SSE4.1.
pub fn allowed_undefined(target: &Target) -> &'static [&'static str] {
    match target.binary_format() {
        BinaryFormat::Macho => &ALLOWED_UNDEFINED[..4],
        BinaryFormat::Coff => &[],
        _ => ALLOWED_UNDEFINED,
    }
}

/// The symbols a static archive for `target` may leave undefined (C
/// names), resolved when the program it is linked into is linked: the
/// shared-library list on Linux and macOS; on Windows `_fltused`, which LLVM
/// references from code that uses floating point and the program's C
/// runtime defines (a DLL defines it itself).
pub fn allowed_undefined_static(target: &Target) -> &'static [&'static str] {
    match target.binary_format() {
        BinaryFormat::Coff => &["_fltused"],
        _ => allowed_undefined(target),
    }
}

/// The name a C symbol `name` has in an object file of `format`: Mach-O
/// prefixes an underscore, ELF and COFF (on 64-bit targets) do not.
pub fn object_symbol(format: BinaryFormat, name: &str) -> String {
    match format {
        BinaryFormat::Macho => format!("_{name}"),
        _ => name.to_string(),
    }
}

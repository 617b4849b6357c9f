//! Static archives (`--emit a`) read back with `object`: per target, the
//! archive's objects define exactly the two prefixed kiln symbols
//! globally, everything else is local, nothing is undefined beyond the
//! target's list for static archives, and the code markers the function
//! table ends with are local symbols at the bounds of the one code section.
//! The same input gives the same bytes. Linking and running archives is
//! tested by `tests/static_link.rs` and the example crates.

use kiln::{CompileOptions, Emit};
use kiln_abi::symbols;
use kiln_abi::target::Target;
use object::read::archive::{ArchiveFile, ArchiveKind};
use object::{Architecture, BinaryFormat, Object, ObjectKind, ObjectSection, ObjectSymbol, SectionKind};
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/portable.wat")
}

fn compile_static(triple: &str, prefix: &str, out: &Path) -> Result<(), kiln::Error> {
    let opts = CompileOptions {
        target: Target::parse(triple).unwrap(),
        symbol_prefix: Some(prefix.into()),
        ..CompileOptions::default()
    };
    kiln::compile_file(&fixture(), &opts, Emit::StaticLibrary, out).map(drop)
}

/// What one archive holds, over all its members.
#[derive(Debug, Default)]
struct Symbols {
    global_defined: Vec<String>,
    undefined: Vec<String>,
    /// (name, section index, address) of the code markers.
    markers: Vec<(String, object::SectionIndex, u64)>,
    /// (section index, size) of each member's code sections.
    code_sections: Vec<(object::SectionIndex, u64)>,
    functions_size: u64,
}

fn read(data: &[u8], format: BinaryFormat, arch: Architecture, prefix: &str) -> (ArchiveKind, Symbols) {
    let archive = ArchiveFile::parse(data).unwrap();
    let mut out = Symbols::default();
    let mut members = 0;
    for member in archive.members() {
        let member = member.unwrap();
        members += 1;
        let file = object::File::parse(member.data(data).unwrap()).unwrap();
        assert_eq!((file.format(), file.architecture(), file.kind()), (format, arch, ObjectKind::Relocatable));
        for section in file.sections().filter(|s| s.kind() == SectionKind::Text) {
            out.code_sections.push((section.index(), section.size()));
        }
        for sym in file.symbols() {
            let name = sym.name().unwrap().to_string();
            if name == symbols::CODE_START || name == symbols::CODE_END {
                assert!(sym.is_local(), "{name} must be local");
                out.markers.push((name.clone(), sym.section_index().expect("marker defined"), sym.address()));
            }
            if name == symbols::functions_symbol(Some(prefix)) {
                out.functions_size = sym.size();
            }
            if sym.is_undefined() {
                out.undefined.push(name);
            } else if sym.is_global() {
                out.global_defined.push(name);
            }
        }
    }
    assert!(members > 0);
    out.global_defined.sort();
    (archive.kind(), out)
}

fn check(triple: &str, format: BinaryFormat, arch: Architecture, kind: ArchiveKind) {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("one.a"), dir.path().join("two.a"));
    compile_static(triple, "portable", &a).unwrap();
    compile_static(triple, "portable", &b).unwrap();
    let data = std::fs::read(&a).unwrap();
    assert_eq!(data, std::fs::read(&b).unwrap(), "{triple}: archives differ between two compiles");

    let (found_kind, syms) = read(&data, format, arch, "portable");
    assert_eq!(found_kind, kind, "{triple}");
    assert_eq!(syms.global_defined, ["portable_kiln_functions", "portable_kiln_metadata"], "{triple}");
    let allowed = symbols::allowed_undefined_static(&Target::parse(triple).unwrap());
    for name in &syms.undefined {
        assert!(allowed.contains(&name.as_str()), "{triple}: `{name}` undefined, allowed {allowed:?}");
    }
    // The fixture copies and fills memory.
    if format == BinaryFormat::Elf {
        assert!(syms.undefined.iter().any(|n| n == "memmove" || n == "memcpy"), "{triple}: {:?}", syms.undefined);
    }

    let [(text, size)] = syms.code_sections[..] else { panic!("{triple}: code sections {:?}", syms.code_sections) };
    let mut markers = syms.markers.clone();
    markers.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        markers,
        [(symbols::CODE_END.to_string(), text, size), (symbols::CODE_START.to_string(), text, 0)],
        "{triple}"
    );
    // The function table has the two marker slots after the module's own
    // (COFF records no symbol sizes).
    assert!(
        format == BinaryFormat::Coff || syms.functions_size >= 8 * (symbols::CODE_RANGE_SLOTS as u64 + 1),
        "{triple}"
    );
}

#[test]
fn x86_64_linux_archive() {
    check("x86_64-unknown-linux-gnu", BinaryFormat::Elf, Architecture::X86_64, ArchiveKind::Gnu);
}

#[test]
fn aarch64_linux_archive() {
    check("aarch64-unknown-linux-gnu", BinaryFormat::Elf, Architecture::Aarch64, ArchiveKind::Gnu);
}

#[test]
fn riscv64_linux_archive() {
    check("riscv64gc-unknown-linux-gnu", BinaryFormat::Elf, Architecture::Riscv64, ArchiveKind::Gnu);
}

#[test]
fn windows_lib_is_a_coff_archive_with_only_the_prefixed_symbols_global() {
    check("x86_64-pc-windows-msvc", BinaryFormat::Coff, Architecture::X86_64, ArchiveKind::Coff);
    // The module's own memcpy and stack probe are there, but local: they
    // must not clash with the program's C runtime.
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("portable.lib");
    compile_static("x86_64-pc-windows-msvc", "portable", &lib).unwrap();
    let data = std::fs::read(&lib).unwrap();
    let archive = ArchiveFile::parse(&*data).unwrap();
    let mut local = Vec::new();
    for member in archive.members() {
        let file = object::File::parse(member.unwrap().data(&*data).unwrap()).unwrap();
        local.extend(
            file.symbols().filter(|s| s.is_local() && s.is_definition()).map(|s| s.name().unwrap().to_string()),
        );
    }
    for name in ["memcpy", "memset", "__chkstk"] {
        assert!(local.iter().any(|l| l == name), "`{name}` not defined locally: {local:?}");
    }
    // The archive's symbol map names the prefixed symbols for the linker.
    let map: Vec<String> =
        archive.symbols().unwrap().unwrap().map(|s| String::from_utf8_lossy(s.unwrap().name()).into_owned()).collect();
    assert!(map.contains(&"portable_kiln_functions".to_string()), "{map:?}");
    assert!(map.contains(&"portable_kiln_metadata".to_string()), "{map:?}");
}

#[test]
fn prefixes_change_only_the_two_names() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.a");
    compile_static("x86_64-unknown-linux-gnu", "first_module", &a).unwrap();
    let (_, syms) = read(&std::fs::read(&a).unwrap(), BinaryFormat::Elf, Architecture::X86_64, "first_module");
    assert_eq!(syms.global_defined, ["first_module_kiln_functions", "first_module_kiln_metadata"]);
}

#[test]
fn bad_prefixes_and_macos_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.a");
    for bad in ["", "1abc", "a-b", "ä"] {
        let err = compile_static("x86_64-unknown-linux-gnu", bad, &out).unwrap_err().to_string();
        assert!(err.contains("C identifier"), "{bad:?}: {err}");
    }
    let opts = CompileOptions { symbol_prefix: None, ..CompileOptions::default() };
    let err = kiln::compile_file(&fixture(), &opts, Emit::StaticLibrary, &out).unwrap_err().to_string();
    assert!(err.contains("symbol prefix"), "{err}");
    let err = compile_static("aarch64-apple-darwin", "m", &out).unwrap_err().to_string();
    assert!(err.contains("static library") && err.contains("aarch64-apple-darwin"), "{err}");
    assert!(!out.exists());
}

//! Static archives (`--emit a`) read back with `object`: per target, the
//! archive's objects define exactly the two prefixed kiln symbols
//! globally, everything else is local, nothing is undefined beyond the
//! target's list for static archives, and the code markers the function
//! table ends with are local symbols at the bounds of the one code section.
//! The same input gives the same bytes. A macOS archive is also linked
//! with LLD's Mach-O flavour, to see that the markers still bound the
//! module's code in the linked image; linking and running archives on the
//! host is tested by the example crates. The build-script API is run for
//! every target, and the sizes its bindings declare checked against the
//! archive.

use kiln::{CompileOptions, Emit};
use kiln_abi::symbols;
use kiln_abi::target::Target;
use object::read::archive::{ArchiveFile, ArchiveKind};
use object::{Architecture, BinaryFormat, Object, ObjectKind, ObjectSection, ObjectSymbol, SectionKind};
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/portable.wat")
}

fn compile_static(triple: &str, prefix: &str, out: &Path) -> Result<kiln::CompileReport, kiln::Error> {
    let opts = CompileOptions {
        target: Target::parse(triple).unwrap(),
        symbol_prefix: Some(prefix.into()),
        ..CompileOptions::default()
    };
    kiln::compile_file(&fixture(), &opts, Emit::StaticLibrary, out)
}

/// A symbol's name as C spells it (Mach-O prefixes an underscore).
fn c_name(format: BinaryFormat, name: &str) -> String {
    match format {
        BinaryFormat::MachO => name.strip_prefix('_').unwrap_or(name).to_string(),
        _ => name.to_string(),
    }
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
            let name = c_name(format, sym.name().unwrap());
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
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&a).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "{triple}: archive mode {mode:o}");
    }

    // `kiln inspect` reads an archive's metadata from the file, as it does a library's.
    let metadata = kiln::runtime::read_metadata(&a).unwrap().to_metadata().unwrap();
    assert_eq!(metadata.target.triple, triple);
    assert!(metadata.exports.iter().any(|e| e.name == "dispatch"), "{triple}");

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
    // (COFF and Mach-O record no symbol sizes).
    assert!(
        format != BinaryFormat::Elf || syms.functions_size >= 8 * (symbols::CODE_RANGE_SLOTS as u64 + 1),
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
fn x86_64_macos_archive() {
    check("x86_64-apple-darwin", BinaryFormat::MachO, Architecture::X86_64, ArchiveKind::Bsd);
}

#[test]
fn aarch64_macos_archive() {
    check("aarch64-apple-darwin", BinaryFormat::MachO, Architecture::Aarch64, ArchiveKind::Bsd);
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
fn bad_prefixes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.a");
    for bad in ["", "1abc", "a-b", "ä"] {
        let err = compile_static("x86_64-unknown-linux-gnu", bad, &out).unwrap_err().to_string();
        assert!(err.contains("C identifier"), "{bad:?}: {err}");
    }
    let opts = CompileOptions { symbol_prefix: None, ..CompileOptions::default() };
    let err = kiln::compile_file(&fixture(), &opts, Emit::StaticLibrary, &out).unwrap_err().to_string();
    assert!(err.contains("symbol prefix"), "{err}");
    assert!(!out.exists());
}

/// The six targets' triples.
const TARGETS: [&str; 6] = [
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "riscv64gc-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
];

fn first_existing(candidates: &[&str]) -> PathBuf {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_absolute() && p.exists())
        .or_else(|| candidates.iter().find(|c| !c.starts_with('/')).map(PathBuf::from))
        .unwrap()
}

fn run(command: &mut std::process::Command) {
    let out = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(out.status.success(), "{command:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Links each macOS archive into a dylib with `ld64.lld`, beside an object
/// that refers to both prefixed symbols, and reads the linked function
/// table back: the markers are as far apart as the archive's code section
/// is long, lie in the image's code section, and every entry of the
/// module's lies between them.
#[test]
fn macos_archives_link_with_their_code_whole() {
    let clang = first_existing(&["/usr/lib/llvm-19/bin/clang", "clang-19"]);
    let lld = first_existing(&["/usr/lib/llvm-19/bin/ld64.lld", "ld64.lld-19"]);
    for (triple, clang_target, arch, version) in [
        ("x86_64-apple-darwin", "x86_64-apple-macos10.15", "x86_64", "10.15"),
        ("aarch64-apple-darwin", "arm64-apple-macos11", "arm64", "11.0"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("libportable.a");
        let report = compile_static(triple, "portable", &lib).unwrap();
        let slots = report.artifact.unwrap().function_slots;
        let archive_data = std::fs::read(&lib).unwrap();
        let (_, archived) = read(&archive_data, BinaryFormat::MachO, arch_of(triple), "portable");
        let [(_, code_size)] = archived.code_sections[..] else { panic!("{triple}") };

        let source = dir.path().join("refer.c");
        std::fs::write(
            &source,
            "extern const void *const portable_kiln_functions[];\n\
             extern const unsigned char portable_kiln_metadata[];\n\
             const void *const *table(void) { return portable_kiln_functions; }\n\
             const unsigned char *metadata(void) { return portable_kiln_metadata; }\n",
        )
        .unwrap();
        let object = dir.path().join("refer.o");
        run(std::process::Command::new(&clang).arg(format!("--target={clang_target}")).args(["-O2", "-c"]).arg(&source).arg("-o").arg(&object));
        let dylib = dir.path().join("linked.dylib");
        run(std::process::Command::new(&lld)
            .args(["-arch", arch, "-platform_version", "macos", version, version, "-dylib", "-no_fixup_chains"])
            .args(["-undefined", "dynamic_lookup", "-o"])
            .arg(&dylib)
            .arg(&object)
            .arg(&lib));

        let data = std::fs::read(&dylib).unwrap();
        let image = object::File::parse(&*data).unwrap();
        let table = image.symbols().find(|s| s.name() == Ok("_portable_kiln_functions")).expect("table linked");
        let section = image.section_by_index(table.section_index().unwrap()).unwrap();
        let at = (table.address() - section.address()) as usize;
        let bytes = &section.data().unwrap()[at..at + 8 * slots];
        let entries: Vec<u64> = bytes.chunks(8).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect();
        let (start, end) = (entries[slots - 2], entries[slots - 1]);
        assert_eq!(end - start, code_size, "{triple}: markers {start:#x}..{end:#x}");
        let text = image.section_by_name("__text").unwrap();
        assert!(text.address() <= start && end <= text.address() + text.size(), "{triple}");
        for &entry in &entries[..slots - 2] {
            assert!((start..end).contains(&entry), "{triple}: entry {entry:#x} outside {start:#x}..{end:#x}");
        }
    }
}

fn arch_of(triple: &str) -> Architecture {
    if triple.starts_with("aarch64") { Architecture::Aarch64 } else { Architecture::X86_64 }
}

/// `kiln::build` for every target: the bindings declare the metadata
/// symbol as long as the blob's own header says (found in the archive's
/// bytes) and the function table as long as the x86_64 Linux archive's
/// symbol size says (the same module has the same table everywhere).
#[test]
fn build_script_bindings_declare_the_archive_symbols_on_every_target() {
    let reference = tempfile::tempdir().unwrap();
    let elf = reference.path().join("ref.a");
    compile_static("x86_64-unknown-linux-gnu", "portable", &elf).unwrap();
    let (_, syms) = read(&std::fs::read(&elf).unwrap(), BinaryFormat::Elf, Architecture::X86_64, "portable");
    let slots = syms.functions_size / 8;

    for triple in TARGETS {
        let dir = tempfile::tempdir().unwrap();
        let artifacts = kiln::build::Build::new()
            .file(fixture())
            .target(triple)
            .opt_level(2)
            .out_dir(dir.path())
            .cargo_metadata(false)
            .try_compile("plugin")
            .unwrap_or_else(|e| panic!("{triple}: {e}"));
        let archive = std::fs::read(&artifacts.library).unwrap();
        let magic = archive.windows(8).position(|w| w == b"KILNMETA").expect("metadata in the archive");
        let header = kiln_abi::artifact::read_header(&archive[magic..]).unwrap();
        let bindings = std::fs::read_to_string(&artifacts.bindings).unwrap();
        let metadata = format!("static __KILN_METADATA: [u8; {}];", header.blob_len());
        let functions = format!("static __KILN_FUNCTIONS: [*const ::core::ffi::c_void; {slots}];");
        assert!(bindings.contains(&metadata), "{triple}: no `{metadata}` in\n{bindings}");
        assert!(bindings.contains(&functions), "{triple}: no `{functions}` in\n{bindings}");
    }
}

//! An artifact for every supported target, built on this host with no SDK
//! of the target, read back with `object` the way a foreign loader would
//! see it: the target's format, architecture and bitness; kiln's two
//! symbols as the only exports; nothing undefined beyond the target's
//! short list (`kiln_abi::symbols::allowed_undefined`) and no library
//! needed beyond the one it names; and metadata that reads back equal to
//! the x86_64 Linux build's, apart from the target fields and the code
//! size.

use kiln::{CompileOptions, Emit};
use kiln_abi::ModuleMetadata;
use kiln_abi::symbols;
use kiln_abi::target::{SUPPORTED, Target};
use object::{Architecture, BinaryFormat, Endianness, FileFlags, NameOrOrdinal, Object, ObjectKind, ObjectSection, ObjectSymbol};
use std::path::{Path, PathBuf};

/// Compiles the portable fixture (integer, float and SIMD code, memory,
/// bulk memory, tables, traps) for `triple`.
fn compile(triple: &str, dir: &Path) -> PathBuf {
    let target = Target::parse(triple).unwrap();
    let wat = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/portable.wat");
    let out = dir.join(format!("portable-{triple}.{}", target.shared_library_extension()));
    let opts = CompileOptions { target, ..CompileOptions::default() };
    kiln::compile_file(&wat, &opts, Emit::SharedLibrary, &out).unwrap_or_else(|e| panic!("compiling for {triple}: {e}"));
    out
}

fn name(n: NameOrOrdinal<&[u8]>) -> String {
    match n {
        NameOrOrdinal::Name(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        NameOrOrdinal::Ordinal(o) => format!("#{o}"),
    }
}

/// What the artifact exports and leaves undefined, by the means a loader
/// of its format uses: the dynamic symbol table for ELF, the export trie
/// and binds (plus the symbol table) for Mach-O, the export and import
/// tables for PE.
fn exports_and_undefined(file: &object::File) -> (Vec<String>, Vec<String>) {
    let (mut exports, mut undefined) = (Vec::new(), Vec::new());
    if file.format() == BinaryFormat::Elf {
        for s in file.dynamic_symbols().filter(|s| !s.name().unwrap().is_empty()) {
            let n = s.name().unwrap().to_string();
            if s.is_undefined() {
                undefined.push(n);
            } else if s.is_global() {
                exports.push(n);
            }
        }
    } else {
        exports.extend(file.exports().unwrap().map(|e| name(e.unwrap().name())));
        undefined.extend(file.imports().unwrap().map(|i| name(i.unwrap().name())));
        undefined.extend(file.symbols().filter(|s| s.is_undefined()).map(|s| s.name().unwrap().to_string()));
        // Every global symbol the symbol table defines must be exported too.
        let globals = file.symbols().filter(|s| s.is_global() && !s.is_undefined());
        exports.extend(globals.map(|s| s.name().unwrap().to_string()));
        exports.dedup();
    }
    exports.sort();
    exports.dedup();
    (exports, undefined)
}

/// The metadata with the fields that legitimately differ between targets
/// cleared.
fn portable_part(mut meta: ModuleMetadata) -> ModuleMetadata {
    meta.target = Default::default();
    meta.code_size = 0;
    meta
}

#[test]
fn every_target_gives_a_library_a_foreign_loader_accepts() {
    assert_eq!(SUPPORTED.len(), 6);
    let dir = tempfile::tempdir().unwrap();
    let reference = kiln_loader::read_metadata(compile("x86_64-unknown-linux-gnu", dir.path())).unwrap();
    let reference = portable_part(reference.to_metadata().unwrap());
    assert!(reference.exports.len() > 20 && !reference.types.is_empty(), "the fixture is not what it was");

    for (triple, cpu) in SUPPORTED {
        let target = Target::parse(triple).unwrap();
        let lib = compile(triple, dir.path());
        let data = std::fs::read(&lib).unwrap();
        let file = object::File::parse(&*data).unwrap();

        let (format, arch) = match *triple {
            "x86_64-unknown-linux-gnu" => (BinaryFormat::Elf, Architecture::X86_64),
            "aarch64-unknown-linux-gnu" => (BinaryFormat::Elf, Architecture::Aarch64),
            "riscv64gc-unknown-linux-gnu" => (BinaryFormat::Elf, Architecture::Riscv64),
            "x86_64-apple-darwin" => (BinaryFormat::MachO, Architecture::X86_64),
            "aarch64-apple-darwin" => (BinaryFormat::MachO, Architecture::Aarch64),
            "x86_64-pc-windows-msvc" => (BinaryFormat::Pe, Architecture::X86_64),
            other => panic!("no expectations for {other}"),
        };
        assert_eq!((file.format(), file.architecture()), (format, arch), "{triple}");
        assert!(file.is_64() && file.endianness() == Endianness::Little, "{triple}");
        assert_eq!(file.kind(), ObjectKind::Dynamic, "{triple}");

        let (exports, undefined) = exports_and_undefined(&file);
        let mangle = |n: &str| symbols::object_symbol(target.binary_format(), n);
        let mut want = vec![mangle(symbols::FUNCTIONS), mangle(symbols::METADATA)];
        want.sort();
        assert_eq!(exports, want, "{triple}");
        let allowed: Vec<String> = symbols::allowed_undefined(&target).iter().map(|n| mangle(n)).collect();
        for u in &undefined {
            assert!(allowed.contains(u), "{triple}: `{u}` is undefined; allowed: {allowed:?}");
        }
        let libraries: Vec<String> =
            file.import_libraries().unwrap().map(|l| String::from_utf8_lossy(l.unwrap().name()).into_owned()).collect();

        match format {
            BinaryFormat::Elf => {
                assert!(libraries.is_empty(), "{triple} needs {libraries:?}");
                assert!(undefined.contains(&"memmove".to_string()), "{triple}: bulk memory should call memmove");
                if arch == Architecture::Riscv64 {
                    // lp64d, compressed instructions: what Debian's riscv64 userland uses.
                    let FileFlags::Elf { e_flags, .. } = file.flags() else { panic!("ELF flags") };
                    assert_eq!(e_flags, object::elf::EF_RISCV_FLOAT_ABI_DOUBLE | object::elf::EF_RISCV_RVC, "{triple}");
                }
            }
            BinaryFormat::MachO => {
                assert_eq!(libraries, ["/usr/lib/libSystem.B.dylib"], "{triple}");
                assert!(undefined.contains(&"_memmove".to_string()), "{triple}: {undefined:?}");
                let id = b"@rpath/libkiln-module.dylib";
                assert!(data.windows(id.len()).any(|w| w == id), "{triple}: install name");
            }
            _ => {
                assert!(libraries.is_empty() && undefined.is_empty(), "{triple} imports {libraries:?} {undefined:?}");
                assert_eq!(file.entry(), file.relative_address_base(), "{triple}: a DLL without entry point");
                assert!(file.section_by_name(".pdata").is_some(), "{triple}: no unwind data (.pdata)");
            }
        }

        let meta = kiln_loader::read_metadata(&lib).unwrap_or_else(|e| panic!("{triple}: {e}"));
        let meta = meta.to_metadata().unwrap();
        assert_eq!(meta.target.triple, *triple);
        assert_eq!(meta.target.cpu, *cpu);
        assert_eq!(meta.target.pointer_size, 8);
        assert!(meta.code_size > 0);
        assert!(portable_part(meta) == reference, "{triple}: metadata differs from x86_64's beyond the target");
    }
}

/// `--features` and `--cpu` are checked against the target's own names.
#[test]
fn cpu_and_feature_names_are_the_targets() {
    let wasm = wat::parse_str(r#"(module (func (export "f") (param f32) (result f32) (f32.floor (local.get 0))))"#).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let compile = |triple: &str, cpu: Option<&str>, features: &[&str]| {
        let opts = CompileOptions {
            target: Target::parse(triple).unwrap(),
            cpu: cpu.map(str::to_string),
            features: features.iter().map(|f| f.to_string()).collect(),
            ..CompileOptions::default()
        };
        let out = dir.path().join("f.ll");
        kiln::compile_to_file(&wasm, Path::new("f.wat"), &opts, Emit::LlvmIr, &out).map(drop).map_err(|e| e.to_string())
    };
    let rv = "riscv64gc-unknown-linux-gnu";
    assert_eq!(compile(rv, None, &["+zba", "+zbb", "-c"]), Ok(()));
    let e = compile(rv, None, &["+zbbb"]).unwrap_err();
    assert!(e.contains("`zbbb`") && e.contains(rv) && e.contains("did you mean `zbb`?") && e.contains("-mattr=help"), "{e}");
    let e = compile(rv, None, &["+avx2"]).unwrap_err();
    assert!(e.contains("unknown CPU feature `avx2`") && e.contains(rv), "{e}");
    let e = compile(rv, None, &["-d"]).unwrap_err();
    assert!(e.contains("calling convention"), "{e}");
    let e = compile(rv, Some("x86-64-v2"), &[]).unwrap_err();
    assert!(e.contains("unknown CPU `x86-64-v2`") && e.contains(rv) && e.contains("-mcpu=help"), "{e}");
    assert!(e.contains("the default is `generic-rv64`"), "{e}");
    // Every CPU LLVM knows for the target, as clang accepts them.
    for (triple, cpu) in [("x86_64-unknown-linux-gnu", "znver4"), ("aarch64-apple-darwin", "apple-m1"), (rv, "sifive-u74")] {
        assert_eq!(compile(triple, Some(cpu), &[]), Ok(()), "{triple} {cpu}");
    }
    let e = compile("x86_64-apple-darwin", Some("x86-64-v5"), &[]).unwrap_err();
    assert!(e.contains("did you mean `x86-64-v"), "{e}");
    // Without a C library, x86_64 rounding must be one instruction.
    let e = compile("x86_64-pc-windows-msvc", Some("x86-64"), &[]).unwrap_err();
    assert!(e.contains("SSE4.1"), "{e}");
    assert_eq!(compile("x86_64-pc-windows-msvc", Some("x86-64"), &["+sse4.1"]), Ok(()));
    assert_eq!(compile("x86_64-unknown-linux-gnu", Some("x86-64"), &[]), Ok(()));
    let e = compile("aarch64-apple-darwin", Some("native"), &[]).unwrap_err();
    assert!(e.contains("native"), "{e}");
}

/// A module with exception handlers, for every target: ELF and Mach-O
/// libraries carry the call-site tables (`.gcc_except_table`,
/// `__gcc_except_tab`) and the frame data the unwinder reads
/// (`.eh_frame_hdr` for ELF, `__unwind_info`/`__eh_frame` for Mach-O),
/// and leave only the personality routine undefined beyond the usual
/// list; Windows refuses the module with an error that says why.
#[test]
fn exception_handlers_reach_every_target_that_has_an_unwinder() {
    const MODULE: &str = r#"(module
      (tag $e (export "e") (param i32))
      (func $throw (param i32) (throw $e (local.get 0)))
      (func (export "catch") (param i32) (result i32)
        (block $h (result i32)
          (try_table (catch $e $h) (call $throw (local.get 0)))
          (i32.const -1))))"#;
    let dir = tempfile::tempdir().unwrap();
    let wat = dir.path().join("exceptions.wat");
    std::fs::write(&wat, MODULE).unwrap();
    for (triple, _) in SUPPORTED {
        let target = Target::parse(triple).unwrap();
        let out = dir.path().join(format!("exceptions-{triple}.{}", target.shared_library_extension()));
        let opts = CompileOptions { target: target.clone(), ..CompileOptions::default() };
        let result = kiln::compile_file(&wat, &opts, Emit::SharedLibrary, &out);
        if target.is_windows() {
            let error = result.expect_err("Windows has no personality routine for landing pads yet").to_string();
            assert!(error.contains("exception handling is not implemented for Windows"), "{error}");
            continue;
        }
        result.unwrap_or_else(|e| panic!("compiling for {triple}: {e}"));
        let data = std::fs::read(&out).unwrap();
        let file = object::File::parse(&*data).unwrap();
        let sections: Vec<&str> = file.sections().filter_map(|s| s.name().ok()).collect();
        let wanted: &[&str] = match file.format() {
            BinaryFormat::MachO => &["__gcc_except_tab", "__unwind_info"],
            _ => &[".gcc_except_table", ".eh_frame_hdr", ".eh_frame"],
        };
        for section in wanted {
            assert!(sections.contains(section), "{triple}: no {section} in {sections:?}");
        }
        let (_, undefined) = exports_and_undefined(&file);
        let personality = symbols::object_symbol(target.binary_format(), symbols::EH_PERSONALITY);
        assert!(undefined.contains(&personality), "{triple}: {undefined:?}");
        let allowed: Vec<String> =
            symbols::allowed_undefined(&target).iter().map(|n| symbols::object_symbol(target.binary_format(), n)).collect();
        assert!(undefined.iter().all(|u| allowed.contains(u)), "{triple}: {undefined:?} beyond {allowed:?}");
    }
}

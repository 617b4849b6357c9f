//! Loading libraries: every rejection path names the file and the problem,
//! and none of them runs code or crashes.

mod common;

use common::{ModuleBuilder, basic};
use kiln_abi::metadata::{ExternKind, ModuleMetadata};
use kiln_loader::{Engine, LoadError, LoadErrorKind, Module, read_metadata};
use std::path::Path;

fn load(path: &Path) -> Result<Module, LoadError> {
    Module::from_file(&Engine::default(), path)
}

fn trivial() -> ModuleBuilder {
    let mut m = ModuleBuilder::new();
    let t = m.ty(&[], &[common::I32], "v_i");
    m.func(t, "const42", true);
    m
}

const CONST42: &str = "WASM int32_t const42(void *vmctx, void *caller) { (void)vmctx, (void)caller; return 42; }\n";

fn source() -> String {
    format!("{}\n{CONST42}", basic::TRAMPOLINES)
}

fn build(m: &ModuleBuilder) -> common::Library {
    m.build(&source())
}

/// Offset of the metadata blob in a library file.
fn blob_offset(bytes: &[u8]) -> usize {
    bytes.windows(8).position(|w| w == kiln_abi::artifact::MAGIC).expect("the blob is in the file")
}

fn copy_with(lib: &common::Library, edit: impl FnOnce(&mut Vec<u8>)) -> std::path::PathBuf {
    let mut bytes = std::fs::read(&lib.path).unwrap();
    edit(&mut bytes);
    let path = lib.dir.path().join("edited.so");
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Seals `bytes`, a sealed library that was edited, again: the edit is
/// then what a library kiln linked that way would hold.
fn seal_again(bytes: &mut Vec<u8>) {
    bytes.truncate(bytes.len() - kiln_abi::seal::SIZE);
    kiln_abi::seal::seal(bytes);
}

#[test]
fn a_good_library_loads() {
    let lib = build(&trivial());
    let module = load(&lib.path).unwrap();
    assert_eq!(module.exports().collect::<Vec<_>>(), [("const42", ExternKind::Func)]);
    assert_eq!(module.path(), lib.path);
}

#[test]
fn a_missing_file_is_named() {
    let e = load(Path::new("/nonexistent/kiln/lib.so")).unwrap_err();
    assert!(matches!(e.kind, LoadErrorKind::Io(_)));
    let msg = e.to_string();
    assert!(msg.contains("/nonexistent/kiln/lib.so") && msg.contains("No such file"), "{msg}");
}

#[test]
fn a_truncated_library_is_rejected() {
    let lib = build(&trivial());
    for len in [0, 10, 64, 200, 1000] {
        let path = copy_with(&lib, |b| b.truncate(len));
        let e = load(&path).unwrap_err();
        assert!(matches!(e.kind, LoadErrorKind::Malformed(_)), "truncated to {len}: {e}");
        assert!(e.to_string().contains("edited.so"), "{e}");
    }
    let path = copy_with(&lib, |b| {
        let at = blob_offset(b);
        b.truncate(at + 40);
    });
    let e = load(&path).unwrap_err();
    assert!(matches!(e.kind, LoadErrorKind::Malformed(_) | LoadErrorKind::Metadata(_)), "{e}");
}

#[test]
fn a_flipped_metadata_byte_is_a_checksum_error() {
    let lib = build(&trivial());
    let path = copy_with(&lib, |b| {
        let at = blob_offset(b) + kiln_abi::artifact::HEADER_SIZE + 5;
        b[at] ^= 0x40;
        seal_again(b);
    });
    let e = load(&path).unwrap_err();
    assert!(matches!(e.kind, LoadErrorKind::Metadata(kiln_abi::MetadataError::ChecksumMismatch { .. })), "{e}");
    assert!(e.to_string().contains("checksum mismatch"), "{e}");
    assert!(e.to_string().contains("damaged"), "{e}");
    assert!(read_metadata(&path).is_err());
}

#[test]
fn another_format_version_is_named() {
    let lib = build(&trivial());
    let path = copy_with(&lib, |b| {
        let at = blob_offset(b) + 8;
        b[at..at + 4].copy_from_slice(&(kiln_abi::FORMAT_VERSION + 1).to_le_bytes());
        seal_again(b);
    });
    let e = load(&path).unwrap_err();
    let newer = format!("artifact format version {} is not supported", kiln_abi::FORMAT_VERSION + 1);
    assert!(e.to_string().contains(&newer), "{e}");
    // A library of format 5 had no seal: its version is named all the same.
    let path = copy_with(&lib, |b| {
        let at = blob_offset(b) + 8;
        b[at..at + 4].copy_from_slice(&5u32.to_le_bytes());
        b.truncate(b.len() - kiln_abi::seal::SIZE);
    });
    let e = load(&path).unwrap_err();
    assert!(e.to_string().contains("artifact format version 5 is not supported"), "{e}");
}

#[test]
fn another_target_is_named_and_still_inspectable() {
    let mut m = trivial();
    m.meta.target.triple = "aarch64-unknown-linux-gnu".into();
    let lib = build(&m);
    let e = load(&lib.path).unwrap_err();
    let host = kiln_abi::target::Target::host().name();
    assert!(e.to_string().ends_with(&format!("built for aarch64-unknown-linux-gnu, this host is {host}")), "{e}");
    let meta = read_metadata(&lib.path).unwrap();
    assert_eq!(meta.get().target.triple.as_str(), "aarch64-unknown-linux-gnu");
}

#[test]
fn another_pointer_size_is_rejected() {
    let mut m = trivial();
    m.meta.target.pointer_size = 4;
    let e = load(&build(&m).path).unwrap_err();
    assert!(matches!(e.kind, LoadErrorKind::PointerSize { built_for: 4, .. }), "{e}");
}

#[test]
fn cpu_features_are_checked() {
    let mut m = trivial();
    m.meta.target.features = vec!["sse4.2".into(), "kiln-imaginary-feature".into()];
    let e = load(&build(&m).path).unwrap_err();
    assert!(e.to_string().contains("cannot check on this host"), "{e}");
    assert!(e.to_string().contains("kiln-imaginary-feature"), "{e}");

    #[cfg(target_arch = "x86_64")]
    {
        let lacking: Vec<String> = ["avx512f", "avx512vp2intersect", "avx512fp16", "amx-tile"]
            .into_iter()
            .filter(|f| match *f {
                "avx512f" => !std::arch::is_x86_feature_detected!("avx512f"),
                "avx512fp16" => !std::arch::is_x86_feature_detected!("avx512fp16"),
                _ => false,
            })
            .map(String::from)
            .collect();
        if let Some(feature) = lacking.first() {
            m.meta.target.features = vec!["sse2".into(), feature.clone()];
            let e = load(&build(&m).path).unwrap_err();
            assert!(
                matches!(&e.kind, LoadErrorKind::MissingCpuFeatures(f) if f == std::slice::from_ref(feature)),
                "{e}"
            );
            assert!(e.to_string().contains(&format!("requires CPU features this host lacks: {feature}")), "{e}");
        }
        m.meta.target.cpu = "x86-64-v2".into();
        m.meta.target.features = vec![];
        load(&build(&m).path).expect("kiln's default CPU runs on this host");
    }
}

#[test]
fn files_that_are_not_kiln_libraries() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello").unwrap();
    let e = load(&text).unwrap_err();
    assert!(matches!(e.kind, LoadErrorKind::Malformed(_)), "{e}");

    let plain = dir.path().join("plain.so");
    common::compile(dir.path(), &[("plain.c", "int f(void) { return 1; }\n")], &["-shared"], &plain);
    let e = load(&plain).unwrap_err();
    assert!(matches!(e.kind, LoadErrorKind::NotKiln), "{e}");
    assert!(e.to_string().contains("not a kiln library"), "{e}");

    let object = dir.path().join("plain.o");
    common::compile(dir.path(), &[("plain.c", "int f(void) { return 1; }\n")], &["-c"], &object);
    let e = load(&object).unwrap_err();
    assert!(matches!(e.kind, LoadErrorKind::NotALibrary(_)), "{e}");
}

#[test]
fn metadata_of_an_object_file_can_be_read() {
    let m = trivial();
    let lib = build(&m);
    let object = lib.dir.path().join("artifact.o");
    common::compile(lib.dir.path(), &[], &["-c", "artifact.c"], &object);
    let meta = read_metadata(&object).unwrap();
    assert_eq!(meta.get().exports[0].name.as_str(), "const42");
}

#[test]
fn imports_from_the_host_process_are_limited() {
    let m = trivial();
    let source =
        format!("{}\nextern int puts(const char *);\nWASM int32_t say(void) {{ return puts(\"hi\"); }}\n", source());
    let lib = m.build(&source);
    let e = load(&lib.path).unwrap_err();
    assert!(matches!(&e.kind, LoadErrorKind::UndefinedSymbol(s) if s == "puts"), "{e}");
}

#[test]
fn inconsistent_metadata_is_rejected() {
    let mut m = trivial();
    m.export("ghost", ExternKind::Func, 9);
    let e = load(&build(&m).path).unwrap_err();
    assert!(matches!(e.kind, LoadErrorKind::InvalidMetadata(_)), "{e}");
    assert!(e.to_string().contains("export `ghost` refers to function 9"), "{e}");

    let mut m = trivial();
    m.meta.types[0].array_call = 99;
    let e = load(&build(&m).path).unwrap_err();
    assert!(e.to_string().contains("slot 99"), "{e}");

    let mut m = trivial();
    m.meta.functions[0].type_index = 5;
    assert!(matches!(load(&build(&m).path).unwrap_err().kind, LoadErrorKind::InvalidMetadata(_)));
}

#[test]
fn garbage_metadata_never_crashes() {
    // Random payloads with a correct header and checksum: rkyv validation
    // must reject them all without panicking.
    let m = trivial();
    let slots: Vec<String> = ["ac_v_i", "w2h_v_i", "const42"].map(String::from).to_vec();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for len in [0usize, 1, 16, 64, 300] {
        let payload: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let build = kiln_loader::COMPILER_BUILD.as_bytes();
        let mut blob = kiln_abi::artifact::MAGIC.to_vec();
        blob.extend_from_slice(&kiln_abi::FORMAT_VERSION.to_le_bytes());
        blob.extend_from_slice(&(build.len() as u32).to_le_bytes());
        blob.extend_from_slice(&(len as u64).to_le_bytes());
        blob.extend_from_slice(&0u64.to_le_bytes());
        blob.extend_from_slice(build);
        blob.resize(blob.len().next_multiple_of(16), 0);
        blob.extend_from_slice(&payload);
        let sum = kiln_abi::artifact::checksum(&blob);
        blob[24..32].copy_from_slice(&sum.to_le_bytes());
        let lib = common::build_library_with_blob(&blob, &m.meta, &slots, &source(), &[]);
        let e = load(&lib.path).unwrap_err();
        assert!(matches!(e.kind, LoadErrorKind::Metadata(kiln_abi::MetadataError::Invalid(_))), "{len} bytes: {e}");
    }
    let _ = ModuleMetadata::default();
}

#[test]
fn the_same_library_loads_twice() {
    let lib = build(&trivial());
    let engine = Engine::default();
    let a = Module::from_file(&engine, &lib.path).unwrap();
    let b = Module::from_file(&engine, &lib.path).unwrap();
    drop(a);
    let mut store = kiln_loader::Store::new(&engine);
    let i = kiln_loader::Instance::new(&mut store, &b, &[]).unwrap();
    let f = i.get_typed_func::<(), i32>(&store, "const42").unwrap();
    assert_eq!(f.call(&mut store, ()).unwrap(), 42);
}

#[test]
fn a_bare_file_name_is_opened_in_the_current_directory() {
    // dlopen("module.so") would search the library path; the loader must
    // open the file it checked. Runs in a child to change directory safely.
    if let Some(name) = std::env::var_os("KILN_CHILD_LIB") {
        let module = load(Path::new(&name)).unwrap();
        assert_eq!(module.exports().count(), 1);
        return;
    }
    let lib = build(&trivial());
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["a_bare_file_name_is_opened_in_the_current_directory", "--exact", "--test-threads=1"])
        .current_dir(lib.dir.path())
        .env("KILN_CHILD_LIB", "module.so")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

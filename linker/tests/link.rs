//! Links objects built by clang and checks the rules every kiln library
//! follows: exactly two exports, a short list of undefined symbols,
//! reproducible bytes, and no output at all when linking fails.

use kiln_abi::target::Target;
use kiln_linker::{LinkError, LinkRequest, OutputKind, link};
use object::{Object, ObjectSection, ObjectSymbol};
use std::path::Path;
use std::process::Command;

fn clang_object(dir: &Path, triple: &str, source: &str) -> Vec<u8> {
    let c = dir.join("input.c");
    let o = dir.join("input.o");
    std::fs::write(&c, source).unwrap();
    let status = Command::new("clang-19")
        .args(["-c", "-O1", "-fPIC", "-fvisibility=hidden"])
        .arg(format!("--target={triple}"))
        .arg("-o")
        .arg(&o)
        .arg(&c)
        .status()
        .expect("clang-19 runs (scripts/setup.sh installs it)");
    assert!(status.success());
    std::fs::read(o).unwrap()
}

const CODE: &str = r#"
static int add(int a, int b) { return a + b; }
__attribute__((visibility("default"))) void *const kiln_functions[] = { (void *)add };
"#;

fn request<'a>(target: &'a Target, objects: &'a [&'a [u8]], metadata: &'a [u8]) -> LinkRequest<'a> {
    LinkRequest { target, objects, metadata, symbol_prefix: None, kind: OutputKind::SharedLibrary }
}

#[test]
fn shared_library_exports_exactly_kiln_symbols() {
    for triple in ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "riscv64gc-unknown-linux-gnu"] {
        let dir = tempfile::tempdir().unwrap();
        let target = Target::parse(triple).unwrap();
        let obj = clang_object(dir.path(), &target.llvm_triple(), CODE);
        let blob = kiln_abi::artifact::encode(&Default::default(), "0.0.0-test");
        let out = dir.path().join("lib.so");
        link(&request(&target, &[&obj], &blob), &out).unwrap();

        let data = std::fs::read(&out).unwrap();
        let file = object::File::parse(&*data).unwrap();
        let exports: Vec<_> = file
            .dynamic_symbols()
            .filter(|s| s.is_global() && !s.is_undefined())
            .map(|s| s.name().unwrap().to_string())
            .collect();
        assert_eq!(exports.len(), 2, "{exports:?}");
        let meta = file.dynamic_symbols().find(|s| s.name() == Ok("kiln_metadata")).unwrap();
        assert_eq!(meta.address() % 16, 0);
        assert_eq!(meta.size(), blob.len() as u64);
        let section = file.section_by_index(meta.section_index().unwrap()).unwrap();
        let bytes = section.data().unwrap();
        let start = (meta.address() - section.address()) as usize;
        assert_eq!(&bytes[start..start + blob.len()], &blob[..]);
        assert!(kiln_abi::artifact::OwnedMetadata::from_blob(&bytes[start..]).is_ok());
    }
}

#[test]
fn same_input_gives_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::parse("x86_64-unknown-linux-gnu").unwrap();
    let obj = clang_object(dir.path(), "x86_64-unknown-linux-gnu", CODE);
    let blob = kiln_abi::artifact::encode(&Default::default(), "0.0.0-test");
    let a = dir.path().join("a.so");
    let b = dir.path().join("sub/b.so");
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    link(&request(&target, &[&obj], &blob), &a).unwrap();
    link(&request(&target, &[&obj], &blob), &b).unwrap();
    assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
}

#[test]
fn failed_link_leaves_no_output_and_keeps_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::parse("x86_64-unknown-linux-gnu").unwrap();
    // `puts` is not on the list of symbols a kiln library may leave undefined.
    let obj = clang_object(
        dir.path(),
        "x86_64-unknown-linux-gnu",
        r#"int puts(const char *);
           static int hello(void) { return puts("hi"); }
           __attribute__((visibility("default"))) void *const kiln_functions[] = { (void *)hello };"#,
    );
    let out = dir.path().join("lib.so");
    std::fs::write(&out, b"previous contents").unwrap();
    let err = link(&request(&target, &[&obj], b"meta"), &out).unwrap_err();
    assert!(matches!(err, LinkError::Verification(ref m) if m.contains("puts")), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"previous contents");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 3, "temporary files left behind: {leftovers:?}");

    let garbage: &[u8] = b"not an object";
    let err = link(&request(&target, &[garbage], b"meta"), &dir.path().join("x.so")).unwrap_err();
    assert!(matches!(err, LinkError::LinkerFailed { .. }), "{err}");
    assert!(!dir.path().join("x.so").exists());
}

#[test]
fn relocatable_output_holds_code_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::parse("x86_64-unknown-linux-gnu").unwrap();
    let obj = clang_object(dir.path(), "x86_64-unknown-linux-gnu", CODE);
    let out = dir.path().join("module.o");
    let objects = [&obj[..]];
    let req = LinkRequest { kind: OutputKind::Object, ..request(&target, &objects, b"0123456789abcdef") };
    link(&req, &out).unwrap();
    let data = std::fs::read(&out).unwrap();
    let file = object::File::parse(&*data).unwrap();
    assert_eq!(file.kind(), object::ObjectKind::Relocatable);
    let names: Vec<_> = file.symbols().filter(|s| s.is_global()).map(|s| s.name().unwrap().to_string()).collect();
    assert!(names.contains(&"kiln_metadata".to_string()) && names.contains(&"kiln_functions".to_string()), "{names:?}");
}

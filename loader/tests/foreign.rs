//! Libraries kiln did not build, or another build of kiln did: each is an
//! error naming the problem, found by reading the file before the dynamic
//! loader sees it, so none of their code ever runs.

mod common;

use common::{ModuleBuilder, basic};
use kiln_abi::MetadataError;
use kiln_loader::{Engine, LoadError, LoadErrorKind, Module, StaticModule};
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

/// C that creates the file `marker` with raw system calls (the library is
/// linked without a C library).
fn create_file(marker: &Path) -> String {
    format!(
        r#"
static void create_marker(void) {{
    static const char path[] = "{}";
#if defined(__x86_64__)
    long fd;
    __asm__ volatile("syscall" : "=a"(fd) : "a"(2L), "D"(path), "S"(0101L), "d"(0644L) : "rcx", "r11", "memory");
    __asm__ volatile("syscall" : : "a"(3L), "D"(fd) : "rcx", "r11", "memory");
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = 56; /* openat */
    register long x0 __asm__("x0") = -100; /* AT_FDCWD */
    register long x1 __asm__("x1") = (long)path;
    register long x2 __asm__("x2") = 0101;
    register long x3 __asm__("x3") = 0644;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
    register long x8c __asm__("x8") = 57; /* close */
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8c) : "memory");
#else
#error "no system call sequence for this architecture"
#endif
}}
"#,
        marker.display()
    )
}

/// A library with intact kiln metadata of this build and kiln's function
/// table, and an initializer that creates a file if it ever runs: the
/// loader refuses it without running it. Loading it with `dlopen` directly
/// shows the initializer works.
#[test]
fn initializers_never_run() {
    let dir = tempfile::tempdir().unwrap();
    for (attribute, what) in [("constructor", "DT_INIT_ARRAY"), ("destructor", "DT_FINI_ARRAY")] {
        let marker = dir.path().join(format!("{attribute}-ran"));
        let source = format!(
            "{}\n{CONST42}{}\n__attribute__(({attribute})) static void hook(void) {{ create_marker(); }}\n",
            basic::TRAMPOLINES,
            create_file(&marker)
        );
        let lib = trivial().build(&source);
        let e = load(&lib.path).unwrap_err();
        assert!(matches!(&e.kind, LoadErrorKind::RunsCode(w) if w.contains(what)), "{e}");
        assert!(e.to_string().contains("would run its code") && e.to_string().contains(what), "{e}");
        assert!(!marker.exists(), "the {attribute} ran");

        // The control: the dynamic loader itself runs the hook.
        let path = std::ffi::CString::new(lib.path.to_str().unwrap()).unwrap();
        // SAFETY: the library's only code that runs at load or unload
        // creates the marker file.
        unsafe {
            let handle = libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
            assert!(!handle.is_null(), "dlopen failed");
            libc::dlclose(handle);
        }
        assert!(marker.exists(), "the {attribute} did not run under dlopen, so the test proves nothing");
    }
}

/// A library that needs another one: the dynamic loader would load it,
/// with its initializers.
#[test]
fn dependencies_are_refused() {
    let lib = common::build_library(
        &trivial().meta,
        &["ac_v_i", "w2h_v_i", "const42"].map(String::from),
        &format!("{}\n{CONST42}", basic::TRAMPOLINES),
        &["-Wl,--no-as-needed", "-lm"],
    );
    let e = load(&lib.path).unwrap_err();
    assert!(matches!(&e.kind, LoadErrorKind::Dependency(d) if d.contains("libm")), "{e}");
    assert!(e.to_string().contains("depends on another library"), "{e}");
}

/// An exported indirect function: `ld.so` calls its resolver to bind a
/// reference to it, and `dlsym` would too.
#[test]
fn ifunc_resolvers_are_refused() {
    let source = format!(
        "{}\n{CONST42}\nstatic int impl(void) {{ return 1; }}\n\
         static void *resolve(void) {{ return (void *)impl; }}\n\
         __attribute__((visibility(\"default\"))) int chosen(void) __attribute__((ifunc(\"resolve\")));\n\
         __attribute__((used, visibility(\"default\"))) int (*pick)(void) = chosen;\n",
        basic::TRAMPOLINES
    );
    let lib = trivial().build(&source);
    let e = load(&lib.path).unwrap_err();
    assert!(matches!(&e.kind, LoadErrorKind::RunsCode(_)), "{e}");
}

/// A shared library without kiln metadata.
#[test]
fn a_foreign_library_is_not_kiln() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let plain = dir.path().join("plain.so");
    let source = format!(
        "{}\n__attribute__((constructor)) static void hook(void) {{ create_marker(); }}\n",
        create_file(&marker)
    );
    common::compile(dir.path(), &[("plain.c", &source)], &["-shared"], &plain);
    let e = load(&plain).unwrap_err();
    assert!(matches!(e.kind, LoadErrorKind::NotKiln), "{e}");
    assert!(!marker.exists());
}

/// A well-formed library of another kiln build: both builds are named.
#[test]
fn another_build_is_named() {
    let other = "0.1.0+00000000000000000000000000000000deadbeef";
    let m = trivial();
    let blob = kiln_abi::artifact::encode(&m.meta, other);
    let slots = ["ac_v_i", "w2h_v_i", "const42"].map(String::from);
    let lib =
        common::build_library_with_blob(&blob, &m.meta, &slots, &format!("{}\n{CONST42}", basic::TRAMPOLINES), &[]);
    let e = load(&lib.path).unwrap_err();
    let expected = MetadataError::OtherBuild { found: other.into(), expected: kiln_loader::COMPILER_BUILD.into() };
    assert!(matches!(&e.kind, LoadErrorKind::Metadata(m) if *m == expected), "{e}");
    assert!(e.to_string().contains(other) && e.to_string().contains(kiln_loader::COMPILER_BUILD), "{e}");
    // Still readable, for `kiln inspect`.
    assert_eq!(kiln_loader::read_metadata(&lib.path).unwrap().compiler_build(), other);
}

/// Statically linked modules follow the same rule, before anything else
/// of the module is looked at.
#[test]
fn a_static_module_of_another_build_is_refused() {
    #[repr(C, align(16))]
    struct Aligned([u8; 4096]);
    let other = "0.0.9+1111111111111111111111111111111111111111";
    let blob = kiln_abi::artifact::encode(&trivial().meta, other);
    let mut storage = Box::new(Aligned([0; 4096]));
    storage.0[..blob.len()].copy_from_slice(&blob);
    let storage: &'static Aligned = Box::leak(storage);
    let functions: &'static [*const std::ffi::c_void; 5] = Box::leak(Box::new([std::ptr::null(); 5]));
    // SAFETY: the metadata points at `blob.len()` readable bytes; nothing
    // of the module runs, since it is refused first.
    let handle = unsafe { StaticModule::new("other", storage.0.as_ptr(), blob.len(), functions.as_ptr(), 5) };
    let e = Module::from_static(&Engine::default(), &handle).unwrap_err();
    assert!(matches!(&e.kind, LoadErrorKind::Metadata(MetadataError::OtherBuild { .. })), "{e}");
    assert!(e.to_string().contains(other) && e.to_string().contains("static:other"), "{e}");

    let ours = kiln_abi::artifact::encode(&trivial().meta, kiln_loader::COMPILER_BUILD);
    let mut storage = Box::new(Aligned([0; 4096]));
    storage.0[..ours.len()].copy_from_slice(&ours);
    let storage: &'static Aligned = Box::leak(storage);
    // SAFETY: as above; the null table is refused after the build check.
    let handle = unsafe { StaticModule::new("ours", storage.0.as_ptr(), ours.len(), functions.as_ptr(), 5) };
    let e = Module::from_static(&Engine::default(), &handle).unwrap_err();
    assert!(!matches!(&e.kind, LoadErrorKind::Metadata(_)), "this build's metadata is accepted: {e}");
}

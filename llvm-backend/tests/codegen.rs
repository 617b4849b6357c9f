//! Properties of the generated IR, assembly and object that matter for
//! correctness and speed, and the compiler's behaviour on bad input.

use kiln_abi::metadata::{BoundsChecks, ExternKind};
use kiln_abi::target::Target;
use kiln_llvm::{CompileError, CompileOptions, OptLevel, TextKind, compile, compile_to_text};
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};

fn wasm(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).expect("test module parses")
}

fn target(name: &str) -> CompileOptions {
    CompileOptions { target: Target::parse(name).unwrap(), ..CompileOptions::default() }
}

fn x86() -> CompileOptions {
    target("x86_64-unknown-linux-gnu")
}

fn ir(wat: &str, opts: &CompileOptions) -> String {
    compile_to_text(&wasm(wat), opts, TextKind::LlvmIr).unwrap()
}

/// The body of function `name` in textual IR or assembly.
fn function<'a>(text: &'a str, name: &str) -> &'a str {
    let start = text.find(&format!("@{name}(")).or_else(|| text.find(&format!("{name}:"))).expect("function present");
    let rest = &text[start..];
    let end = rest.find("\n}\n").or_else(|| rest.find(".Lfunc_end")).unwrap_or(rest.len());
    &rest[..end]
}

const LOAD: &str = r#"(module (memory 1)
    (func (export "load") (param i32) (result i32) local.get 0 i32.load offset=8))"#;

/// With guard regions, the check of a lone access is left to the
/// hardware: no compare remains, and the access is `volatile` so code
/// generation keeps it in its place (see `bounds::guard`).
#[test]
fn guard_mode_leaves_the_check_to_the_hardware() {
    let text = ir(LOAD, &x86());
    let body = function(&text, "kiln_func_0");
    assert!(!body.contains("icmp"), "unexpected compare in guard mode:\n{body}");
    assert!(body.contains("load volatile i32") && body.contains("align 1"), "{body}");
}

#[test]
fn explicit_mode_checks_against_current_length() {
    let opts = CompileOptions { bounds_checks: BoundsChecks::Explicit, ..x86() };
    let text = ir(LOAD, &opts);
    let body = function(&text, "kiln_func_0");
    assert!(body.contains("icmp ugt i64"), "no bounds check:\n{body}");
    assert!(body.contains("i32 2)"), "no MemoryOutOfBounds trap:\n{body}");
}

#[test]
fn memory_base_is_loaded_once_outside_loops() {
    let text = ir(
        r#"(module (memory 1)
        (func (export "clear") (param $p i32) (param $n i32)
          (loop $l
            (i32.store (local.get $p) (i32.const 0))
            (i32.store (i32.add (local.get $p) (i32.const 4)) (i32.const 0))
            (local.set $p (i32.add (local.get $p) (i32.const 8)))
            (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))"#,
        &x86(),
    );
    let body = function(&text, "kiln_func_0");
    let entry_end = body.find("\n\n").expect("several blocks");
    assert!(body[..entry_end].contains("!invariant.load"), "base not loaded in the entry block:\n{body}");
    assert!(!body[entry_end..].contains("!invariant.load"), "an invariant loaded again after the entry:\n{body}");
}

#[test]
fn folded_float_identity_keeps_nan_quieting() {
    let text = ir(
        r#"(module
        (func (export "sub0") (param f32) (result f32) (f32.sub (local.get 0) (f32.const 0)))
        (func (export "mul1") (param f64) (result f64) (f64.mul (local.get 0) (f64.const 1)))
        (func (export "add") (param f32 f32) (result f32) (f32.add (local.get 0) (local.get 1))))"#,
        &x86(),
    );
    for (name, quiet_bit) in [("kiln_func_0", "4194304"), ("kiln_func_1", "2251799813685248")] {
        let body = function(&text, name);
        assert!(body.contains("fcmp uno") && body.contains("select"), "no quieting select:\n{body}");
        assert!(body.contains(quiet_bit), "quiet bit missing:\n{body}");
    }
    let add = function(&text, "kiln_func_2");
    assert!(add.contains("fadd float"), "{add}");
    assert!(!add.contains("fcmp") && !add.contains("select"), "plain add carries extra code:\n{add}");
    assert!(!text.contains("call float @llvm.canonicalize"), "canonicalize markers left in the output");
}

#[test]
fn arithmetic_with_non_identity_constants_needs_no_quieting() {
    let text = ir(
        r#"(module
        (func (export "add1") (param f64) (result f64) (f64.add (local.get 0) (f64.const 1)))
        (func (export "recip") (param f64) (result f64) (f64.div (f64.const 1) (local.get 0)))
        (func (export "div1") (param f32) (result f32) (f32.div (local.get 0) (f32.const -1)))
        (func (export "addneg0") (param f32) (result f32) (f32.add (local.get 0) (f32.const -0))))"#,
        &x86(),
    );
    for name in ["kiln_func_0", "kiln_func_1"] {
        let body = function(&text, name);
        assert!(!body.contains("fcmp") && !body.contains("select"), "arithmetic carries extra code:\n{body}");
    }
    for name in ["kiln_func_2", "kiln_func_3"] {
        let body = function(&text, name);
        assert!(body.contains("fcmp uno") && body.contains("select"), "no quieting select:\n{body}");
    }
}

/// clang's wasm loops count an `i32` from a negative offset up to zero and
/// form addresses with wrapping `i32.add`; the vectorizer needs the trip
/// count of such a loop, which induction-variable widening would hide.
#[test]
fn loops_counting_up_to_zero_are_vectorized() {
    let text = ir(
        r#"(module (memory 1)
        (func (export "scale") (param $src i32) (param $dst i32) (local $i i32)
          (local.set $i (i32.const -4096))
          (loop $l
            (f32.store (i32.add (i32.add (local.get $dst) (local.get $i)) (i32.const 4096))
              (f32.mul (f32.load (i32.add (i32.add (local.get $src) (local.get $i)) (i32.const 4096)))
                       (f32.const 0.5)))
            (br_if $l (local.tee $i (i32.add (local.get $i) (i32.const 4)))))))"#,
        &x86(),
    );
    let body = function(&text, "kiln_func_0");
    assert!(body.contains("fmul <4 x float>"), "loop not vectorized:\n{body}");
}

/// A table the module never writes and does not export holds what its
/// segments put there: `call_indirect` calls a matching function straight
/// from a constant array and keeps the checked lookup for the other slots.
/// An exported table may change, so it keeps only the checked lookup.
#[test]
fn closed_tables_call_matching_functions_directly() {
    let source = |export: &str| {
        format!(
            r#"(module
            (type $t (func (param i32) (result i32)))
            (table $tab 3 3 funcref) {export}
            (elem (i32.const 1) func $inc $dec)
            (func $inc (type $t) (i32.add (local.get 0) (i32.const 1)))
            (func $dec (type $t) (i32.sub (local.get 0) (i32.const 1)))
            (func (export "dispatch") (param i32 i32) (result i32)
              (call_indirect (type $t) (local.get 1) (local.get 0))))"#
        )
    };
    let closed = ir(&source(""), &x86());
    assert!(
        closed.contains("@kiln_closed_table_0_type_0 = private unnamed_addr constant [3 x ptr] [ptr null, ptr @kiln_func_0, ptr @kiln_func_1]"),
        "{closed}"
    );
    let body = function(&closed, "kiln_func_2");
    assert!(body.contains("@kiln_closed_table_0_type_0"), "{body}");
    assert!(body.contains("call_indirect.general"), "the null slot needs the checked lookup:\n{body}");
    let exported = ir(&source(r#"(export "t" (table $tab))"#), &x86());
    assert!(!exported.contains("kiln_closed_table"), "{exported}");
}

#[test]
fn min_max_quiet_their_nans() {
    let text = ir(
        r#"(module (func (export "min") (param f32 f32) (result f32) (f32.min (local.get 0) (local.get 1))))"#,
        &x86(),
    );
    let body = function(&text, "kiln_func_0");
    assert!(body.contains("llvm.minimum.f32") && body.contains("fcmp uno"), "{body}");
}

#[test]
fn nearest_is_roundss_on_x86_64() {
    let asm = compile_to_text(
        &wasm(r#"(module (func (export "n") (param f32) (result f32) (f32.nearest (local.get 0))))"#),
        &x86(),
        TextKind::Assembly,
    )
    .unwrap();
    let body = function(&asm, "kiln_func_0");
    assert!(body.contains("roundss\t$8"), "{body}");
    assert!(!body.contains("call"), "{body}");
}

#[test]
fn only_functions_that_call_check_the_stack() {
    let text = ir(
        r#"(module
        (func $leaf (export "leaf") (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
        (func $rec (export "rec") (param i32) (result i32)
          (if (result i32) (local.get 0)
            (then (call $rec (i32.sub (local.get 0) (i32.const 1))))
            (else (i32.const 0)))))"#,
        &x86(),
    );
    assert!(!function(&text, "kiln_func_0").contains("read_register"));
    let rec = function(&text, "kiln_func_1");
    assert!(rec.contains("@llvm.read_register.i64(metadata"), "{rec}");
    assert!(rec.contains("i32 1)"), "no StackOverflow trap:\n{rec}");
}

#[test]
fn output_is_deterministic() {
    let module = wasm(
        r#"(module $m (memory 1) (table 1 funcref) (elem (i32.const 0) $f)
        (func $f (export "f") (param i32) (result i32) (i32.load (local.get 0)))
        (func (export "g") (param i32) (result i32) (call_indirect (param i32) (result i32) (local.get 0) (i32.const 0))))"#,
    );
    let first = compile(&module, &x86()).unwrap();
    let second = std::thread::spawn(move || compile(&module, &x86()).unwrap()).join().unwrap();
    assert_eq!(first.objects, second.objects);
    assert_eq!(first.metadata, second.metadata);
}

#[test]
fn exports_only_the_function_table() {
    let compiled = compile(&wasm(LOAD), &CompileOptions { symbol_prefix: Some("plugin".into()), ..x86() }).unwrap();
    let file = object::File::parse(&*compiled.objects[0]).unwrap();
    let globals: Vec<_> =
        file.symbols().filter(|s| s.is_global() && s.is_definition()).map(|s| s.name().unwrap().to_string()).collect();
    assert_eq!(globals, vec!["plugin_kiln_functions".to_string()]);
    let table = file.symbols().find(|s| s.name() == Ok("plugin_kiln_functions")).unwrap();
    assert_eq!(table.kind(), SymbolKind::Data);
    assert!(file.symbols().filter(|s| s.kind() == SymbolKind::Text).all(|s| s.is_local()));
}

#[test]
fn both_targets_produce_objects() {
    for (name, arch) in [
        ("x86_64-unknown-linux-gnu", object::Architecture::X86_64),
        ("aarch64-unknown-linux-gnu", object::Architecture::Aarch64),
    ] {
        let compiled = compile(&wasm(LOAD), &target(name)).unwrap();
        let file = object::File::parse(&*compiled.objects[0]).unwrap();
        assert_eq!(file.architecture(), arch);
        assert!(compiled.metadata.code_size > 0);
        let text: u64 = file.sections().filter(|s| s.kind() == object::SectionKind::Text).map(|s| s.size()).sum();
        assert_eq!(text, compiled.metadata.code_size);
        assert_eq!(compiled.metadata.target.triple, name);
        assert_eq!(compiled.metadata.target.pointer_size, 8);
    }
}

#[test]
fn metadata_describes_the_module() {
    let module = wasm(
        r#"(module $demo
        (import "env" "log" (func $log (param i32)))
        (import "env" "g" (global i64))
        (memory (export "mem") 1 2)
        (global $counter (export "counter") (mut i32) (i32.const 7))
        (table 2 funcref)
        (elem (i32.const 1) $hidden)
        (data (i32.const 16) "hi")
        (func $start (call $log (i32.const 1)))
        (func $hidden (param i32) (result i32) (local.get 0))
        (func $inner)
        (func (export "run") (result i32) (i32.const 3))
        (start $start))"#,
    );
    let compiled = compile(&module, &x86()).unwrap();
    let meta = &compiled.metadata;
    assert_eq!(meta.name.as_deref(), Some("demo"));
    assert_eq!(meta.imports.len(), 2);
    assert_eq!(meta.functions.len(), 5);
    assert_eq!(meta.functions[0].wasm_call, None, "imports have no entry point");
    assert!(meta.functions[1].wasm_call.is_some(), "the start function escapes");
    assert!(meta.functions[2].wasm_call.is_some(), "table elements escape");
    assert_eq!(meta.functions[3].wasm_call, None, "unreferenced functions stay internal");
    assert!(meta.functions[4].wasm_call.is_some(), "exports escape");
    assert_eq!(meta.start, Some(1));
    assert_eq!(
        meta.exports.iter().map(|e| (e.name.as_str(), e.kind)).collect::<Vec<_>>(),
        vec![("mem", ExternKind::Memory), ("counter", ExternKind::Global), ("run", ExternKind::Func)]
    );
    assert_eq!(meta.memories.len(), 1);
    assert_eq!(meta.globals.len(), 1);
    assert_eq!(meta.elements.len(), 1);
    assert_eq!(meta.data[0].bytes, b"hi");
    assert_eq!(
        meta.func_names.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(),
        vec!["log", "start", "hidden", "inner"]
    );
    let mut slots: Vec<u32> = meta.functions.iter().filter_map(|f| f.wasm_call).collect();
    for t in &meta.types {
        slots.extend([t.array_call, t.wasm_to_host]);
    }
    slots.sort();
    assert_eq!(slots, (0..slots.len() as u32).collect::<Vec<_>>(), "slots are dense and distinct");
    assert_eq!(meta.target.cpu, "x86-64-v2");
    assert!(meta.target.features.iter().any(|f| f == "sse4.1"));
    assert_eq!(meta.opt_level, 2);
    assert_ne!(meta.wasm_sha256, [0; 32]);
}

#[test]
fn invalid_module_names_function_and_offset() {
    let module = wasm(r#"(module (func) (func (result i32) (i64.const 1)))"#);
    match compile(&module, &x86()) {
        Err(e @ CompileError::Invalid { func_index: Some(1), offset, .. }) => {
            assert!(offset > 0);
            let text = e.to_string();
            assert!(text.starts_with("invalid module: type mismatch"), "{text}");
            assert!(text.contains("(function 1, at offset 0x"), "{text}");
        }
        other => panic!("expected Invalid in function 1, got {other:?}"),
    }
}

#[test]
fn proposals_kiln_lacks_are_unsupported_not_invalid() {
    let module = wasm(r#"(module (type $f (func)) (type $c (cont $f)))"#);
    match compile(&module, &x86()) {
        Err(CompileError::Unsupported { feature, .. }) => assert_eq!(feature, "stack switching"),
        other => panic!("expected Unsupported stack switching, got {other:?}"),
    }
    let in_body = wasm(r#"(module (func) (func (drop (ref.i31 (i32.const 0)))))"#);
    match compile(&in_body, &x86()) {
        Err(CompileError::Unsupported { feature, func_index, .. }) => {
            assert_eq!(feature, "GC");
            assert_eq!(func_index, Some(1));
        }
        other => panic!("expected Unsupported GC, got {other:?}"),
    }
}

/// Tail calls are `musttail` calls followed by a return where caller and
/// callee share a prototype; between different ones a call and a return.
#[test]
fn tail_calls_are_musttail() {
    let module = r#"(module
        (func $f (export "f") (param i64) (result i64) (return_call $g (local.get 0)))
        (func $g (export "g") (param i64) (result i64) (return_call $h (i32.wrap_i64 (local.get 0)) (f64.const 1)))
        (func $h (export "h") (param i32 f64) (result i64) (i64.extend_i32_u (local.get 0))))"#;
    for opts in [x86(), aarch64(), target("riscv64gc-unknown-linux-gnu")] {
        let text = ir(module, &CompileOptions { opt_level: OptLevel::O0, ..opts });
        let definition = |index: u32| {
            let start = text.find(&format!("define internal i64 @kiln_func_{index}(")).expect("defined");
            let rest = &text[start..];
            &rest[..rest.find("\n}\n").unwrap()]
        };
        let f = definition(0);
        assert!(f.contains("musttail call i64 @kiln_func_1("), "{f}");
        let g = definition(1);
        assert!(!g.contains("musttail call") && g.contains("call i64 @kiln_func_2("), "{g}");
    }
    // Code generation honours every `musttail` (or compiling fails) on
    // each target, with arguments on the stack too.
    let many = r#"(module
        (func $f (export "f") (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64) (result i64)
          (return_call $g (local.get 9) (f64.const 1) (local.get 0)))
        (func $g (export "g") (param i64 f64 i64) (result i64)
          (return_call $f (local.get 0) (local.get 0) (local.get 0) (local.get 0) (local.get 0)
            (local.get 0) (local.get 0) (local.get 0) (local.get 0) (local.get 2)))
        (func $h (export "h") (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64) (result i64)
          (return_call $h (local.get 9) (local.get 0) (local.get 1) (local.get 2) (local.get 3)
            (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8))))"#;
    for (triple, _) in kiln_abi::target::SUPPORTED {
        for opt_level in [OptLevel::O0, OptLevel::O2] {
            let opts = CompileOptions { opt_level, ..target(triple) };
            compile(&wasm(module), &opts).unwrap_or_else(|e| panic!("{triple}: {e}"));
            compile(&wasm(many), &opts).unwrap_or_else(|e| panic!("{triple}: {e}"));
        }
    }
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    for input in [&b""[..], b"\0asm", b"\0asm\x01\0\0\0\x01", b"not wasm at all", &[0xff; 64]] {
        // None of these decodes: they are malformed, not merely invalid.
        assert!(matches!(compile(input, &x86()), Err(CompileError::Malformed { .. })), "{input:?}");
    }
    let valid = wasm(LOAD);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..300 {
        let mut mutated = valid.clone();
        for _ in 0..3 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = (seed as usize) % mutated.len();
            mutated[at] = (seed >> 32) as u8;
        }
        let _ = compile(&mutated, &x86());
    }
}

#[test]
fn unknown_cpu_or_feature_is_a_target_error() {
    let module = wasm(LOAD);
    let bad_cpu = CompileOptions { cpu: Some("pentium-9000".into()), ..x86() };
    assert!(matches!(compile(&module, &bad_cpu), Err(CompileError::Target(m)) if m.contains("pentium-9000")));
    let bad_feature = CompileOptions { features: vec!["+warp-drive".into()], ..x86() };
    assert!(matches!(compile(&module, &bad_feature), Err(CompileError::Target(m)) if m.contains("warp-drive")));
    let abi = CompileOptions { features: vec!["-sse2".into()], ..x86() };
    assert!(matches!(compile(&module, &abi), Err(CompileError::Target(m)) if m.contains("calling convention")));
    let unsigned = CompileOptions { features: vec!["avx2".into()], ..x86() };
    assert!(matches!(compile(&module, &unsigned), Err(CompileError::Target(_))));

    // Flags apply in order with LLVM's implications: AVX2 brings AVX, and
    // taking SSE4.2 away takes away everything built on it.
    let features = |flags: &[&str]| {
        let opts = CompileOptions {
            cpu: Some("x86-64-v2".into()),
            features: flags.iter().map(|f| f.to_string()).collect(),
            ..x86()
        };
        compile(&module, &opts).unwrap().metadata.target.features
    };
    let avx2 = features(&["+avx2"]);
    assert!(avx2.contains(&"avx2".to_string()) && avx2.contains(&"avx".to_string()), "{avx2:?}");
    let neither = features(&["+avx2", "-sse4.2"]);
    assert!(!neither.iter().any(|f| f == "sse4.2" || f == "avx2" || f == "avx"), "{neither:?}");
    assert!(neither.contains(&"sse4.1".to_string()), "{neither:?}");
    let arm = CompileOptions { cpu: Some("x86-64-v3".into()), ..target("aarch64-unknown-linux-gnu") };
    assert!(matches!(compile(&module, &arm), Err(CompileError::Target(_))));
}

#[test]
fn every_opt_level_compiles() {
    let module = wasm(
        r#"(module (memory 1)
        (func (export "f") (param i32 f64) (result i64 f64)
          (block (result i64 f64)
            (i64.extend_i32_s (i32.load (local.get 0)))
            (f64.sqrt (local.get 1)))))"#,
    );
    for level in [OptLevel::O0, OptLevel::O1, OptLevel::O2, OptLevel::O3, OptLevel::Os] {
        let compiled = compile(&module, &CompileOptions { opt_level: level, ..x86() }).unwrap();
        assert_eq!(compiled.metadata.opt_level, level.metadata_value());
        let unoptimized =
            compile_to_text(&module, &CompileOptions { opt_level: level, ..x86() }, TextKind::LlvmIrUnoptimized)
                .unwrap();
        assert!(unoptimized.contains("llvm.canonicalize"), "markers are visible before optimization");
    }
}

#[test]
fn leaf_with_huge_frame_checks_the_stack() {
    let locals = "(local i64) ".repeat(3000);
    let text =
        ir(&format!(r#"(module (func (export "big") (param i64) (result i64) {locals} (local.get 0)))"#), &x86());
    assert!(function(&text, "kiln_func_0").contains("read_register"));
}

#[test]
fn memory_loops_do_not_become_libc_calls() {
    let text = ir(
        r#"(module (memory 1)
        (func (export "zero") (local $i i32)
          (loop $l
            (i32.store8 offset=1024 (local.get $i) (i32.const 0))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))))"#,
        &x86(),
    );
    assert!(!text.contains("memset") && !text.contains("memcpy"), "{text}");
}

#[test]
fn empty_module_has_an_empty_table() {
    let compiled = compile(&wasm("(module)"), &x86()).unwrap();
    let file = object::File::parse(&*compiled.objects[0]).unwrap();
    assert!(file.symbols().any(|s| s.name() == Ok("kiln_functions") && s.is_global()));
    assert!(compiled.metadata.functions.is_empty() && compiled.metadata.types.is_empty());
}

#[test]
fn validate_answers_like_compile() {
    assert!(kiln_llvm::validate(&wasm(LOAD)).is_ok());
    let invalid = wasm(r#"(module (func (result i32)))"#);
    assert!(matches!(kiln_llvm::validate(&invalid), Err(CompileError::Invalid { func_index: Some(0), .. })));
    let simd = wasm(r#"(module (func (result v128) (v128.const i64x2 0 0)))"#);
    assert!(kiln_llvm::validate(&simd).is_ok());
    let relaxed = wasm(r#"(module (func (param v128) (result v128) (i32x4.relaxed_trunc_f32x4_s (local.get 0))))"#);
    assert!(kiln_llvm::validate(&relaxed).is_ok());
    let memory64 = wasm(r#"(module (memory i64 1))"#);
    assert!(kiln_llvm::validate(&memory64).is_ok());
    let threads = wasm(r#"(module (memory 1 1 shared) (func (result i32) (i32.atomic.load (i32.const 0))))"#);
    assert!(kiln_llvm::validate(&threads).is_ok());
    let page_sizes = wasm(r#"(module (memory 1 (pagesize 1)))"#);
    assert!(kiln_llvm::validate(&page_sizes).is_ok());
    let gc = wasm(r#"(module (type (struct)))"#);
    assert!(matches!(kiln_llvm::validate(&gc), Err(CompileError::Unsupported { .. })));
}

fn asm(wat: &str, opts: &CompileOptions) -> String {
    compile_to_text(&wasm(wat), opts, TextKind::Assembly).unwrap()
}

/// Instructions of an assembly function body: no labels, directives,
/// comments or inline-asm markers.
fn instructions(body: &str) -> Vec<&str> {
    body.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with(['.', '#', '/', ';']) && !l.ends_with(':'))
        .collect()
}

/// Three float results, a direct call of it, an imported function of the
/// same type and a `call_indirect` of it.
const THREE_FLOATS: &str = r#"(module
    (type $t (func (param i32 f32) (result f32 f32 f32)))
    (import "env" "three" (func $imported (type $t)))
    (table 1 funcref) (elem (i32.const 0) $f)
    (func $f (export "f") (type $t)
      (f32.min (f32.reinterpret_i32 (local.get 0)) (local.get 1))
      (f32.max (f32.reinterpret_i32 (local.get 0)) (local.get 1))
      (f32.copysign (f32.reinterpret_i32 (local.get 0)) (local.get 1)))
    (func (export "direct") (type $t) (call $f (local.get 0) (local.get 1)))
    (func (export "import") (type $t) (call $imported (local.get 0) (local.get 1)))
    (func (export "indirect") (type $t)
      (call_indirect (type $t) (local.get 0) (local.get 1) (i32.const 0))))"#;

#[test]
fn multi_value_floats_never_go_through_x87() {
    for level in [OptLevel::O0, OptLevel::O2] {
        let text = asm(THREE_FLOATS, &CompileOptions { opt_level: level, ..x86() });
        let x87: Vec<&str> =
            instructions(&text).into_iter().filter(|i| i.starts_with("fld") || i.starts_with("fst")).collect();
        assert!(x87.is_empty(), "x87 instructions at {level:?}: {x87:?}\n{text}");
    }
}

#[test]
fn several_results_go_through_a_return_area() {
    let text = compile_to_text(&wasm(THREE_FLOATS), &x86(), TextKind::LlvmIrUnoptimized).unwrap();
    let area = "ptr noalias nocapture noundef align 16 dereferenceable(48) %results";
    let f = function(&text, "kiln_func_1");
    assert!(
        text.contains(&format!("define internal void @kiln_func_1(ptr %vmctx, ptr %0, i32 %1, float %2, {area})")),
        "{f}"
    );
    for offset in ["16", "32"] {
        assert!(f.contains(&format!("getelementptr inbounds i8, ptr %results, i64 {offset}")), "{f}");
    }
    for name in ["kiln_func_2", "kiln_func_3", "kiln_func_4"] {
        let caller = function(&text, name);
        assert!(caller.contains("alloca [48 x i8], align 16"), "{caller}");
        assert!(caller.contains("ptr noalias nocapture noundef align 16 dereferenceable(48) %"), "{caller}");
        assert!(caller.contains("@llvm.lifetime.start.p0(i64 48"), "{caller}");
        assert!(caller.contains("@llvm.lifetime.end.p0(i64 48"), "{caller}");
    }
    let trampoline = function(&text, "kiln_array_call_0");
    assert!(!trampoline.contains("alloca"), "the array-call trampoline passes `values` on:\n{trampoline}");
}

#[test]
fn inlining_removes_the_return_area() {
    let text = ir(
        r#"(module
        (func $three (param i32) (result i32 i64 f32)
          (local.get 0) (i64.extend_i32_u (local.get 0)) (f32.convert_i32_s (local.get 0)))
        (func (export "sum") (param i32) (result i64) (local i32 i64 f32)
          (call $three (local.get 0))
          (local.set 3) (local.set 2) (local.set 1)
          (i64.add (i64.add (i64.extend_i32_u (local.get 1)) (local.get 2)) (i64.trunc_sat_f32_s (local.get 3)))))"#,
        &x86(),
    );
    let sum = function(&text, "kiln_func_1");
    let start = sum.find("\nbody:").expect("a body block after the stack check");
    let body = &sum[start..sum[start..].find("\n\n").map_or(sum.len(), |end| start + end)];
    for absent in ["alloca", "lifetime", "@kiln_func_0"] {
        assert!(!sum.contains(absent), "`{absent}` left after inlining:\n{sum}");
    }
    for absent in ["store", "load "] {
        assert!(!body.contains(absent), "`{absent}` left after inlining:\n{sum}");
    }
}

/// `$g` loads; `h` discards what `$g` returns.
fn discarded_call(discard: &str) -> String {
    format!(
        r#"(module (memory 1)
        (func $g (param i32) (result i32) (i32.load (local.get 0)))
        (func (export "h") (param i32) (local i32) {discard}))"#
    )
}

/// A discarded load's check stays: the branch to the trap block is there
/// whether or not the load is, in both modes, and no inline asm is needed
/// to keep anything alive.
#[test]
fn discarded_loads_keep_their_bounds_checks() {
    for discard in [
        "(drop (call $g (local.get 0)))",
        "(local.set 1 (call $g (local.get 0)))",
        "(drop (local.tee 1 (call $g (local.get 0))))",
    ] {
        for bounds_checks in [BoundsChecks::Guard, BoundsChecks::Explicit] {
            let text = ir(&discarded_call(discard), &CompileOptions { bounds_checks, ..x86() });
            let h = function(&text, "kiln_func_1");
            assert!(h.contains("!kiln.bounds") && h.contains("unreachable"), "{discard}, {bounds_checks:?}:\n{h}");
            assert!(!h.contains("asm"), "{discard}, {bounds_checks:?}:\n{h}");
        }
    }
}

// ---- SIMD ----

fn aarch64() -> CompileOptions {
    target("aarch64-unknown-linux-gnu")
}

/// One function per SIMD family, `kiln_func_0` to `kiln_func_10`.
const SIMD: &str = r#"(module (memory 1)
    (func (export "add") (param v128 v128) (result v128) (f32x4.add (local.get 0) (local.get 1)))
    (func (export "swizzle") (param v128 v128) (result v128) (i8x16.swizzle (local.get 0) (local.get 1)))
    (func (export "q15") (param v128 v128) (result v128) (i16x8.q15mulr_sat_s (local.get 0) (local.get 1)))
    (func (export "trunc") (param v128) (result v128) (i32x4.trunc_sat_f32x4_u (local.get 0)))
    (func (export "min") (param v128 v128) (result v128) (f64x2.min (local.get 0) (local.get 1)))
    (func (export "narrow") (param v128 v128) (result v128) (i8x16.narrow_i16x8_u (local.get 0) (local.get 1)))
    (func (export "dot") (param v128 v128) (result v128) (i32x4.dot_i16x8_s (local.get 0) (local.get 1)))
    (func (export "bitmask") (param v128) (result i32) (i8x16.bitmask (local.get 0)))
    (func (export "nearest") (param v128) (result v128) (f32x4.nearest (local.get 0)))
    (func (export "load") (param i32) (result v128) (v128.load32x2_s offset=8 (local.get 0)))
    (func (export "shift") (param v128 i32) (result v128) (i32x4.shr_s (local.get 0) (local.get 1))))"#;

/// Checks that function `index` of [`SIMD`] compiled for `opts` contains
/// each of `expected` (instruction prefixes, in order) and no call.
fn assert_simd_asm(opts: &CompileOptions, expected: &[(u32, &[&str])]) {
    let text = asm(SIMD, opts);
    for &(index, wanted) in expected {
        let name = format!("kiln_func_{index}");
        let body = instructions(function(&text, &name));
        let mut rest = body.iter();
        for want in wanted {
            assert!(rest.any(|i| i.starts_with(want)), "{name}: no `{want}` (in order) in {body:#?}");
        }
        assert!(!body.iter().any(|i| i.starts_with("call") || i.starts_with("bl\t")), "{name} calls: {body:#?}");
    }
}

#[test]
fn simd_uses_sse_instructions_on_x86_64() {
    assert_simd_asm(
        &x86(),
        &[
            (0, &["addps"]),
            (1, &["paddusb", "pshufb"]),
            (2, &["pmulhrsw", "pcmpeqw", "pxor"]),
            (3, &["maxps", "cvttps2dq", "cvttps2dq", "pmaxsd", "paddd"]),
            (4, &["minpd", "minpd", "orpd", "cmpunordpd"]),
            (5, &["packuswb"]),
            (6, &["pmaddwd"]),
            (7, &["pmovmskb"]),
            (8, &["roundps\t$8"]),
            (9, &["pmovsxdq\t8("]),
            (10, &["andl\t$31", "psrad\t%xmm"]),
        ],
    );
    let text = asm(SIMD, &x86());
    let trunc = instructions(function(&text, "kiln_func_3"));
    assert!(!trunc.iter().any(|i| i.starts_with("cvttss2si")), "scalarized: {trunc:#?}");
}

#[test]
fn simd_uses_neon_instructions_on_aarch64() {
    assert_simd_asm(
        &aarch64(),
        &[
            (0, &["fadd\tv0.4s"]),
            (1, &["tbl\tv0.16b"]),
            (2, &["sqrdmulh\tv0.8h"]),
            (3, &["fcvtzu\tv0.4s"]),
            (4, &["fmin\tv0.2d"]),
            (5, &["sqxtun\t", "sqxtun2\t"]),
            (6, &["smull", "addp"]),
            (7, &["cmlt", "addv"]),
            (8, &["frintn\tv0.4s"]),
            (9, &["ldr\td0, [x8, #8]", "sshll\tv0.2d"]),
            (10, &["and\tw8, w2, #0x1f", "neg\tv1.4s", "sshl\tv0.4s"]),
        ],
    );
    let text = asm(SIMD, &aarch64());
    let min = instructions(function(&text, "kiln_func_4"));
    assert_eq!(min.len(), 2, "fmin quiets NaNs by itself; nothing else is needed: {min:#?}");
}

/// One function per relaxed SIMD operator family, `kiln_func_0` to
/// `kiln_func_7`.
const RELAXED: &str = r#"(module
    (func (export "f0") (param v128 v128) (result v128) (i8x16.relaxed_swizzle (local.get 0) (local.get 1)))
    (func (export "f1") (param v128) (result v128) (i32x4.relaxed_trunc_f32x4_s (local.get 0)))
    (func (export "f2") (param v128 v128 v128) (result v128) (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2)))
    (func (export "f3") (param v128 v128 v128) (result v128) (i32x4.relaxed_laneselect (local.get 0) (local.get 1) (local.get 2)))
    (func (export "f4") (param v128 v128) (result v128) (f64x2.relaxed_min (local.get 0) (local.get 1)))
    (func (export "f5") (param v128 v128) (result v128) (i16x8.relaxed_q15mulr_s (local.get 0) (local.get 1)))
    (func (export "f6") (param v128 v128 v128) (result v128) (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get 0) (local.get 1) (local.get 2)))
    (func (export "f7") (param v128 v128 v128) (result v128) (i16x8.relaxed_laneselect (local.get 0) (local.get 1) (local.get 2))))"#;

/// Relaxed SIMD is there to be one instruction where the deterministic
/// operator is several: each function is its instruction(s), a return,
/// and nothing else of substance.
#[test]
fn relaxed_simd_is_the_targets_own_instruction() {
    let check = |opts: &CompileOptions, expected: &[(u32, &[&str], usize)]| {
        let text = asm(RELAXED, opts);
        for &(index, wanted, at_most) in expected {
            let name = format!("kiln_func_{index}");
            let body = instructions(function(&text, &name));
            let mut rest = body.iter();
            for want in wanted {
                assert!(rest.any(|i| i.starts_with(want)), "{name}: no `{want}` (in order) in {body:#?}");
            }
            assert!(body.len() <= at_most, "{name}: more than {at_most} instructions: {body:#?}");
        }
    };
    check(
        &x86(),
        &[
            (0, &["pshufb", "ret"], 2),
            (1, &["cvttps2dq", "ret"], 2),
            (2, &["mulps", "addps", "ret"], 3),
            (3, &["blendvps", "ret"], 5),
            (4, &["minpd", "ret"], 2),
            (5, &["pmulhrsw", "ret"], 2),
            (6, &["pmaddubsw", "pmaddwd", "paddd", "ret"], 6),
            (7, &["andps", "andnps", "orps", "ret"], 4),
        ],
    );
    let v3 = CompileOptions { cpu: Some("x86-64-v3".into()), ..x86() };
    check(&v3, &[(2, &["vfmadd", "ret"], 2)]);
    check(
        &aarch64(),
        &[(0, &["tbl", "ret"], 2), (2, &["fmla", "ret"], 3), (4, &["fmin", "ret"], 2), (5, &["sqrdmulh", "ret"], 2)],
    );
}

#[test]
fn simd_without_ssse3_falls_back_to_generic_vector_code() {
    let v1 = CompileOptions { cpu: Some("x86-64".into()), ..x86() };
    assert_simd_asm(&v1, &[(1, &["pcmpeqb", "pand", "por"]), (2, &["pmullw"])]);
    let text = asm(SIMD, &v1);
    for index in [1, 2] {
        let body = instructions(function(&text, &format!("kiln_func_{index}")));
        assert!(!body.iter().any(|i| i.starts_with("pshufb") || i.starts_with("pmulhrsw")), "{body:#?}");
    }
}

#[test]
fn folded_vector_identity_keeps_nan_quieting() {
    let text = ir(
        r#"(module
        (func (export "mul1") (param v128) (result v128) (f32x4.mul (local.get 0) (v128.const f32x4 1 1 1 1)))
        (func (export "sub0") (param v128) (result v128) (f64x2.sub (local.get 0) (v128.const i64x2 0 0)))
        (func (export "add") (param v128 v128) (result v128) (f32x4.add (local.get 0) (local.get 1))))"#,
        &x86(),
    );
    for (name, shape) in [("kiln_func_0", "<4 x float>"), ("kiln_func_1", "<2 x double>")] {
        let body = function(&text, name);
        assert!(body.contains(&format!("fcmp uno {shape}")) && body.contains("select <"), "{body}");
    }
    let add = function(&text, "kiln_func_2");
    assert!(add.contains("fadd <4 x float>") && !add.contains("fcmp"), "{add}");
    let markers = text.lines().filter(|l| l.contains("call") && l.contains("@llvm.canonicalize")).count();
    assert_eq!(markers, 0, "canonicalize markers left:\n{text}");
}

#[test]
fn unoptimized_vector_constants_are_canonicalized_safely() {
    let source = r#"(module (func (export "f") (param v128) (result v128)
        (f32x4.add (local.get 0) (v128.const i32x4 0 0x80000000 1 2))))"#;
    let text = ir(source, &CompileOptions { opt_level: OptLevel::O0, ..x86() });
    assert!(function(&text, "kiln_func_0").contains("fcmp uno <4 x float>"), "{text}");
}

#[test]
fn v128_values_travel_as_vectors() {
    let text = compile_to_text(
        &wasm(
            r#"(module (global $g (mut v128) (v128.const i32x4 1 2 3 4))
            (func (export "f") (param v128) (result v128 v128 v128)
              (local.get 0) (global.get $g) (i32x4.add (local.get 0) (global.get $g))))"#,
        ),
        &x86(),
        TextKind::LlvmIrUnoptimized,
    )
    .unwrap();
    let area = "ptr noalias nocapture noundef align 16 dereferenceable(48) %results";
    assert!(text.contains(&format!("define internal void @kiln_func_0(ptr %vmctx, ptr %0, <2 x i64> %1, {area})")));
    let f = function(&text, "kiln_func_0");
    assert!(f.contains("store <2 x i64>") && f.contains("load <2 x i64>"), "{f}");
    let trampoline = function(&text, "kiln_array_call_0");
    assert!(trampoline.contains("load <2 x i64>, ptr"), "{trampoline}");
}

#[test]
fn vectorized_reduction_tails_need_no_quieting() {
    let text = ir(
        r#"(module (memory 1)
        (func (export "dot") (param $a i32) (param $b i32) (param $n i32) (result f32) (local $acc v128) (local $i i32)
          (block $done (loop $l
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $acc (f32x4.add (local.get $acc)
              (f32x4.mul (v128.load (i32.add (local.get $a) (local.get $i)))
                         (v128.load (i32.add (local.get $b) (local.get $i))))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $l)))
          (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
                   (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc))))))"#,
        &x86(),
    );
    let dot = function(&text, "kiln_func_0");
    assert!(dot.contains("fmul <4 x float>") && dot.contains("extractelement"), "{dot}");
    assert!(!dot.contains("fcmp uno"), "the reduction's last add quiets by itself:\n{dot}");
}

/// RISC-V rounds by converting to an integer when `|x| < 2^52` and passes
/// any other value through, a signalling NaN included, so rounding keeps
/// its NaN quieting there; arithmetic and min/max quiet in hardware.
#[test]
fn riscv64_quiets_rounding_but_not_arithmetic() {
    let opts = target("riscv64gc-unknown-linux-gnu");
    let text = ir(
        r#"(module
        (func (export "floor") (param f64) (result f64) (f64.floor (local.get 0)))
        (func (export "add") (param f64 f64) (result f64) (f64.add (local.get 0) (local.get 1)))
        (func (export "min") (param f32 f32) (result f32) (f32.min (local.get 0) (local.get 1))))"#,
        &opts,
    );
    let floor = function(&text, "kiln_func_0");
    assert!(floor.contains("llvm.floor.f64") && floor.contains("fcmp uno"), "{floor}");
    for f in ["kiln_func_1", "kiln_func_2"] {
        let body = function(&text, f);
        assert!(!body.contains("fcmp uno"), "{body}");
    }
    let mul = r#"(module (func (export "f") (param f64 f64) (result f64) (f64.mul (local.get 0) (local.get 1))))"#;
    let asm = compile_to_text(&wasm(mul), &opts, TextKind::Assembly).unwrap();
    assert!(function(&asm, "kiln_func_0").contains("fmul.d\tfa0, fa0, fa1"), "lp64d passes doubles in float registers:\n{asm}");
}

/// A Windows DLL links no C runtime: the module defines `memcpy`,
/// `memmove`, `memset` and `__chkstk` itself, and every function has
/// unwind information.
#[test]
fn windows_modules_are_freestanding() {
    let opts = target("x86_64-pc-windows-msvc");
    let wat = r#"(module (memory 1)
        (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
        (func (export "big") (param i32) (result i32) (local v128)
          (call 0 (local.get 0) (local.get 0) (local.get 0)) (local.get 0))
        (func (export "half") (param f64) (result f64) (f64.mul (local.get 0) (f64.const 0.5))))"#;
    let text = ir(wat, &opts);
    for f in ["memcpy", "memmove", "memset"] {
        assert!(text.contains(&format!("define ptr @{f}(")), "{f} not defined:\n{text}");
    }
    assert!(text.contains("__chkstk:"), "no stack probe");
    assert!(text.contains("uwtable"), "no unwind tables");
    let compiled = compile(&wasm(wat), &opts).unwrap();
    let file = object::File::parse(&*compiled.objects[0]).unwrap();
    assert_eq!(file.format(), object::BinaryFormat::Coff);
    let undefined: Vec<_> = file.symbols().filter(|s| s.is_undefined()).map(|s| s.name().unwrap().to_string()).collect();
    assert_eq!(undefined, ["_fltused"], "only what the metadata object defines");
    assert!(file.section_by_name(".pdata").is_some());
    // Elsewhere nothing of the kind is added.
    assert!(!ir(wat, &x86()).contains("define ptr @memcpy("));
}

/// Code for the default CPU is tuned for `generic`, as clang's is: the
/// baseline CPU's own tuning picks `shld` for rotates, which is slow on
/// AMD cores. A CPU the user names keeps its own tuning.
#[test]
fn default_cpu_code_is_tuned_generically() {
    let rotate = r#"(module
        (func (export "rot") (param i32) (result i32)
          (i32.xor (i32.rotl (local.get 0) (i32.const 7)) (i32.rotl (local.get 0) (i32.const 19)))))"#;
    let asm = compile_to_text(&wasm(rotate), &x86(), TextKind::Assembly).unwrap();
    let body = function(&asm, "kiln_func_0");
    assert!(body.contains("rol") && !body.contains("shld"), "{body}");
    let ir = ir(rotate, &x86());
    assert!(ir.contains("\"tune-cpu\"=\"generic\""), "{ir}");
    let named = CompileOptions { cpu: Some("x86-64-v3".into()), ..x86() };
    assert!(!compile_to_text(&wasm(rotate), &named, TextKind::LlvmIr).unwrap().contains("tune-cpu"));
}

/// A huge function is left to the scalar optimizer (`noimplicitfloat`
/// turns off both vectorizers, whose store pairing grows with the square
/// of its stores); ordinary functions keep vectorization.
#[test]
fn huge_functions_are_not_vectorized() {
    let stores: String = (0..12_000).map(|i| format!("(i32.store offset={} (local.get 0) (local.get 1))\n", i % 4000 * 4)).collect();
    let wat = format!(
        r#"(module (memory 1)
            (func (export "huge") (param i32 i32) {stores})
            (func (export "small") (param i32 i32) (i32.store (local.get 0) (local.get 1))))"#
    );
    let text = compile_to_text(&wasm(&wat), &x86(), TextKind::LlvmIrUnoptimized).unwrap();
    let attrs = |name: &str| {
        let line = text.lines().find(|l| l.starts_with("define") && l.contains(&format!("@{name}("))).unwrap();
        let group = line.rsplit('#').next().unwrap().trim_end_matches(" {").trim().to_string();
        text.lines().find(|l| l.starts_with(&format!("attributes #{group} "))).unwrap().to_string()
    };
    assert!(attrs("kiln_func_0").contains("noimplicitfloat"), "{}", attrs("kiln_func_0"));
    assert!(!attrs("kiln_func_1").contains("noimplicitfloat"), "{}", attrs("kiln_func_1"));
}

/// A module of `count` functions, each a chain of arithmetic over a load
/// and a call to the one before, large enough to be split into several
/// codegen units.
fn many_functions(count: usize) -> String {
    let mut wat = String::from("(module (memory 1) (global $g (mut i32) (i32.const 7))\n");
    for i in 0..count {
        wat.push_str(&format!("(func $f{i} (export \"f{i}\") (param $x i32) (result i32) (local $y i32)\n"));
        wat.push_str("(local.set $y (i32.load (i32.and (local.get $x) (i32.const 0xfffc))))\n");
        for k in 0..40 {
            wat.push_str(&format!(
                "(local.set $y (i32.xor (i32.mul (local.get $y) (i32.const {})) (i32.add (local.get $x) (i32.const {k}))))\n",
                2 * k + 3
            ));
        }
        if i > 0 {
            wat.push_str(&format!("(local.set $y (i32.add (local.get $y) (call $f{} (local.get $y))))\n", i - 1));
        }
        wat.push_str("(global.set $g (local.get $y)) (local.get $y))\n");
    }
    wat.push(')');
    wat
}

#[test]
fn large_modules_are_split_into_codegen_units_that_export_nothing_more() {
    let module = wasm(&many_functions(300));
    let first = compile(&module, &x86()).unwrap();
    assert!(first.objects.len() > 1, "{} objects", first.objects.len());
    let mut text = 0;
    let mut table_defined = 0;
    for object in &first.objects {
        let file = object::File::parse(&**object).unwrap();
        text += file.sections().filter(|s| s.kind() == object::SectionKind::Text).map(|s| s.size()).sum::<u64>();
        for sym in file.symbols().filter(|s| s.is_global() && s.is_definition()) {
            let name = sym.name().unwrap();
            if name == "kiln_functions" {
                table_defined += 1;
            } else {
                // Referred to from another unit: hidden, never exported.
                let object::SymbolFlags::Elf { st_other, .. } = sym.flags() else { panic!("not ELF") };
                assert_eq!(st_other, object::elf::SymbolOther(object::elf::STV_HIDDEN.0), "{name}");
            }
        }
    }
    assert_eq!(table_defined, 1, "the function table is defined once");
    assert_eq!(text, first.metadata.code_size);
    // The partition does not depend on the machine or the run.
    let second = std::thread::spawn(move || compile(&module, &x86()).unwrap()).join().unwrap();
    assert_eq!(first.objects, second.objects);
    // A static archive's code stays one object (its markers bound one section).
    let module = wasm(&many_functions(300));
    let archive = compile(&module, &CompileOptions { static_library: true, symbol_prefix: Some("m".into()), ..x86() });
    assert_eq!(archive.unwrap().objects.len(), 1);
}

/// Exception handlers are landing pads: only calls inside a `try_table`
/// become `invoke`s, a function without one keeps plain calls, every
/// function of a module that uses exceptions may unwind, and a module
/// without them keeps `nounwind`. Windows is refused with a clear error.
#[test]
fn exception_handlers_are_landing_pads_and_cost_nothing_elsewhere() {
    let module = r#"(module
        (tag $e (param i32))
        (import "env" "f" (func $f (param i32) (result i32)))
        (func $plain (export "plain") (param i32) (result i32) (call $f (local.get 0)))
        (func (export "guarded") (param i32) (result i32)
          (block $h (result i32)
            (try_table (result i32) (catch $e $h) (call $f (local.get 0)))))
        (func (export "throw") (param i32) (throw $e (local.get 0))))"#;
    let text = ir(module, &CompileOptions { opt_level: OptLevel::O0, ..x86() });
    let plain = function(&text, "kiln_func_1");
    assert!(plain.contains("call i32 %") && !plain.contains("invoke") && !plain.contains("personality"), "{plain}");
    let guarded = function(&text, "kiln_func_2");
    assert!(guarded.contains("personality ptr @__gcc_personality_v0"), "{guarded}");
    assert!(guarded.contains("invoke i32 %") && guarded.contains("landingpad { ptr, i32 }"), "{guarded}");
    let attributes = |name: &str| {
        let line = text.lines().find(|l| l.starts_with(&format!("define internal i32 @{name}("))).expect("defined");
        let group = line.rsplit('#').next().unwrap().trim_end_matches(" {").to_string();
        text.lines().find(|l| l.starts_with(&format!("attributes #{group} = "))).expect("attribute group").to_string()
    };
    assert!(!attributes("kiln_func_1").contains("nounwind"), "{}", attributes("kiln_func_1"));
    let without = ir(r#"(module (import "env" "f" (func $f (param i32) (result i32)))
        (func (export "plain") (param i32) (result i32) (call $f (local.get 0))))"#, &x86());
    let line = without.lines().find(|l| l.starts_with("define internal i32 @kiln_func_1(")).expect("defined");
    let group = line.rsplit('#').next().unwrap().trim_end_matches(" {");
    let attrs = without.lines().find(|l| l.starts_with(&format!("attributes #{group} = "))).unwrap();
    assert!(attrs.contains("nounwind"), "{attrs}");
    match compile(&wasm(module), &target("x86_64-pc-windows-msvc")) {
        Err(CompileError::Target(message)) => assert!(message.contains("exception handling"), "{message}"),
        other => panic!("expected a target error for Windows, got {:?}", other.map(|_| ())),
    }
}

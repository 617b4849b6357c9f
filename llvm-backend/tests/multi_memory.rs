//! Bounds checks of several memories in the generated IR: each access is
//! checked against its own memory's length, a check of one memory never
//! stands for an access of another (however equal the addresses), each
//! memory's accesses are handed to its own guard region, and loops over
//! two memories are versioned with a test of each.

use kiln_abi::metadata::BoundsChecks;
use kiln_abi::target::Target;
use kiln_llvm::{CompileOptions, TextKind, compile_to_text};

fn x86(bounds_checks: BoundsChecks) -> CompileOptions {
    CompileOptions {
        target: Target::parse("x86_64-unknown-linux-gnu").unwrap(),
        bounds_checks,
        ..CompileOptions::default()
    }
}

fn ir(wat: &str, opts: &CompileOptions) -> String {
    compile_to_text(&wat::parse_str(wat).expect("test module parses"), opts, TextKind::LlvmIr).unwrap()
}

/// The body of function `name` in textual IR.
fn function<'a>(text: &'a str, name: &str) -> &'a str {
    let start = text.find(&format!("@{name}(")).expect("function present");
    let rest = &text[start..];
    &rest[..rest.find("\n}\n").unwrap_or(rest.len())]
}

/// Two loads of the same address, from memories `first` and `second` of
/// a module with two memories.
fn two_loads(first: u32, second: u32) -> String {
    format!(
        r#"(module (memory 1) (memory 1)
        (func (export "f") (param i32) (result i32)
          (i32.add (i32.load {first} (local.get 0)) (i32.load {second} (local.get 0)))))"#
    )
}

/// The bounds checks left in `body`.
fn checks(body: &str) -> usize {
    body.lines().filter(|l| l.contains("!kiln.bounds")).count()
}

/// In explicit mode the second load of one address in one memory needs no
/// check of its own (the first one's covers it), but a load of the same
/// address in the other memory does: memory 0 being long enough says
/// nothing about memory 1.
#[test]
fn a_check_of_one_memory_never_covers_another() {
    let opts = x86(BoundsChecks::Explicit);
    let same = ir(&two_loads(1, 1), &opts);
    assert_eq!(checks(function(&same, "kiln_func_0")), 1, "{same}");
    let other = ir(&two_loads(0, 1), &opts);
    let body = function(&other, "kiln_func_0");
    assert_eq!(checks(body), 2, "{body}");
    // Two different lengths, at the two memory definitions.
    let lengths: Vec<&str> = body.lines().filter(|l| l.contains("load i64") && l.contains("!tbaa")).collect();
    assert_eq!(lengths.len(), 2, "{body}");
}

/// With guard regions both loads fault in place, each at its own memory:
/// no check is left, and the two loads have different bases.
#[test]
fn each_memory_has_its_own_guard_region() {
    let text = ir(&two_loads(0, 1), &x86(BoundsChecks::Guard));
    let body = function(&text, "kiln_func_0");
    assert_eq!(checks(body), 0, "{body}");
    let bases = body.lines().filter(|l| l.contains("load ptr") && l.contains("!invariant.load")).count();
    assert_eq!(bases, 2, "{body}");
    assert_eq!(body.matches("load volatile i32").count(), 2, "{body}");
}

/// A loop copying from memory 1 to memory 0 is versioned with one test of
/// each range against its own memory's length, and the copy without checks
/// is vectorized.
#[test]
fn loops_over_two_memories_are_versioned_and_vectorized() {
    let text = ir(
        r#"(module (memory 1) (memory 1)
        (func (export "scale") (param $src i32) (param $dst i32) (local $i i32)
          (local.set $i (i32.const -4096))
          (loop $l
            (i32.store 0 (i32.add (i32.add (local.get $dst) (local.get $i)) (i32.const 4096))
              (i32.mul (i32.load 1 (i32.add (i32.add (local.get $src) (local.get $i)) (i32.const 4096)))
                       (i32.const 3)))
            (br_if $l (local.tee $i (i32.add (local.get $i) (i32.const 4)))))))"#,
        &x86(BoundsChecks::Explicit),
    );
    let body = function(&text, "kiln_func_0");
    assert!(body.contains("mul <4 x i32>"), "loop not vectorized:\n{body}");
    let lengths = body.lines().filter(|l| l.contains("load i64") && l.contains("!tbaa")).count();
    assert!(lengths >= 2, "not both lengths are tested:\n{body}");
}

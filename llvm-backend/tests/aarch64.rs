//! Executes code compiled for aarch64-unknown-linux-gnu under
//! `qemu-aarch64`: the module is linked statically with a small C driver
//! (`aarch64/driver.c`) that builds the VM context from a list of writes
//! this test derives from kiln-abi's layout, calls exports through the
//! array-call trampolines and prints results or trap codes.
//!
//! Skipped (with a message) when the cross compiler or qemu is missing.

use kiln_abi::metadata::ModuleMetadata;
use kiln_abi::target::Target;
use kiln_abi::{PtrSize, TrapCode, VMOffsets, ValType};
use kiln_llvm::{CompileOptions, compile};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

const MODULE: &str = r#"(module
  (type $ii (func (param i32) (result i32)))
  (memory 1 4)
  (table 3 funcref)
  (elem (i32.const 0) $double $sqrt)
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func $double (param i32) (result i32) (i32.shl (local.get 0) (i32.const 1)))
  (func $sqrt (param f64) (result f64) (f64.sqrt (local.get 0)))
  (func (export "indirect") (param i32 i32) (result i32) (call_indirect (type $ii) (local.get 0) (local.get 1)))
  (func (export "sub0") (param f32) (result f32) (f32.sub (local.get 0) (f32.const 0)))
  (func (export "nearest") (param f64) (result f64) (f64.nearest (local.get 0)))
  (func (export "min") (param f64 f64) (result f64) (f64.min (local.get 0) (local.get 1)))
  (func (export "trunc") (param f32) (result i32) (i32.trunc_f32_s (local.get 0)))
  (func (export "mem") (param i32 i64) (result i64)
    (i64.store offset=8 (local.get 0) (local.get 1)) (i64.load offset=8 (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func $rec (export "rec") (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.const 0))
      (else (i64.add (i64.const 1) (call $rec (i64.sub (local.get 0) (i64.const 1)))))))
  (func (export "multi") (param i32) (result i32 i64 f64)
    (local.get 0) (i64.extend_i32_s (local.get 0)) (f64.convert_i32_s (local.get 0)))
  (func (export "clz") (param i64) (result i64) (i64.clz (local.get 0)))
  (func (export "rotl") (param i32 i32) (result i32) (i32.rotl (local.get 0) (local.get 1)))
  (func (export "sat") (param f64) (result i32) (i32.trunc_sat_f64_u (local.get 0)))
  (func (export "unreachable") unreachable))"#;

/// What one call must produce.
enum Expect {
    /// The raw bits of each result slot.
    Values(Vec<u64>),
    /// A quiet NaN of 32 or 64 bits in the first slot.
    QuietNan(u32),
    Trap(TrapCode),
}

fn cases() -> Vec<(&'static str, Vec<u64>, Expect)> {
    use Expect::*;
    vec![
        ("add", vec![2, 3], Values(vec![5])),
        ("div", vec![(-7i32) as u32 as u64, 2], Values(vec![0xffff_fffd])),
        ("div", vec![7, 0], Trap(TrapCode::IntegerDivisionByZero)),
        ("div", vec![0x8000_0000, 0xffff_ffff], Trap(TrapCode::IntegerOverflow)),
        ("indirect", vec![5, 0], Values(vec![10])),
        ("indirect", vec![5, 1], Trap(TrapCode::IndirectCallTypeMismatch)),
        ("indirect", vec![5, 2], Trap(TrapCode::UninitializedElement)),
        ("indirect", vec![5, 3], Trap(TrapCode::UndefinedElement)),
        ("sub0", vec![0x7fa0_0000], Values(vec![0x7fe0_0000])),
        ("nearest", vec![2.5f64.to_bits()], Values(vec![2.0f64.to_bits()])),
        ("nearest", vec![(-0.5f64).to_bits()], Values(vec![(-0.0f64).to_bits()])),
        ("min", vec![0.0f64.to_bits(), (-0.0f64).to_bits()], Values(vec![(-0.0f64).to_bits()])),
        ("min", vec![1.0f64.to_bits(), 0x7ff4_0000_0000_0000], QuietNan(64)),
        ("trunc", vec![(-1.5f32).to_bits() as u64], Values(vec![0xffff_ffff])),
        ("trunc", vec![f32::NAN.to_bits() as u64], Trap(TrapCode::BadConversionToInteger)),
        ("trunc", vec![3e9f32.to_bits() as u64], Trap(TrapCode::IntegerOverflow)),
        ("mem", vec![16, 0x1122_3344_5566_7788], Values(vec![0x1122_3344_5566_7788])),
        ("size", vec![], Values(vec![1])),
        ("grow", vec![2], Values(vec![1])),
        ("size", vec![], Values(vec![3])),
        ("grow", vec![5], Values(vec![0xffff_ffff])),
        ("rec", vec![1000], Values(vec![1000])),
        ("rec", vec![100_000_000], Trap(TrapCode::StackOverflow)),
        ("multi", vec![0xffff_fffe], Values(vec![0xffff_fffe, 0xffff_ffff_ffff_fffe, 0xc000_0000_0000_0000])),
        ("clz", vec![1], Values(vec![63])),
        ("rotl", vec![0x8000_0001, 1], Values(vec![3])),
        ("sat", vec![(-5.0f64).to_bits()], Values(vec![0])),
        ("sat", vec![1e20f64.to_bits()], Values(vec![0xffff_ffff])),
        ("unreachable", vec![], Trap(TrapCode::UnreachableCodeReached)),
    ]
}

fn tool_missing(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_err()
}

/// `setup.h` for the driver: the VM context initialization and the calls.
fn setup_header(meta: &ModuleMetadata) -> String {
    let o = VMOffsets::new(PtrSize::new(8).unwrap(), &meta.shape());
    let table_len = meta.tables[0].ty.limits.min as u32;
    let mut inits = vec![("IMM32", o.magic(), u64::from(kiln_abi::vmoffsets::VMCTX_MAGIC))];
    inits.push(("STORE_CTX", o.store_context(), 0));
    inits.push(("BUILTINS", o.builtins(), 0));
    for (i, sig) in meta.types.iter().enumerate() {
        let id = meta.types.iter().position(|t| t.ty == sig.ty).unwrap() as u64;
        inits.push(("IMM32", o.type_id(i as u32), id));
    }
    let memory = o.defined_memory(0);
    inits.push(("MEMORY_BASE", memory + o.memory_definition_base(), 0));
    inits.push(("IMM64", memory + o.memory_definition_current_length(), 65536));
    let elements = o.size();
    let table = o.defined_table(0);
    inits.push(("VMCTX_PTR", table + o.table_definition_base(), u64::from(elements)));
    inits.push(("IMM64", table + o.table_definition_current_elements(), u64::from(table_len)));
    for (index, info) in meta.functions.iter().enumerate() {
        let Some(slot) = info.wasm_call else { continue };
        let at = o.func_ref(index as u32);
        let sig = &meta.types[info.type_index as usize];
        inits.push(("FN_SLOT", at + o.func_ref_wasm_call(), u64::from(slot)));
        inits.push(("FN_SLOT", at + o.func_ref_array_call(), u64::from(sig.array_call)));
        inits.push(("VMCTX_PTR", at + o.func_ref_vmctx(), 0));
        let id = meta.types.iter().position(|t| t.ty == sig.ty).unwrap() as u64;
        inits.push(("IMM32", at + o.func_ref_type_id(), id));
    }
    if let kiln_abi::metadata::ElementItems::Functions(funcs) = &meta.elements[0].items {
        for (i, &f) in funcs.iter().enumerate() {
            inits.push(("VMCTX_PTR", elements + 8 * i as u32, u64::from(o.func_ref(f))));
        }
    }

    let mut h = String::new();
    writeln!(h, "#define VMCTX_SIZE {}", elements + 8 * table_len).unwrap();
    writeln!(h, "#define MEMORY_LENGTH_OFFSET {}", memory + o.memory_definition_current_length()).unwrap();
    writeln!(h, "#define MAX_PAGES 4").unwrap();
    writeln!(h, "static const struct init inits[] = {{").unwrap();
    for (kind, offset, value) in inits {
        writeln!(h, "  {{{kind}, {offset}, {value}ull}},").unwrap();
    }
    writeln!(h, "}};\nstatic const struct call calls[] = {{").unwrap();
    for (name, args, _) in cases() {
        let export = meta.exports.iter().find(|e| e.name == name).unwrap();
        let info = meta.functions[export.index as usize];
        let sig = &meta.types[info.type_index as usize];
        let args: Vec<String> = args.iter().map(|a| format!("{a}ull")).collect();
        writeln!(
            h,
            "  {{\"{name}\", {}, {}, {}, {{{}}}, {}}},",
            info.wasm_call.unwrap(),
            sig.array_call,
            args.len(),
            if args.is_empty() { "0".to_string() } else { args.join(", ") },
            sig.ty.results.len()
        )
        .unwrap();
    }
    writeln!(h, "}};").unwrap();
    h
}

#[test]
fn aarch64_code_runs_under_qemu() {
    if tool_missing("aarch64-linux-gnu-gcc") || tool_missing("qemu-aarch64") {
        eprintln!("skipped: aarch64-linux-gnu-gcc or qemu-aarch64 not installed (scripts/setup.sh)");
        return;
    }
    let opts = CompileOptions { target: Target::parse("aarch64-unknown-linux-gnu").unwrap(), ..Default::default() };
    let compiled = compile(&wat::parse_str(MODULE).unwrap(), &opts).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("module.o"), &compiled.object).unwrap();
    std::fs::write(dir.path().join("setup.h"), setup_header(&compiled.metadata)).unwrap();
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/aarch64/driver.c");
    let program = dir.path().join("program");
    let build = Command::new("aarch64-linux-gnu-gcc")
        .args(["-O1", "-static", "-I"])
        .arg(dir.path())
        .arg(&driver)
        .arg(dir.path().join("module.o"))
        .arg("-o")
        .arg(&program)
        .output()
        .unwrap();
    assert!(build.status.success(), "driver build failed:\n{}", String::from_utf8_lossy(&build.stderr));
    let run = Command::new("qemu-aarch64").arg(&program).output().unwrap();
    assert!(run.status.success(), "driver failed: {run:?}");
    let output = String::from_utf8(run.stdout).unwrap();
    let lines: Vec<&str> = output.lines().collect();
    let cases = cases();
    assert_eq!(lines.len(), cases.len(), "{output}");
    let meta = &compiled.metadata;
    for ((name, args, expect), line) in cases.iter().zip(lines) {
        // Only a value's own bytes of a slot are defined (an i32 result
        // leaves the upper half of its slot as it was).
        let export = meta.exports.iter().find(|e| e.name == *name).unwrap();
        let results = &meta.types[meta.functions[export.index as usize].type_index as usize].ty.results;
        let masks: Vec<u64> = results
            .iter()
            .map(|t| if matches!(t, ValType::I32 | ValType::F32) { 0xffff_ffff } else { u64::MAX })
            .collect();
        let (got_name, rest) = line.split_once(':').unwrap();
        assert_eq!(got_name, *name);
        let words: Vec<&str> = rest.split_whitespace().collect();
        let ok = match expect {
            Expect::Trap(code) => words == ["trap", &code.as_u32().to_string()],
            Expect::Values(values) => {
                let got: Vec<u64> =
                    words.iter().zip(&masks).map(|(w, m)| u64::from_str_radix(w, 16).unwrap() & m).collect();
                got == *values
            }
            Expect::QuietNan(bits) => {
                let v = u64::from_str_radix(words[0], 16).unwrap();
                match bits {
                    32 => (v as u32) & 0x7fc0_0000 == 0x7fc0_0000,
                    _ => v & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
                }
            }
        };
        assert!(ok, "{name}{args:?}: got `{}`", rest.trim());
    }
}

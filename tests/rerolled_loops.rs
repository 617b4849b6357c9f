//! Loops unrolled by the producer are rolled back up before optimization
//! (`llvm-backend/src/reroll`): the rolled loop must do exactly what the
//! unrolled one did, fall back to it where the unrolled loop would run
//! past its bound, keep what is used after the loop, leave loops whose
//! copies depend on each other alone, and let the vectorizer take the
//! rolled loop.

mod pipeline;

use kiln::{CompileOptions, Emit, OptLevel};
use kiln_abi::TrapCode;
use kiln_loader::{Instance, Store, Val};
use pipeline::{assert_trap, call, configurations, describe, instantiate, llvm_ir, xorshift};

/// Loops written the way clang writes them for wasm after unrolling:
///
/// * `update(r, p, f, from, n)`: `r[j] -= f * p[j]` for `j` in
///   `from..n` over `f64` arrays: one iteration first when the count is
///   odd, then `rows`.
/// * `rows(r, p, f, start, end)`: two iterations per trip, a byte offset
///   stepping by 16 from `start` until it equals `end`, each copy's
///   addresses computed with `i32.add`.
/// * `scale(dst, src, end, k)`: `f32` `dst[i] = src[i] * k`, two per trip
///   through memory-argument offsets, pointers stepping by 8; returns the
///   final `dst`.
/// * `add_bytes(dst, src, n)`: `dst[i] += src[i]` on bytes, four per trip,
///   a counter stepping by 4 until it equals `n`.
/// * `chain(a, end)`: copies that depend on each other: `x = a[0]`,
///   `a[0] = 3x`, `a[1] += x`, for each pair of `i64`s.
const MODULE: &str = r#"(module
  (memory (export "memory") 1)
  (func $rows (export "rows") (param $r i32) (param $p i32) (param $f f64) (param $j i32) (param $end i32)
    (local $a i32) (local $b i32)
    (loop $l
      (local.set $a (i32.add (local.get $r) (local.get $j)))
      (local.set $b (i32.add (local.get $p) (local.get $j)))
      (f64.store (local.get $a) (f64.sub (f64.load (local.get $a)) (f64.mul (local.get $f) (f64.load (local.get $b)))))
      (local.set $a (i32.add (local.get $a) (i32.const 8)))
      (local.set $b (i32.add (local.get $b) (i32.const 8)))
      (f64.store (local.get $a) (f64.sub (f64.load (local.get $a)) (f64.mul (local.get $f) (f64.load (local.get $b)))))
      (br_if $l (i32.ne (local.tee $j (i32.add (local.get $j) (i32.const 16))) (local.get $end)))))
  (func (export "update") (param $r i32) (param $p i32) (param $f f64) (param $from i32) (param $n i32)
    (local $a i32)
    (if (i32.ge_s (local.get $from) (local.get $n)) (then (return)))
    (if (i32.and (i32.sub (local.get $n) (local.get $from)) (i32.const 1))
      (then
        (local.set $a (i32.add (local.get $r) (i32.shl (local.get $from) (i32.const 3))))
        (f64.store (local.get $a)
          (f64.sub (f64.load (local.get $a))
            (f64.mul (local.get $f) (f64.load (i32.add (local.get $p) (i32.shl (local.get $from) (i32.const 3)))))))
        (local.set $from (i32.add (local.get $from) (i32.const 1)))))
    (if (i32.eq (local.get $from) (local.get $n)) (then (return)))
    (call $rows (local.get $r) (local.get $p) (local.get $f)
      (i32.shl (local.get $from) (i32.const 3)) (i32.shl (local.get $n) (i32.const 3))))
  (func (export "scale") (param $dst i32) (param $src i32) (param $end i32) (param $k f32) (result i32)
    (loop $l
      (f32.store (local.get $dst) (f32.mul (f32.load (local.get $src)) (local.get $k)))
      (f32.store offset=4 (local.get $dst) (f32.mul (f32.load offset=4 (local.get $src)) (local.get $k)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
      (br_if $l (i32.ne (local.tee $src (i32.add (local.get $src) (i32.const 8))) (local.get $end))))
    (local.get $dst))
  (func (export "add_bytes") (param $dst i32) (param $src i32) (param $n i32)
    (local $i i32) (local $d i32) (local $s i32)
    (loop $l
      (local.set $d (i32.add (local.get $dst) (local.get $i)))
      (local.set $s (i32.add (local.get $src) (local.get $i)))
      (i32.store8 (local.get $d) (i32.add (i32.load8_u (local.get $d)) (i32.load8_u (local.get $s))))
      (i32.store8 offset=1 (local.get $d) (i32.add (i32.load8_u offset=1 (local.get $d)) (i32.load8_u offset=1 (local.get $s))))
      (i32.store8 offset=2 (local.get $d) (i32.add (i32.load8_u offset=2 (local.get $d)) (i32.load8_u offset=2 (local.get $s))))
      (i32.store8 offset=3 (local.get $d) (i32.add (i32.load8_u offset=3 (local.get $d)) (i32.load8_u offset=3 (local.get $s))))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 4))) (local.get $n)))))
  (func (export "chain") (param $a i32) (param $end i32)
    (local $x i64)
    (loop $l
      (local.set $x (i64.load (local.get $a)))
      (i64.store (local.get $a) (i64.mul (local.get $x) (i64.const 3)))
      (i64.store offset=8 (local.get $a) (i64.add (i64.load offset=8 (local.get $a)) (local.get $x)))
      (br_if $l (i32.ne (local.tee $a (i32.add (local.get $a) (i32.const 16))) (local.get $end)))))
)"#;

const LEVELS: &[OptLevel] = &[OptLevel::O0, OptLevel::O2, OptLevel::O3];

fn f64s(count: usize, seed: u64) -> Vec<f64> {
    xorshift(count, seed).into_iter().map(|x| (x >> 11) as f64 / (1u64 << 53) as f64 * 4.0 - 2.0).collect()
}

fn put<const N: usize>(store: &mut Store, instance: &Instance, at: usize, values: impl IntoIterator<Item = [u8; N]>) {
    let memory = instance.get_memory(&*store, "memory").expect("the memory export");
    let data = memory.data_mut(store).expect("memory");
    for (k, bytes) in values.into_iter().enumerate() {
        data[at + N * k..at + N * (k + 1)].copy_from_slice(&bytes);
    }
}

fn get<const N: usize>(store: &Store, instance: &Instance, at: usize, count: usize) -> Vec<[u8; N]> {
    let memory = instance.get_memory(store, "memory").expect("the memory export");
    let data = memory.data(store).expect("memory");
    (0..count).map(|k| data[at + N * k..at + N * (k + 1)].try_into().expect("N bytes")).collect()
}

#[test]
fn row_updates_are_exact_for_every_start() {
    const N: usize = 67;
    let (r_at, p_at) = (1024usize, 8192usize);
    let f = -0.8125f64;
    for opts in configurations(LEVELS) {
        let at = describe(&opts);
        let (mut store, instance, _library) = instantiate(MODULE, &opts);
        for from in [0, 1, 2, 5, 30, 65, 66, 67] {
            let (r, p) = (f64s(N, 0x9e37_79b9 + from as u64), f64s(N, 0x7f4a_7c15));
            put(&mut store, &instance, r_at, r.iter().map(|v| v.to_le_bytes()));
            put(&mut store, &instance, p_at, p.iter().map(|v| v.to_le_bytes()));
            let args = [Val::I32(r_at as i32), Val::I32(p_at as i32), Val::F64(f.to_bits()), Val::I32(from), Val::I32(N as i32)];
            call(&mut store, &instance, "update", &args).unwrap_or_else(|e| panic!("update from {from} at {at}: {e}"));
            let expected: Vec<u64> =
                (0..N).map(|j| if j >= from as usize { r[j] - f * p[j] } else { r[j] }.to_bits()).collect();
            let got: Vec<u64> = get(&store, &instance, r_at, N).into_iter().map(u64::from_le_bytes).collect();
            assert_eq!(got, expected, "update from {from} at {at}");
        }
    }
}

/// A byte offset that starts 8 bytes off the 16-byte step never equals
/// the bound: the unrolled loop walks on until it leaves memory. A rolled
/// loop stepping by 8 would stop at the bound, so it must not run.
#[test]
fn a_loop_that_never_meets_its_bound_still_traps() {
    for opts in configurations(LEVELS) {
        let at = describe(&opts);
        let (mut store, instance, _library) = instantiate(MODULE, &opts);
        let rows = [Val::I32(1024), Val::I32(8192), Val::F64(1.5f64.to_bits()), Val::I32(0), Val::I32(8)];
        assert_trap(call(&mut store, &instance, "rows", &rows), TrapCode::MemoryOutOfBounds, &format!("rows at {at}"));
        let bytes = [Val::I32(1024), Val::I32(4096), Val::I32(6)];
        let what = format!("add_bytes at {at}");
        assert_trap(call(&mut store, &instance, "add_bytes", &bytes), TrapCode::MemoryOutOfBounds, &what);
    }
}

#[test]
fn offset_copies_and_the_final_pointer_are_kept() {
    let (dst_at, src_at) = (2048usize, 16384usize);
    let k = 1.0f32 / 3.0;
    for opts in configurations(LEVELS) {
        let at = describe(&opts);
        let (mut store, instance, _library) = instantiate(MODULE, &opts);
        for pairs in [1usize, 2, 7, 64] {
            let src: Vec<f32> = xorshift(2 * pairs, pairs as u64).into_iter().map(|x| (x >> 40) as f32 - 1e6).collect();
            put(&mut store, &instance, src_at, src.iter().map(|v| v.to_le_bytes()));
            let args = [
                Val::I32(dst_at as i32),
                Val::I32(src_at as i32),
                Val::I32((src_at + 8 * pairs) as i32),
                Val::F32(k.to_bits()),
            ];
            let results = call(&mut store, &instance, "scale", &args).unwrap_or_else(|e| panic!("scale at {at}: {e}"));
            assert_eq!(results, [Val::I32((dst_at + 8 * pairs) as i32)], "the final dst, {pairs} pairs at {at}");
            let expected: Vec<u32> = src.iter().map(|v| (v * k).to_bits()).collect();
            let got: Vec<u32> = get(&store, &instance, dst_at, 2 * pairs).into_iter().map(u32::from_le_bytes).collect();
            assert_eq!(got, expected, "{pairs} pairs at {at}");
        }
    }
}

#[test]
fn byte_loops_add_every_byte() {
    let (dst_at, src_at) = (1000usize, 30000usize);
    for opts in configurations(LEVELS) {
        let at = describe(&opts);
        let (mut store, instance, _library) = instantiate(MODULE, &opts);
        for n in [4usize, 8, 36, 1000] {
            let dst: Vec<u8> = xorshift(n, 7 + n as u64).into_iter().map(|x| x as u8).collect();
            let src: Vec<u8> = xorshift(n, 11).into_iter().map(|x| (x >> 8) as u8).collect();
            put(&mut store, &instance, dst_at, dst.iter().map(|&b| [b]));
            put(&mut store, &instance, src_at, src.iter().map(|&b| [b]));
            let args = [Val::I32(dst_at as i32), Val::I32(src_at as i32), Val::I32(n as i32)];
            call(&mut store, &instance, "add_bytes", &args).unwrap_or_else(|e| panic!("add_bytes at {at}: {e}"));
            let expected: Vec<u8> = dst.iter().zip(&src).map(|(d, s)| d.wrapping_add(*s)).collect();
            let got: Vec<u8> = get::<1>(&store, &instance, dst_at, n).into_iter().map(|[b]| b).collect();
            assert_eq!(got, expected, "{n} bytes at {at}");
        }
    }
}

/// The second copy reads the first copy's loaded value: one copy per
/// iteration would compute something else, so the loop stays unrolled.
#[test]
fn dependent_copies_stay_as_written() {
    let a_at = 4096usize;
    for opts in configurations(LEVELS) {
        let at = describe(&opts);
        let (mut store, instance, _library) = instantiate(MODULE, &opts);
        let a = xorshift(40, 5);
        put(&mut store, &instance, a_at, a.iter().map(|v| v.to_le_bytes()));
        let args = [Val::I32(a_at as i32), Val::I32((a_at + 8 * a.len()) as i32)];
        call(&mut store, &instance, "chain", &args).unwrap_or_else(|e| panic!("chain at {at}: {e}"));
        let mut expected = a.clone();
        for pair in expected.chunks_mut(2) {
            let x = pair[0];
            pair[0] = x.wrapping_mul(3);
            pair[1] = pair[1].wrapping_add(x);
        }
        let got: Vec<u64> = get(&store, &instance, a_at, a.len()).into_iter().map(u64::from_le_bytes).collect();
        assert_eq!(got, expected, "chain at {at}");
    }
}

/// Rolled up, the row update and the byte loop are vectorized: the
/// optimized IR loads vectors of `double`s and of bytes.
#[test]
fn rolled_loops_are_vectorized() {
    let opts = CompileOptions { opt_level: OptLevel::O2, ..CompileOptions::default() };
    let ir = llvm_ir(MODULE, &opts, Emit::LlvmIr);
    for vector in ["x double>", "x i8>"] {
        assert!(ir.lines().any(|l| l.contains("= load <") && l.contains(vector)), "no load of <_ {vector} in:\n{ir}");
    }
}

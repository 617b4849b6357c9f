//! A sum carried around a loop has the carried value added last
//! (`llvm-backend/src/carried_sums.rs`): a schoolbook multiply of 32-bit
//! limbs must still compute the exact product, and its inner loop's sum
//! must be rebuilt so that the carry is the last thing added.

mod pipeline;

use kiln::{CompileOptions, Emit, OptLevel};
use kiln_loader::Val;
use pipeline::{call, configurations, describe, instantiate, llvm_ir, xorshift};

/// `mul(a, alen, b, blen, r)`: the limbs of `a * b` at `r` (little-endian
/// 32-bit limbs; `r` must hold `alen + blen` zero limbs), written as C
/// compilers write it: `t = a[i] * b[j] + r[i + j] + carry`.
const MODULE: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "mul") (param $a i32) (param $alen i32) (param $b i32) (param $blen i32) (param $r i32)
    (local $i i32) (local $j i32) (local $ai i64) (local $carry i64) (local $t i64) (local $row i32)
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $alen)))
        (local.set $ai (i64.load32_u (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $row (i32.add (local.get $r) (i32.shl (local.get $i) (i32.const 2))))
        (local.set $carry (i64.const 0))
        (local.set $j (i32.const 0))
        (block $limbs_done
          (loop $limbs
            (br_if $limbs_done (i32.ge_u (local.get $j) (local.get $blen)))
            (local.set $t
              (i64.add
                (i64.add
                  (i64.mul (local.get $ai)
                    (i64.load32_u (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2)))))
                  (i64.load32_u (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2)))))
                (local.get $carry)))
            (i64.store32 (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))) (local.get $t))
            (local.set $carry (i64.shr_u (local.get $t) (i64.const 32)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $limbs)))
        (i32.store (i32.add (local.get $row) (i32.shl (local.get $blen) (i32.const 2))) (i32.wrap_i64 (local.get $carry)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))
)"#;

/// Limbs from a fixed xorshift sequence, with runs of all-ones limbs (the
/// largest carries) mixed in.
fn limbs(count: usize, seed: u64) -> Vec<u32> {
    let values = xorshift(count, seed).into_iter().enumerate();
    values.map(|(k, x)| if k % 5 < 2 { u32::MAX } else { x as u32 }).collect()
}

/// The product by column sums in `u128`, independent of the row-by-row
/// carry loop under test.
fn product(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut result = Vec::with_capacity(a.len() + b.len());
    let mut carry: u128 = 0;
    for k in 0..a.len() + b.len() {
        let mut column = carry;
        for (i, &x) in a.iter().enumerate() {
            if let Some(&y) = k.checked_sub(i).and_then(|j| b.get(j)) {
                column += u128::from(x) * u128::from(y);
            }
        }
        result.push(column as u32);
        carry = column >> 32;
    }
    assert_eq!(carry, 0, "a product of n + m limbs fits in n + m limbs");
    result
}

#[test]
fn schoolbook_products_are_exact() {
    let (a_at, b_at, r_at) = (0usize, 8192usize, 16384usize);
    for opts in configurations(&[OptLevel::O0, OptLevel::O2, OptLevel::O3]) {
        let at = describe(&opts);
        let (mut store, instance, _library) = instantiate(MODULE, &opts);
        let memory = instance.get_memory(&store, "memory").expect("the memory export");
        for (alen, blen) in [(1, 1), (3, 17), (64, 64), (200, 37)] {
            let (a, b) = (limbs(alen, 0x9e37_79b9 + alen as u64), limbs(blen, 0x7f4a_7c15 + blen as u64));
            let data = memory.data_mut(&mut store).expect("memory");
            let mut put = |at: usize, limbs: &[u32]| {
                for (k, limb) in limbs.iter().enumerate() {
                    data[at + 4 * k..at + 4 * k + 4].copy_from_slice(&limb.to_le_bytes());
                }
            };
            put(a_at, &a);
            put(b_at, &b);
            put(r_at, &vec![0; alen + blen]);
            let args = [a_at, alen, b_at, blen, r_at].map(|v| Val::I32(v as i32));
            call(&mut store, &instance, "mul", &args).unwrap_or_else(|e| panic!("mul at {at}: {e}"));
            let data = memory.data(&store).expect("memory");
            let got: Vec<u32> = (0..alen + blen)
                .map(|k| u32::from_le_bytes(data[r_at + 4 * k..r_at + 4 * k + 4].try_into().expect("4 bytes")))
                .collect();
            assert_eq!(got, product(&a, &b), "{alen} x {blen} limbs at {at}");
        }
    }
}

/// In the optimized IR, the sum whose upper half becomes the next carry
/// adds the carry (a `phi`) to the sum of the product and the limb, not
/// the product to the sum of the carry and the limb.
#[test]
fn the_carry_is_added_last() {
    let opts = CompileOptions { opt_level: OptLevel::O2, ..CompileOptions::default() };
    let ir = llvm_ir(MODULE, &opts, Emit::LlvmIr);
    let definition = |name: &str| {
        let prefix = format!("  {name} = ");
        ir.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no definition of {name} in:\n{ir}"))
    };
    let shift = ir.lines().find(|l| l.contains("lshr i64") && l.ends_with(", 32")).unwrap_or_else(|| panic!("{ir}"));
    let total = shift.split_whitespace().nth(4).expect("the shifted value").trim_end_matches(',');
    let sum = definition(total);
    let operands = sum.strip_prefix("add ").unwrap_or_else(|| panic!("{total} = {sum} is not an add in:\n{ir}"));
    let operands = operands.trim_start_matches("nuw ").trim_start_matches("nsw ");
    let operands: Vec<&str> = operands.strip_prefix("i64 ").unwrap_or(operands).split(", ").collect();
    let kinds: Vec<&str> = operands.iter().map(|o| definition(o).split_whitespace().next().unwrap_or("")).collect();
    assert!(kinds.contains(&"phi"), "{total} = {sum}: no operand is the carried phi ({kinds:?}) in:\n{ir}");
    assert!(kinds.contains(&"add"), "{total} = {sum}: the carry is not added to a sum ({kinds:?}) in:\n{ir}");
}

//! The relaxed SIMD operators' allowed results, written from the spec's
//! numerics (the lists `relaxed(R)[A_0, …, A_n]`), and a checker that an
//! artifact's results stay inside them *with one choice of `R` per
//! operator*: the spec lets an implementation pick one behaviour per
//! operator, once, not a different one per call.
//!
//! [`MODULE`] exports every relaxed operator as a function of `v128`
//! parameters; [`inputs`] makes argument lists rich in the cases where the
//! behaviours differ (NaNs, ±0, out-of-range floats, swizzle indices of 16
//! and up, masks that mix set and clear bits, `0x8000` products, bytes with
//! the top bit set); [`Choices::check`] judges one call.

/// One function per relaxed operator, each exported under its name.
pub const MODULE: &str = r#"(module
  (func (export "i8x16.relaxed_swizzle") (param v128 v128) (result v128) (i8x16.relaxed_swizzle (local.get 0) (local.get 1)))
  (func (export "i32x4.relaxed_trunc_f32x4_s") (param v128) (result v128) (i32x4.relaxed_trunc_f32x4_s (local.get 0)))
  (func (export "i32x4.relaxed_trunc_f32x4_u") (param v128) (result v128) (i32x4.relaxed_trunc_f32x4_u (local.get 0)))
  (func (export "i32x4.relaxed_trunc_f64x2_s_zero") (param v128) (result v128) (i32x4.relaxed_trunc_f64x2_s_zero (local.get 0)))
  (func (export "i32x4.relaxed_trunc_f64x2_u_zero") (param v128) (result v128) (i32x4.relaxed_trunc_f64x2_u_zero (local.get 0)))
  (func (export "f32x4.relaxed_madd") (param v128 v128 v128) (result v128) (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2)))
  (func (export "f32x4.relaxed_nmadd") (param v128 v128 v128) (result v128) (f32x4.relaxed_nmadd (local.get 0) (local.get 1) (local.get 2)))
  (func (export "f64x2.relaxed_madd") (param v128 v128 v128) (result v128) (f64x2.relaxed_madd (local.get 0) (local.get 1) (local.get 2)))
  (func (export "f64x2.relaxed_nmadd") (param v128 v128 v128) (result v128) (f64x2.relaxed_nmadd (local.get 0) (local.get 1) (local.get 2)))
  (func (export "i8x16.relaxed_laneselect") (param v128 v128 v128) (result v128) (i8x16.relaxed_laneselect (local.get 0) (local.get 1) (local.get 2)))
  (func (export "i16x8.relaxed_laneselect") (param v128 v128 v128) (result v128) (i16x8.relaxed_laneselect (local.get 0) (local.get 1) (local.get 2)))
  (func (export "i32x4.relaxed_laneselect") (param v128 v128 v128) (result v128) (i32x4.relaxed_laneselect (local.get 0) (local.get 1) (local.get 2)))
  (func (export "i64x2.relaxed_laneselect") (param v128 v128 v128) (result v128) (i64x2.relaxed_laneselect (local.get 0) (local.get 1) (local.get 2)))
  (func (export "f32x4.relaxed_min") (param v128 v128) (result v128) (f32x4.relaxed_min (local.get 0) (local.get 1)))
  (func (export "f32x4.relaxed_max") (param v128 v128) (result v128) (f32x4.relaxed_max (local.get 0) (local.get 1)))
  (func (export "f64x2.relaxed_min") (param v128 v128) (result v128) (f64x2.relaxed_min (local.get 0) (local.get 1)))
  (func (export "f64x2.relaxed_max") (param v128 v128) (result v128) (f64x2.relaxed_max (local.get 0) (local.get 1)))
  (func (export "i16x8.relaxed_q15mulr_s") (param v128 v128) (result v128) (i16x8.relaxed_q15mulr_s (local.get 0) (local.get 1)))
  (func (export "i16x8.relaxed_dot_i8x16_i7x16_s") (param v128 v128) (result v128) (i16x8.relaxed_dot_i8x16_i7x16_s (local.get 0) (local.get 1)))
  (func (export "i32x4.relaxed_dot_i8x16_i7x16_add_s") (param v128 v128 v128) (result v128) (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get 0) (local.get 1) (local.get 2))))"#;

/// The exported operators with their parameter counts, in [`MODULE`]'s
/// order.
pub const OPERATORS: &[(&str, usize)] = &[
    ("i8x16.relaxed_swizzle", 2),
    ("i32x4.relaxed_trunc_f32x4_s", 1),
    ("i32x4.relaxed_trunc_f32x4_u", 1),
    ("i32x4.relaxed_trunc_f64x2_s_zero", 1),
    ("i32x4.relaxed_trunc_f64x2_u_zero", 1),
    ("f32x4.relaxed_madd", 3),
    ("f32x4.relaxed_nmadd", 3),
    ("f64x2.relaxed_madd", 3),
    ("f64x2.relaxed_nmadd", 3),
    ("i8x16.relaxed_laneselect", 3),
    ("i16x8.relaxed_laneselect", 3),
    ("i32x4.relaxed_laneselect", 3),
    ("i64x2.relaxed_laneselect", 3),
    ("f32x4.relaxed_min", 2),
    ("f32x4.relaxed_max", 2),
    ("f64x2.relaxed_min", 2),
    ("f64x2.relaxed_max", 2),
    ("i16x8.relaxed_q15mulr_s", 2),
    ("i16x8.relaxed_dot_i8x16_i7x16_s", 2),
    ("i32x4.relaxed_dot_i8x16_i7x16_add_s", 3),
];

/// A small deterministic generator (xorshift64*), so that a failure
/// reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[(self.next() % from.len() as u64) as usize]
    }
}

const F32_SPECIAL: &[f32] = &[
    0.0, -0.0, 1.0, -1.0, 0.5, -0.75, 1.5, 3.0e9, -3.0e9, 2147483520.0, 2147483648.0, -2147483648.0, -2147483904.0,
    4294967040.0, 4294967296.0, -0.9, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, f32::MIN_POSITIVE, 1.0e-40,
];
const F64_SPECIAL: &[f64] = &[
    0.0, -0.0, 1.0, -1.0, 0.5, -0.75, 2147483647.9, 2147483648.0, -2147483648.9, -2147483649.0, 4294967295.5,
    4294967296.0, -0.9, 1.0e300, f64::INFINITY, f64::NEG_INFINITY, f64::MIN_POSITIVE, 1.0e-310,
];
const F32_NANS: &[u32] = &[0x7fc0_0000, 0xffc0_0000, 0x7fa0_0000, 0x7fc0_1234];
const F64_NANS: &[u64] = &[0x7ff8_0000_0000_0000, 0xfff8_0000_0000_0000, 0x7ff4_0000_0000_0000];

/// A `v128` for operator `name`'s operand `index`, biased to its
/// interesting cases.
fn operand(rng: &mut Rng, name: &str, index: usize) -> u128 {
    let wide = |rng: &mut Rng| (u128::from(rng.next()) << 64) | u128::from(rng.next());
    if name.starts_with("f32x4") || name.contains("f32x4_") {
        let mut v = 0u128;
        for lane in 0..4 {
            let bits = match rng.next() % 4 {
                0 => rng.pick(F32_NANS),
                1 => rng.pick(F32_SPECIAL).to_bits(),
                2 => (rng.next() as f32 / u64::MAX as f32 * 8.0e9 - 4.0e9).to_bits(),
                _ => ((rng.next() % 2000) as f32 / 16.0 - 60.0).to_bits(),
            };
            v |= u128::from(bits) << (32 * lane);
        }
        return v;
    }
    if name.starts_with("f64x2") || name.contains("f64x2_") {
        let mut v = 0u128;
        for lane in 0..2 {
            let bits = match rng.next() % 4 {
                0 => rng.pick(F64_NANS),
                1 => rng.pick(F64_SPECIAL).to_bits(),
                2 => (rng.next() as f64 / u64::MAX as f64 * 1.0e10 - 5.0e9).to_bits(),
                _ => ((rng.next() % 2000) as f64 / 16.0 - 60.0).to_bits(),
            };
            v |= u128::from(bits) << (64 * lane);
        }
        return v;
    }
    let bytes = |rng: &mut Rng, f: &dyn Fn(&mut Rng) -> u8| {
        (0..16).fold(0u128, |v, i| v | (u128::from(f(rng)) << (8 * i)))
    };
    match (name, index) {
        ("i8x16.relaxed_swizzle", 1) => bytes(rng, &|r| r.pick(&[0, 5, 15, 16, 17, 31, 100, 127, 128, 200, 255])),
        (n, 2) if n.contains("laneselect") => match rng.next() % 3 {
            0 => wide(rng),
            // Whole lanes set or clear, in lanes of every width.
            1 => bytes(rng, &|r| r.pick(&[0, 0xff])),
            _ => bytes(rng, &|r| r.pick(&[0, 0xff, 0x80, 0x7f, 0x01])),
        },
        ("i16x8.relaxed_q15mulr_s", _) => (0..8).fold(0u128, |v, i| {
            let random = rng.next() as u16;
            v | (u128::from(rng.pick(&[0x8000u16, 0x7fff, 0x4000, 0xc000, 1, 0xffff, random])) << (16 * i))
        }),
        (n, 1) if n.contains("dot") => {
            bytes(rng, &|r| if r.next() % 2 == 0 { (r.next() % 128) as u8 } else { r.next() as u8 })
        }
        (n, 0) if n.contains("dot") => bytes(rng, &|r| {
            let random = r.next() as u8;
            r.pick(&[0x80, 0x7f, 0xff, 1, random])
        }),
        _ => wide(rng),
    }
}

/// `count` argument lists for operator `name` (of `params` operands).
pub fn inputs(name: &str, params: usize, count: usize, seed: u64) -> Vec<Vec<u128>> {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    for b in name.bytes() {
        rng.0 = (rng.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3) | 1;
    }
    (0..count).map(|_| (0..params).map(|i| operand(&mut rng, name, i)).collect()).collect()
}

/// What one lane may be under behaviour `R`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Lane {
    /// Exactly these bits.
    Bits(u64),
    /// Any NaN.
    AnyNan,
    /// A NaN wasm arithmetic may return: quiet (canonical or arithmetic).
    ArithmeticNan,
}

impl Lane {
    fn holds(self, bits: u64, lane_bits: u32) -> bool {
        let (exponent, quiet) = match lane_bits {
            32 => (0x7f80_0000u64, 0x0040_0000u64),
            _ => (0x7ff0_0000_0000_0000, 0x0008_0000_0000_0000),
        };
        let mantissa = quiet * 2 - 1;
        let nan = bits & exponent == exponent && bits & mantissa != 0;
        match self {
            Lane::Bits(b) => b == bits,
            Lane::AnyNan => nan,
            Lane::ArithmeticNan => nan && bits & quiet != 0,
        }
    }
}

fn lanes(v: u128, bits: u32) -> Vec<u64> {
    let mask = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
    (0..128 / bits).map(|i| (v >> (i * bits)) as u64 & mask).collect()
}

/// A float lane operation's exact result, or `ArithmeticNan` for NaN.
fn float_result32(x: f32) -> Lane {
    if x.is_nan() { Lane::ArithmeticNan } else { Lane::Bits(x.to_bits().into()) }
}

fn float_result64(x: f64) -> Lane {
    if x.is_nan() { Lane::ArithmeticNan } else { Lane::Bits(x.to_bits()) }
}

/// Wasm's deterministic `fmin`/`fmax` (NaN if either is; `-0 < +0`).
fn wasm_min_max(a: f64, b: f64, max: bool) -> Option<f64> {
    if a.is_nan() || b.is_nan() {
        return None;
    }
    if a == 0.0 && b == 0.0 {
        let negative = if max { a.is_sign_negative() && b.is_sign_negative() } else { a.is_sign_negative() || b.is_sign_negative() };
        return Some(if negative { -0.0 } else { 0.0 });
    }
    Some(if max { a.max(b) } else { a.min(b) })
}

/// Truncation of `z` to an integer in `[lo, hi]`, saturating, NaN → 0.
fn trunc_sat(z: f64, lo: f64, hi: f64) -> i64 {
    if z.is_nan() { 0 } else { z.trunc().clamp(lo, hi) as i64 }
}

/// The allowed lanes of one call, one vector of lane options per
/// behaviour `R` (every vector has the same length), and the lane width.
fn allowed(name: &str, args: &[u128]) -> (Vec<Vec<Lane>>, u32) {
    let behaviours = |n: usize, lane: &dyn Fn(usize) -> Vec<Lane>, count: usize| -> Vec<Vec<Lane>> {
        let per_lane: Vec<Vec<Lane>> = (0..count).map(lane).collect();
        (0..n).map(|r| per_lane.iter().map(|options| options[r.min(options.len() - 1)]).collect()).collect()
    };
    let b = |x: u64| Lane::Bits(x);
    match name {
        "i8x16.relaxed_swizzle" => {
            let (a, s) = (lanes(args[0], 8), lanes(args[1], 8));
            let lane = |i: usize| {
                let j = s[i] as usize;
                if j < 16 {
                    vec![b(a[j])]
                } else if j >= 128 {
                    vec![b(0)]
                } else {
                    vec![b(0), b(a[j % 16])]
                }
            };
            (behaviours(2, &lane, 16), 8)
        }
        "i32x4.relaxed_trunc_f32x4_s" | "i32x4.relaxed_trunc_f32x4_u" => {
            let signed = name.ends_with("_s");
            let z: Vec<f64> = lanes(args[0], 32).iter().map(|&x| f64::from(f32::from_bits(x as u32))).collect();
            let lane = |i: usize| trunc_lane(z[i], signed);
            (behaviours(4, &lane, 4), 32)
        }
        "i32x4.relaxed_trunc_f64x2_s_zero" | "i32x4.relaxed_trunc_f64x2_u_zero" => {
            let signed = name.contains("_s_");
            let z: Vec<f64> = lanes(args[0], 64).iter().map(|&x| f64::from_bits(x)).collect();
            let lane = |i: usize| if i < 2 { trunc_lane(z[i], signed) } else { vec![b(0)] };
            (behaviours(4, &lane, 4), 32)
        }
        "f32x4.relaxed_madd" | "f32x4.relaxed_nmadd" => {
            let f = |v: u128| lanes(v, 32).iter().map(|&x| f32::from_bits(x as u32)).collect::<Vec<_>>();
            let (x, y, z) = (f(args[0]), f(args[1]), f(args[2]));
            let negate = name.ends_with("nmadd");
            let lane = |i: usize| {
                let x = if negate { -x[i] } else { x[i] };
                vec![float_result32(x * y[i] + z[i]), float_result32(x.mul_add(y[i], z[i]))]
            };
            (behaviours(2, &lane, 4), 32)
        }
        "f64x2.relaxed_madd" | "f64x2.relaxed_nmadd" => {
            let f = |v: u128| lanes(v, 64).iter().map(|&x| f64::from_bits(x)).collect::<Vec<_>>();
            let (x, y, z) = (f(args[0]), f(args[1]), f(args[2]));
            let negate = name.ends_with("nmadd");
            let lane = |i: usize| {
                let x = if negate { -x[i] } else { x[i] };
                vec![float_result64(x * y[i] + z[i]), float_result64(x.mul_add(y[i], z[i]))]
            };
            (behaviours(2, &lane, 2), 64)
        }
        n if n.ends_with("relaxed_laneselect") => {
            let bits: u32 = n[1..n.find('x').unwrap()].parse().unwrap();
            let (a, c, m) = (lanes(args[0], bits), lanes(args[1], bits), lanes(args[2], bits));
            let all = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
            let lane = |i: usize| {
                let select = |mask: u64| b((a[i] & mask) | (c[i] & !mask & all));
                let top = if m[i] >> (bits - 1) & 1 == 1 { all } else { 0 };
                vec![select(m[i]), select(top)]
            };
            (behaviours(2, &lane, (128 / bits) as usize), bits)
        }
        n if n.contains("relaxed_min") || n.contains("relaxed_max") => {
            let max = n.contains("max");
            let bits = if n.starts_with("f32") { 32 } else { 64 };
            let (x, y) = (lanes(args[0], bits), lanes(args[1], bits));
            let value = |v: u64| if bits == 32 { f64::from(f32::from_bits(v as u32)) } else { f64::from_bits(v) };
            let encode = |v: f64| if bits == 32 { u64::from((v as f32).to_bits()) } else { v.to_bits() };
            let lane = |i: usize| {
                let (z1, z2) = (value(x[i]), value(y[i]));
                let det = match wasm_min_max(z1, z2, max) {
                    Some(v) => b(encode(v)),
                    None => Lane::ArithmeticNan,
                };
                if z1.is_nan() {
                    vec![det, Lane::AnyNan, b(y[i]), b(y[i])]
                } else if z2.is_nan() {
                    vec![det, b(x[i]), Lane::AnyNan, b(x[i])]
                } else if z1 == 0.0 && z2 == 0.0 && z1.is_sign_negative() != z2.is_sign_negative() {
                    let signed_zero = encode(if max { 0.0 } else { -0.0 });
                    vec![det, b(x[i]), b(y[i]), b(signed_zero)]
                } else {
                    vec![det]
                }
            };
            (behaviours(4, &lane, (128 / bits) as usize), bits)
        }
        "i16x8.relaxed_q15mulr_s" => {
            let (x, y) = (lanes(args[0], 16), lanes(args[1], 16));
            let lane = |i: usize| {
                if x[i] == 0x8000 && y[i] == 0x8000 {
                    vec![b(0x7fff), b(0x8000)]
                } else {
                    let p = (i64::from(x[i] as u16 as i16) * i64::from(y[i] as u16 as i16) + 0x4000) >> 15;
                    vec![b(p.clamp(-32768, 32767) as u16 as u64)]
                }
            };
            (behaviours(2, &lane, 8), 16)
        }
        "i16x8.relaxed_dot_i8x16_i7x16_s" => {
            let pairs = dot_pairs(args[0], args[1]);
            let lane = |i: usize| vec![b(pairs[0][i] as u16 as u64), b(pairs[1][i] as u16 as u64)];
            (behaviours(2, &lane, 8), 16)
        }
        "i32x4.relaxed_dot_i8x16_i7x16_add_s" => {
            let pairs = dot_pairs(args[0], args[1]);
            let c = lanes(args[2], 32);
            let quad = |r: usize, i: usize| {
                let sum = (pairs[r][2 * i] + pairs[r][2 * i + 1]).wrapping_add(c[i] as u32 as i32 as i64);
                b(sum as u32 as u64)
            };
            let lane = |i: usize| vec![quad(0, i), quad(1, i)];
            (behaviours(2, &lane, 4), 32)
        }
        other => panic!("no reference for {other}"),
    }
}

/// A relaxed truncation lane: exact in range, else one of the spec's
/// choices (signed: saturated or `INT32_MIN`; unsigned: saturated,
/// `UINT32_MAX`, `UINT32_MAX - 1` or `2^31`).
fn trunc_lane(z: f64, signed: bool) -> Vec<Lane> {
    let b = |x: i64| Lane::Bits(x as u32 as u64);
    let (lo, hi) = if signed { (-2147483648.0, 2147483647.0) } else { (0.0, 4294967295.0) };
    let t = z.trunc();
    if !z.is_nan() && t >= lo && t <= hi {
        return vec![b(t as i64)];
    }
    let saturated = b(trunc_sat(z, lo, hi));
    if signed {
        vec![saturated, b(-2147483648)]
    } else {
        vec![saturated, b(0xffff_ffff), b(0xffff_fffe), b(0x8000_0000)]
    }
}

/// The 16-bit pair sums of the relaxed dot product (signed bytes of `a`
/// times bytes of `b`, adjacent products added with signed saturation),
/// with `b`'s bytes signed (index 0) and unsigned (index 1).
fn dot_pairs(a: u128, b: u128) -> [Vec<i64>; 2] {
    let (a, b) = (lanes(a, 8), lanes(b, 8));
    [true, false].map(|b_signed| {
        (0..8)
            .map(|i| {
                let product = |k: usize| {
                    let rhs = if b_signed { i64::from(b[k] as u8 as i8) } else { b[k] as i64 };
                    i64::from(a[k] as u8 as i8) * rhs
                };
                (product(2 * i) + product(2 * i + 1)).clamp(-32768, 32767)
            })
            .collect()
    })
}

/// For each operator, the behaviours `R` its results so far allow.
#[derive(Default)]
pub struct Choices {
    possible: std::collections::HashMap<String, Vec<bool>>,
}

impl Choices {
    /// Records one call of `name` on `args` that returned `result`; `Err`
    /// when no single behaviour of the spec explains every call of `name`
    /// seen so far.
    pub fn check(&mut self, name: &str, args: &[u128], result: u128) -> Result<(), String> {
        let (options, bits) = allowed(name, args);
        let got = lanes(result, bits);
        let fits: Vec<bool> = options.iter().map(|lanes| lanes.iter().zip(&got).all(|(l, &g)| l.holds(g, bits))).collect();
        let possible = self.possible.entry(name.to_string()).or_insert_with(|| vec![true; fits.len()]);
        for (p, f) in possible.iter_mut().zip(&fits) {
            *p &= f;
        }
        if possible.iter().any(|&p| p) {
            return Ok(());
        }
        let args: Vec<String> = args.iter().map(|a| format!("{a:#034x}")).collect();
        Err(format!(
            "{name}({}) = {result:#034x}: {}",
            args.join(", "),
            if fits.iter().any(|&f| f) {
                "allowed alone, but not by the behaviour earlier calls chose"
            } else {
                "outside every result the spec allows"
            }
        ))
    }
}

;;! emit = asm
;; SIMD on x86-64-v2: swizzle is pshufb after a saturating +0x70 on the
;; indices; q15mulr is pmulhrsw with the 0x8000 lanes flipped; min merges
;; minps in both operand orders and canonicalizes NaN lanes; the
;; saturating truncation is built around cvttps2dq.
(module
  (func (export "swizzle") (param v128 v128) (result v128) (i8x16.swizzle (local.get 0) (local.get 1)))
  (func (export "q15mulr") (param v128 v128) (result v128) (i16x8.q15mulr_sat_s (local.get 0) (local.get 1)))
  (func (export "min") (param v128 v128) (result v128) (f32x4.min (local.get 0) (local.get 1)))
  (func (export "trunc_sat") (param v128) (result v128) (i32x4.trunc_sat_f32x4_s (local.get 0))))

;;! target = aarch64-unknown-linux-gnu
;;! emit = asm
;; SIMD on AArch64: tbl, sqrdmulh, fmin and fcvtzs have wasm's semantics
;; as they are, so each operator is one instruction.
(module
  (func (export "swizzle") (param v128 v128) (result v128) (i8x16.swizzle (local.get 0) (local.get 1)))
  (func (export "q15mulr") (param v128 v128) (result v128) (i16x8.q15mulr_sat_s (local.get 0) (local.get 1)))
  (func (export "min") (param v128 v128) (result v128) (f32x4.min (local.get 0) (local.get 1)))
  (func (export "trunc_sat") (param v128) (result v128) (i32x4.trunc_sat_f32x4_s (local.get 0))))

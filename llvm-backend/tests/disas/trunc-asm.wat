;;! emit = asm
;; One ordered range check on the fast path; NaN is told apart only on the
;; way to the trap.
(module
  (func (export "trunc") (param f64) (result i32) (i32.trunc_f64_s (local.get 0))))

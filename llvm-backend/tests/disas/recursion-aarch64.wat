;;! target = aarch64-unknown-linux-gnu
;;! emit = asm
;; A function that calls compares sp against the store's stack limit.
(module
  (func $count (export "count") (param i32) (result i32)
    (if (result i32) (local.get 0)
      (then (i32.add (i32.const 1) (call $count (i32.sub (local.get 0) (i32.const 1)))))
      (else (i32.const 0)))))

;; call_ref checks only for null (the type is static); br_on_null branches
;; on a null pointer; ref.func is an address in the vmctx, not a load.
(module
  (type $t (func (param i32) (result i32)))
  (func $inc (type $t) (i32.add (local.get 0) (i32.const 1)))
  (elem declare func $inc)
  (func (export "call") (param (ref null $t) i32) (result i32)
    (call_ref $t (local.get 1) (local.get 0)))
  (func (export "or-zero") (param (ref null $t)) (result i32)
    (block $null
      (return (call_ref $t (i32.const 1) (br_on_null $null (local.get 0)))))
    (i32.const 0))
  (func (export "inc") (result (ref $t))
    (ref.func $inc)))

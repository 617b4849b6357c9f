;; Bounds, null and signature checks, then a call through the funcref.
(module
  (type $t (func (param i64) (result i64)))
  (table 4 funcref)
  (func (export "call") (param i32 i64) (result i64)
    (call_indirect (type $t) (local.get 1) (local.get 0))))

;; Block parameters become phis; several results go through a return area.
(module
  (func (export "swap") (param i32 i64) (result i64 i32)
    (local.get 0) (local.get 1)
    (block (param i32 i64) (result i64 i32)
      (local.set 1) (local.set 0)
      (local.get 1) (local.get 0))))

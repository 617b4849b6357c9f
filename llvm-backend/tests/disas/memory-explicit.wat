;;! bounds-checks = explicit
;; Explicit checks: zext(addr) + offset + size > current_length traps.
(module
  (memory 1)
  (func (export "load") (param i32) (result f32)
    (f32.load offset=16 (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))

;; A 64-bit memory: its i64 address is used as it is, and every access
;; keeps a check that `address + offset + size` cannot wrap past
;; (`end > length || address > length - end`), also with guard regions.
;; An offset that reaches 2^63 always traps.
(module
  (memory i64 1)
  (func (export "load") (param i64) (result f32)
    (f32.load offset=16 (local.get 0)))
  (func (export "store_far") (param i64 i32)
    (i32.store offset=0xffff_ffff_ffff_fff0 (local.get 0) (local.get 1)))
  (func (export "size") (result i64) (memory.size))
  (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0))))

;; A table whose maximum equals its minimum never grows: call_indirect
;; compares the index with a constant and the element base is an invariant
;; load in the entry block. A growable table reloads base and size; element
;; stores (table element TBAA) do not force a reload of the size. $fixed is
;; also closed (never written, not exported): call_indirect calls $f from a
;; constant array and takes the checked lookup only for the other slots.
(module
  (type $t (func (result i32)))
  (table $fixed 8 8 funcref)
  (table $grow 1 funcref)
  (func $f (type $t) (i32.const 7))
  (elem (table $fixed) (i32.const 0) func $f)
  (func (export "call-fixed") (param i32) (result i32)
    (call_indirect $fixed (type $t) (local.get 0)))
  (func (export "set-twice") (param i32 funcref)
    (table.set $grow (local.get 0) (local.get 1))
    (table.set $grow (i32.add (local.get 0) (i32.const 1)) (local.get 1)))
  (func (export "copy") (param i32 i32 i32)
    (table.copy $grow $fixed (local.get 0) (local.get 1) (local.get 2)))
  (func (export "grow") (param funcref i32) (result i32)
    (table.grow $grow (local.get 0) (local.get 1))))

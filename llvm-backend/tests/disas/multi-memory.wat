;;! bounds-checks = explicit
;; Multi-memory: an imported memory (0) and two defined ones (1, 2). Each
;; access is checked against its own memory's length (the import's through
;; its definition pointer), memory.copy between two memories checks each
;; range against its own memory, and memory.size, memory.grow and
;; memory.init name the memory.
(module
  (import "env" "memory" (memory 1))
  (memory $b 1)
  (memory $c 2 4)
  (data $d "hello")
  (func (export "load") (param i32) (result i32)
    (i32.add (i32.load offset=4 (local.get 0)) (i32.load $c offset=4 (local.get 0))))
  (func (export "store") (param i32 i64)
    (i64.store $b (local.get 0) (local.get 1)))
  (func (export "copy") (param i32 i32 i32)
    (memory.copy $c $b (local.get 0) (local.get 1) (local.get 2)))
  (func (export "size-grow") (param i32) (result i32 i32)
    (memory.size $c) (memory.grow $b (local.get 0)))
  (func (export "init") (param i32 i32 i32)
    (memory.init $c $d (local.get 0) (local.get 1) (local.get 2))))

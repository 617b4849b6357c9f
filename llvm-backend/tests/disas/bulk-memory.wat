;; memory.copy and memory.fill are checked against the current length in
;; 64 bits first, and only then become llvm.memmove / llvm.memset (which
;; may call libc, where a fault would not be a trap). memory.init and
;; data.drop call their builtins; a nonzero result raises that trap.
(module
  (memory 1)
  (data $d "hello")
  (func (export "copy") (param i32 i32 i32)
    (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fill") (param i32 i32 i32)
    (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i32 i32 i32)
    (memory.init $d (local.get 0) (local.get 1) (local.get 2))
    (data.drop $d)))

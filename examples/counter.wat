;; A second module linked into the static-plugin example beside the
;; plugin, under its own symbol prefix.
(module
  (global $n (mut i64) (i64.const 0))
  (func (export "bump") (param i64) (result i64)
    global.get $n local.get 0 i64.add global.set $n global.get $n))

;; The plugin of the build-script examples (static-plugin, dynamic-plugin):
;; host imports, several results, a keyword and a dashed export name, v128,
;; and three ways to trap.
(module
  (import "host" "log" (func $log (param i32)))
  (import "host" "scale" (func $scale (param f64) (result f64)))
  (memory (export "memory") 1)
  (func (export "add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add)
  (func (export "div-mod") (param i32 i32) (result i32 i32)
    local.get 0 local.get 1 i32.div_s
    local.get 0 local.get 1 i32.rem_s)
  (func (export "scaled") (param i64) (result f64)
    local.get 0 f64.convert_i64_s call $scale)
  (func (export "report") (param i32)
    local.get 0 call $log)
  (func (export "load") (param i32) (result i32)
    local.get 0 i32.load)
  (func $recurse (export "recurse") (param i32) (result i32)
    local.get 0 call $recurse i32.const 1 i32.add)
  (func (export "type") (param v128) (result v128)
    local.get 0 local.get 0 i32x4.add))

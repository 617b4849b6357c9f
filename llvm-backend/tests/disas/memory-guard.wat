;; Guard regions: loads and stores are plain, byte-aligned, TBAA-tagged,
;; with the memory base loaded once as invariant.
(module
  (memory 1)
  (func (export "copy") (param $dst i32) (param $src i32)
    (i64.store offset=8 (local.get $dst) (i64.load8_s offset=4 (local.get $src)))))

;; A small module for kiln's quick start: a sieve of Eratosthenes over linear
;; memory and an iterative Fibonacci.
(module
  (memory (export "memory") 16)

  ;; Number of primes below $n, sieving in memory (one byte per number).
  ;; Grows memory when $n needs more than it has.
  (func (export "count_primes") (param $n i32) (result i32)
    (local $i i32) (local $j i32) (local $count i32) (local $pages i32)
    (local.set $pages (i32.sub (i32.add (i32.shr_u (local.get $n) (i32.const 16)) (i32.const 1))
                               (memory.size)))
    (if (i32.gt_s (local.get $pages) (i32.const 0))
      (then (if (i32.eq (memory.grow (local.get $pages)) (i32.const -1))
              (then (return (i32.const -1))))))
    ;; Clear the sieve (a previous call may have used it).
    (block $cleared
      (loop $clear
        (br_if $cleared (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8 (local.get $i) (i32.const 0))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $clear)))
    (local.set $i (i32.const 2))
    (block $done
      (loop $outer
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.eqz (i32.load8_u (local.get $i)))
          (then
            (local.set $count (i32.add (local.get $count) (i32.const 1)))
            ;; Multiples below i*i are already marked; i*i itself may not
            ;; fit in 32 bits, so compare i with n/i instead.
            (if (i32.gt_u (local.get $i) (i32.div_u (local.get $n) (local.get $i)))
              (then (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $outer)))
            (local.set $j (i32.mul (local.get $i) (local.get $i)))
            (block $marked
              (loop $inner
                (br_if $marked (i32.ge_u (local.get $j) (local.get $n)))
                (i32.store8 (local.get $j) (i32.const 1))
                (local.set $j (i32.add (local.get $j) (local.get $i)))
                (br $inner)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (local.get $count))

  ;; The $n-th Fibonacci number.
  (func (export "fib") (param $n i32) (result i64)
    (local $a i64) (local $b i64) (local $t i64)
    (local.set $b (i64.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $t (i64.add (local.get $a) (local.get $b)))
        (local.set $a (local.get $b))
        (local.set $b (local.get $t))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $a))
)

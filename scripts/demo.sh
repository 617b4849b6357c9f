#!/usr/bin/env bash
# Sets up the machine, builds kiln, compiles the bundled example module into
# a native shared library, loads it and calls its exports.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet --bin kiln
kiln=target/release/kiln
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

$kiln compile examples/primes.wat -o "$out/primes.so"
$kiln inspect "$out/primes.so"
echo
echo "count_primes(1000000) = $($kiln run "$out/primes.so" --invoke count_primes 1000000)"
echo "fib(40)              = $($kiln run "$out/primes.so" --invoke fib 40)"

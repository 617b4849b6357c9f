#!/usr/bin/env bash
# Benchmarks kiln against native code, wasmtime and node on the C programs
# in benches/. Usage:
#
#   scripts/bench.sh [PROGRAM...]          # default: every benches/*.c
#
# Environment:
#   BENCH_RUNS=N        runs per program and runner (default 5; 1 with BENCH_QUICK)
#   BENCH_QUICK=1       small problem sizes (-DBENCH_QUICK), to smoke-test the script
#   BENCH_OUT=DIR       where builds and results go (default target/bench,
#                       target/bench-quick with BENCH_QUICK)
#   BENCH_RUNNERS=a,b   only these runners (native always runs): native, kiln-O2,
#                       kiln-O3, kiln-O3-native, kiln-O3-simd, kiln-O2-process,
#                       kiln-O2-baseline, wasmtime, wasmtime-simd, node,
#                       node-simd, wasm2c
#   KILN_BASELINE=PATH  another build's kiln binary (an earlier commit, say):
#                       adds the kiln-O2-baseline runner, whose libraries that
#                       kiln compiles and runs with its own `kiln run`, so a
#                       change is measured against what came before in one run
#
# Results: report.md, summary.csv, runs.csv, compile.csv, load.csv,
# sizes.csv and ratios.svg in the output directory. The exit status is
# non-zero if any run printed something other than the native build did.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

"$root/scripts/setup.sh"
for tool in clang-19 node python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done
command -v wasm2c >/dev/null || echo "bench: wasm2c (Debian package wabt) not found; no wasm2c runner or compile times"

echo "bench: building kiln (release)"
cargo build --release -p kiln
echo "bench: building the in-process timing harness (benches/harness)"
CARGO_TARGET_DIR="$root/target" cargo build --release --manifest-path benches/harness/Cargo.toml

# wasmtime comes from PyPI, in a venv of its own under target/.
venv="$root/target/bench-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import wasmtime" 2>/dev/null; then
  echo "bench: installing the wasmtime Python package into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade "wasmtime==${BENCH_WASMTIME_VERSION:-50.0.1}"
fi

export KILN="$root/target/release/kiln"
export KILN_BENCH_HARNESS="$root/target/release/kiln-bench-harness"
exec "$venv/bin/python" "$root/scripts/bench/main.py" "$@"

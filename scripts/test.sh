#!/usr/bin/env bash
# Sets up the machine (system packages) and runs kiln's whole test suite:
# unit tests, the WebAssembly spec testsuite (../shared/testsuite), the WASI
# testsuite (../shared/wasi-testsuite), bad-input tests and the aarch64
# cross-target check under qemu.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
start=$(date +%s)
cargo test --workspace "$@"
echo "test suite finished in $(( $(date +%s) - start )) s"

#!/usr/bin/env bash
# Installs every system package kiln needs on Debian 12 (bookworm).
# Safe to run any number of times: packages already present are skipped.
set -euo pipefail

packages=(
  # LLVM 19 for the compiler (inkwell links it; static linking needs polly/zstd/zlib)
  llvm-19-dev libpolly-19-dev libzstd-dev zlib1g-dev
  # the linker for every target (ld.lld, ld64.lld and lld-link: ELF, Mach-O
  # and PE/COFF; no target SDK needed), and clang for C harnesses and wasm
  # test programs
  lld-19 clang-19
  # building C programs for wasm32-wasi (the WASI tests): libc and compiler runtime
  wasi-libc libclang-rt-19-dev-wasm32
  # running aarch64 and riscv64 Linux artifacts on an x86_64 host, in C
  # harnesses built with the cross compilers
  qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-riscv64-linux-gnu libc6-dev-riscv64-cross
  # wasm2c and its runtime: a comparison runner of scripts/bench.sh
  wabt
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all system packages present"
fi

# The Rust target of wasi-threads programs (cli/tests/wasi_threads.rs builds
# one at test time): std with wasi-libc's threads variant.
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-wasip1-threads; then
  echo "setup: adding the Rust target wasm32-wasip1-threads"
  rustup target add wasm32-wasip1-threads
fi

# Sanity check: the LLVM that inkwell will build against.
/usr/lib/llvm-19/bin/llvm-config --version >/dev/null

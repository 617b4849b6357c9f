#!/usr/bin/env bash
# Runs a seeded fuzzing campaign on any toolchain (stable included):
#
#   scripts/fuzz.sh TARGET MINUTES [kiln-fuzz options...]
#
# TARGET is differential (kiln -O0 and -O2 against the wasmi interpreter),
# compile (the compiler on arbitrary bytes and generated modules) or loader
# (mutated libraries). One worker process per core runs consecutive seeds;
# progress goes to stderr every 30 s, failing inputs are saved under
# fuzz/artifacts/TARGET/seed-N.*, and the last line is `N passed, M failed`.
# The exit status is 1 if any input failed.
#
# Options are passed to kiln-fuzz: --seed N (first seed, 0 by default),
# --jobs N, --inputs N (stop after N inputs), --bounds-checks guard|explicit
# (differential; guard by default), --artifacts DIR. A failing seed is
# reproduced with `kiln-fuzz TARGET --repro --seed N` (or `--inputs 1
# --seed N`, which runs it in a worker and survives a crash).
#
# With cargo-fuzz on a nightly toolchain the same targets run under
# libFuzzer: `cargo fuzz run differential` from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
    echo "usage: scripts/fuzz.sh TARGET MINUTES [kiln-fuzz options...]" >&2
    echo "targets: differential, compile, loader" >&2
    exit 2
fi
target=$1
minutes=$2
shift 2
cargo build --quiet -p kiln-fuzz --bin kiln-fuzz
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
exec "$target_dir/debug/kiln-fuzz" "$target" --minutes "$minutes" "$@"

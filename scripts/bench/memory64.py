#!/usr/bin/env python3
"""memory64 against memory32: the same benchmark programs built for wasm32
and wasm64 and compiled by kiln -O2, run times compared.

wasi-libc has no wasm64 build, so both builds are freestanding
(`clang-19 --target=wasmNN-unknown-unknown -nostdlib`) over the few libc
stand-ins in `freestanding/` (a bump allocator, builtins, a printf that
folds its arguments into a digest). Each program's exported `run` returns
that digest, which must be the same for both builds. Programs that need
more of libc (bigint, sha256, parser, wordcount, ...) are not in the list.

    scripts/bench/memory64.py [--kiln PATH] [--runs N] [PROGRAM ...]

Prints, per program, the median run time of `kiln run LIB --invoke run`
(the whole process) for each build and their ratio, then the geometric mean.
"""
import argparse
import math
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROGRAMS = ["matmul", "sort", "spectralnorm", "fannkuch", "mandelbrot", "nbody", "lu", "stencil2d", "editdist"]


def build(program, width, work, kiln):
    """wasmNN build of `program` compiled by kiln -O2; the library's path."""
    wasm = work / f"{program}.{width}.wasm"
    lib = work / f"{program}.{width}.so"
    shim = ROOT / "scripts/bench/freestanding"
    subprocess.run(["clang-19", f"--target=wasm{width}-unknown-unknown", "-O2", "-nostdlib", "-ffreestanding",
                    "-mbulk-memory", f"-I{shim}", f"-I{ROOT / 'benches'}", "-Wl,--no-entry", "-Wl,--export=run",
                    "-Wl,-z,stack-size=1048576", ROOT / "benches" / f"{program}.c", shim / "main.c", "-o", wasm],
                   check=True)
    subprocess.run([kiln, "compile", "-O2", wasm, "-o", lib], check=True, capture_output=True)
    return lib


def timed_run(kiln, lib):
    start = time.perf_counter()
    out = subprocess.run([kiln, "run", lib, "--invoke", "run"], check=True, capture_output=True, text=True)
    return time.perf_counter() - start, out.stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiln", default=str(ROOT / "target/release/kiln"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("programs", nargs="*", default=PROGRAMS)
    args = parser.parse_args()
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        for program in args.programs:
            libs = {w: build(program, w, work, args.kiln) for w in (32, 64)}
            times = {32: [], 64: []}
            digests = set()
            for _ in range(args.runs):
                for width, lib in libs.items():
                    seconds, digest = timed_run(args.kiln, lib)
                    times[width].append(seconds)
                    digests.add(digest)
            if len(digests) != 1:
                sys.exit(f"{program}: the wasm32 and wasm64 builds disagree: {sorted(digests)}")
            m32, m64 = statistics.median(times[32]), statistics.median(times[64])
            ratios.append(m64 / m32)
            print(f"{program:14s} wasm32 {m32:7.3f} s  wasm64 {m64:7.3f} s  ratio {m64 / m32:5.2f}", flush=True)
    print(f"{'geomean':14s} {'':34s}ratio {math.exp(sum(map(math.log, ratios)) / len(ratios)):5.2f}")


if __name__ == "__main__":
    main()

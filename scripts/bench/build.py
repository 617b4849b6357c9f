"""Builds everything scripts/bench runs, timing the compilers as it goes.

Per program (benches/NAME.c):
  native/NAME              clang-19 -O2, for this machine's default x86-64
  wasm/NAME.wasm           clang-19 -O2 --target=wasm32-wasi, DWARF stripped
                           (Debian's wasi-libc carries it; the name section stays)
  wasm-simd/NAME.wasm      the same with -msimd128
  kiln-*/NAME.so           `kiln compile` of one of the wasm files
  wasmtime*/NAME.cwasm     wasmtime's Cranelift compile, serialized
  wasm2c/NAME/NAME         wasm/NAME.wasm through wasm2c and clang-19 -O2, linked
                           with wasm2c_main.c and wabt's wasm-rt runtime

Compile times are wall-clock seconds of one compile each: of the whole
`kiln compile` process (parse, LLVM, link), of `Module(engine, bytes)`
inside the wasmtime runner (Python start-up excluded), and of wasm2c and
`clang-19 -O2 -c` separately.
"""

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field


# kiln artifacts: directory -> (wasm variant, `kiln compile` options)
KILN_BUILDS = {
    "kiln-O2": ("wasm", ["-O2"]),
    "kiln-O3": ("wasm", ["-O3"]),
    "kiln-O3-native": ("wasm", ["-O3", "--cpu", "native"]),
    "kiln-O3-simd": ("wasm-simd", ["-O3"]),
}

# Artifacts of the baseline kiln ($KILN_BASELINE, another build of kiln, run
# by its own `kiln run`): directory -> (wasm variant, `kiln compile` options)
BASELINE_BUILDS = {"kiln-O2-baseline": ("wasm", ["-O2"])}

# wasmtime artifacts: directory -> wasm variant
WASMTIME_BUILDS = {"wasmtime": "wasm", "wasmtime-simd": "wasm-simd"}

# wabt's runtime for wasm2c output, as Debian's `wabt` installs it
WASM_RT_IMPL = "/usr/share/wabt/wasm2c/wasm-rt-impl.c"


class BuildError(Exception):
    pass


@dataclass
class Built:
    """What the build produced and measured, per program."""

    compile_seconds: dict = field(default_factory=dict)  # (program, column) -> s
    sizes: dict = field(default_factory=dict)  # (program, artifact) -> bytes
    notes: list = field(default_factory=list)


def run_checked(cmd, what, **kwargs):
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        raise BuildError(f"{what} failed ({' '.join(map(str, cmd))}):\n{proc.stderr.strip()}")
    return proc


def timed(cmd, what):
    start = time.perf_counter()
    run_checked(cmd, what)
    return time.perf_counter() - start


def c_flags(cfg):
    flags = ["-O2", "-Wall", "-Wextra", "-Werror"]
    if cfg.quick:
        flags.append("-DBENCH_QUICK")
    return flags


def build_c(cfg, out, source, name, built):
    """Native and wasm32-wasi builds of one C file into `out`."""
    flags = c_flags(cfg)
    native = out / "native" / name
    run_checked([cfg.clang, *flags, source, "-o", native, "-lm"], f"clang-19 (native) {name}")
    for variant, extra in (("wasm", []), ("wasm-simd", ["-msimd128"])):
        wasm = out / variant / f"{name}.wasm"
        run_checked([cfg.clang, "--target=wasm32-wasi", *flags, *extra, "-Wl,--strip-debug", source, "-o", wasm,
                     "-lm"],
                    f"clang-19 ({variant}) {name}")
        built.sizes[(name, variant)] = wasm.stat().st_size
    built.sizes[(name, "native")] = native.stat().st_size


def build_kiln(cfg, out, name, built, only=None):
    builds = [(cfg.kiln, b) for b in KILN_BUILDS.items()]
    if cfg.kiln_baseline:
        builds += [(cfg.kiln_baseline, b) for b in BASELINE_BUILDS.items()]
    for kiln, (build, (variant, options)) in builds:
        if only is not None and build not in only:
            continue
        library = out / build / f"{name}.so"
        wasm = out / variant / f"{name}.wasm"
        seconds = timed([kiln, "compile", wasm, "-o", library, *options], f"kiln compile {build} {name}")
        built.compile_seconds[(name, build)] = seconds
        built.sizes[(name, build)] = library.stat().st_size


def build_wasmtime(cfg, out, name, built, only=None):
    for build, variant in WASMTIME_BUILDS.items():
        if only is not None and build not in only:
            continue
        wasm = out / variant / f"{name}.wasm"
        artifact = out / build / f"{name}.cwasm"
        time_file = cfg.tmp_dir / "compile.json"
        run_checked([cfg.python, cfg.script_dir / "run_wasmtime.py", "compile", wasm, artifact, time_file],
                    f"wasmtime compile {build} {name}")
        built.compile_seconds[(name, build)] = json.loads(time_file.read_text())["compile"]
        built.sizes[(name, build)] = artifact.stat().st_size


def build_wasm2c(cfg, out, name, built):
    """wasm2c, clang-19 -O2 of its C (both timed), then a native program
    from that object, wasm2c_main.c (the few WASI functions the programs
    import) and wabt's wasm-rt runtime."""
    wasm = out / "wasm" / f"{name}.wasm"
    work = out / "wasm2c" / name
    work.mkdir(parents=True, exist_ok=True)
    c_file, obj, exe = work / "module.c", work / "module.o", work / name
    try:
        built.compile_seconds[(name, "wasm2c")] = timed([cfg.wasm2c, "-n", "bench", wasm, "-o", c_file],
                                                        f"wasm2c {name}")
        built.compile_seconds[(name, "wasm2c-clang-O2")] = timed(
            [cfg.clang, "-O2", "-c", c_file, "-o", obj], f"clang-19 -O2 of wasm2c's {name}.c")
        built.sizes[(name, "wasm2c")] = obj.stat().st_size
        run_checked([cfg.clang, "-O2", f"-I{work}", cfg.script_dir / "wasm2c_main.c", obj, WASM_RT_IMPL, "-lm",
                     "-o", exe], f"linking the wasm2c build of {name}")
    except BuildError as e:
        built.notes.append(f"wasm2c build of {name} failed: {str(e).splitlines()[0]}")


def prepare_dirs(cfg, out):
    dirs = ["native", "wasm", "wasm-simd", *KILN_BUILDS, *BASELINE_BUILDS, *WASMTIME_BUILDS, "wasm2c"]
    for d in dirs:
        (out / d).mkdir(parents=True, exist_ok=True)
    cfg.tmp_dir.mkdir(parents=True, exist_ok=True)


def build_all(cfg, progress):
    out = cfg.build_dir
    prepare_dirs(cfg, out)
    built = Built()
    if not cfg.wasm2c:
        built.notes.append("wasm2c not found (Debian package `wabt`): no wasm2c compile-time column")
    total = len(cfg.programs)
    for i, name in enumerate(cfg.programs, 1):
        progress(f"[build {i}/{total}] {name}: clang-19 native, wasm32-wasi, wasm32-wasi -msimd128")
        build_c(cfg, out, cfg.bench_dir / f"{name}.c", name, built)
        kiln_builds = [*KILN_BUILDS, *(BASELINE_BUILDS if cfg.kiln_baseline else [])]
        progress(f"[build {i}/{total}] {name}: kiln compile {', '.join(kiln_builds)}")
        build_kiln(cfg, out, name, built)
        progress(f"[build {i}/{total}] {name}: wasmtime (Cranelift) compile")
        build_wasmtime(cfg, out, name, built)
        if cfg.wasm2c:
            progress(f"[build {i}/{total}] {name}: wasm2c + clang-19 -O2")
            build_wasm2c(cfg, out, name, built)

    # The start-up probe: an empty program, for the runners that run it.
    progress("[build] start-up probe (an empty program)")
    probe, startup = Built(), out / "startup"
    prepare_dirs(cfg, startup)
    build_c(cfg, startup, cfg.script_dir / "empty.c", "empty", probe)
    build_kiln(cfg, startup, "empty", probe, only={"kiln-O2", "kiln-O2-baseline"})
    build_wasmtime(cfg, startup, "empty", probe, only={"wasmtime"})
    if cfg.wasm2c:
        build_wasm2c(cfg, startup, "empty", probe)
    return built


def find_wasm2c():
    path = shutil.which("wasm2c")
    return path if path and os.path.exists("/usr/include/wasm-rt.h") and os.path.exists(WASM_RT_IMPL) else None

"""Runs the built programs and measures them.

What each runner's time includes (wall-clock seconds):
  native      the whole process: exec, the program, exit
  kiln-O*     inside benches/harness: instantiation with WASI plus _start
              of the library loaded beforehand (compiled beforehand too),
              i.e. what the wasmtime and node numbers include
  kiln-O2-process
              the whole `kiln run NAME.so` process: exec of kiln (which
              links LLVM, so its start-up is tens of milliseconds), loading
              the library, instantiation with WASI, _start, exit
  kiln-O2-baseline
              the same with the baseline kiln ($KILN_BASELINE: another
              build, compiling and running with its own `kiln run`), to
              compare a change with what came before in one run
  wasmtime*   inside the runner process: instantiation with WASI plus
              _start of a module deserialized beforehand (Python start-up,
              deserialization and compilation excluded)
  wasm2c      the whole process of the native program built from wasm2c's
              C (clang-19 -O2) with wabt's runtime and a minimal WASI
  node*       inside node: WebAssembly.instantiate with WASI imports plus
              _start of a module TurboFan-compiled beforehand (node
              start-up and compilation excluded)
Start-up (an empty program) is measured separately for each runner kind,
so the whole-process numbers can be read against it.

Every run's stdout must equal the native build's stdout of the same
program; anything else (another output, a non-zero exit) is an error
reported by program and runner.
"""

import json
import statistics
import subprocess
import time
from dataclasses import dataclass

# --single-threaded: node 20.20 (V8 11.3) crashes with SIGSEGV in the JS
# interpreter right after _start returns for some programs (parser, sort),
# intermittently, unless V8's worker threads are off. Those threads only
# compile (done before timing starts) and collect JS garbage (these programs
# make none); wasm code runs on the main thread either way.
NODE_FLAGS = ["--no-liftoff", "--no-wasm-lazy-compilation", "--single-threaded", "--no-warnings"]


@dataclass(frozen=True)
class Runner:
    name: str
    kind: str  # native | kiln | kiln-inprocess | wasmtime | node | wasm2c
    artifact: str  # build directory holding its input
    what: str  # one line for the report


RUNNERS = [
    Runner("native", "native", "native", "clang-19 -O2, native x86-64 (whole process)"),
    Runner("kiln-O2", "kiln-inprocess", "kiln-O2", "kiln compile -O2, instantiate + _start in process"),
    Runner("kiln-O3", "kiln-inprocess", "kiln-O3", "kiln compile -O3, instantiate + _start in process"),
    Runner("kiln-O3-native", "kiln-inprocess", "kiln-O3-native",
           "kiln compile -O3 --cpu native, instantiate + _start in process"),
    Runner("kiln-O3-simd", "kiln-inprocess", "kiln-O3-simd",
           "kiln compile -O3 of the -msimd128 build, instantiate + _start in process"),
    Runner("kiln-O2-process", "kiln", "kiln-O2", "kiln compile -O2, the whole `kiln run` process"),
    Runner("kiln-O2-baseline", "kiln-baseline", "kiln-O2-baseline",
           "the baseline kiln ($KILN_BASELINE) -O2, the whole `kiln run` process"),
    Runner("wasmtime", "wasmtime", "wasmtime", "wasmtime (Cranelift), instantiate + _start in process"),
    Runner("wasmtime-simd", "wasmtime", "wasmtime-simd", "wasmtime of the -msimd128 build, instantiate + _start"),
    Runner("node", "node", "wasm", "node V8 TurboFan (--no-liftoff), instantiate + _start in process"),
    Runner("node-simd", "node", "wasm-simd", "node V8 TurboFan of the -msimd128 build, instantiate + _start"),
    Runner("wasm2c", "wasm2c", "wasm2c", "wasm2c + clang-19 -O2 with wabt's runtime (whole process)"),
]

EXTENSIONS = {"native": "", "kiln": ".so", "kiln-baseline": ".so", "kiln-inprocess": ".so", "wasmtime": ".cwasm",
              "node": ".wasm"}
IN_PROCESS = ("kiln-inprocess", "wasmtime", "node")  # kinds that time themselves


class Failure(Exception):
    pass


def command(cfg, runner, build_dir, name, time_file):
    """The command line that runs `name` under `runner`."""
    if runner.kind == "wasm2c":
        return [build_dir / "wasm2c" / name / name]
    artifact = build_dir / runner.artifact / f"{name}{EXTENSIONS[runner.kind]}"
    if runner.kind == "native":
        return [artifact]
    if runner.kind == "kiln":
        return [cfg.kiln, "run", artifact]
    if runner.kind == "kiln-baseline":
        return [cfg.kiln_baseline, "run", artifact]
    if runner.kind == "kiln-inprocess":
        return [cfg.harness, "run", artifact, time_file]
    if runner.kind == "wasmtime":
        return [cfg.python, cfg.script_dir / "run_wasmtime.py", "run", artifact, time_file]
    return [cfg.node, *NODE_FLAGS, cfg.script_dir / "run_node.mjs", time_file, artifact]


def run_once(cfg, runner, build_dir, name):
    """Runs one program once; returns (seconds, wall seconds, stdout)."""
    time_file = cfg.tmp_dir / "run.json"
    time_file.unlink(missing_ok=True)
    cmd = command(cfg, runner, build_dir, name, time_file)
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        raise Failure(f"cannot run {cmd[0]}: {e.strerror}") from e
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        raise Failure(f"exit status {proc.returncode}: {' | '.join(tail) or '(no stderr)'}")
    seconds = wall
    if runner.kind in IN_PROCESS:
        seconds = json.loads(time_file.read_text())["run"]
    return seconds, wall, proc.stdout


def reference_outputs(cfg, progress):
    """The native build's stdout of every program: what every runner must print."""
    native = RUNNERS[0]
    outputs = {}
    for name in cfg.programs:
        progress(f"[reference] {name} (native)")
        try:
            _, wall, out = run_once(cfg, native, cfg.build_dir, name)
        except Failure as e:
            raise Failure(f"the native build of {name} failed, so there is nothing to compare with: {e}") from e
        outputs[name] = out
        progress(f"[reference] {name}: {wall:.3f} s, {out.strip().splitlines()[-1]}")
    return outputs


def first_difference(expected, got):
    for i, (a, b) in enumerate(zip(expected.splitlines(), got.splitlines()), 1):
        if a != b:
            return f"line {i}: expected {a!r}, got {b!r}"
    return f"expected {len(expected.splitlines())} lines, got {len(got.splitlines())}"


def run_all(cfg, runners, reference, progress):
    """BENCH_RUNS repetitions; in each, every program under every runner
    in turn (round-robin, so slow drift of the machine affects all runners
    alike). Returns run records and errors."""
    records, errors = [], []
    total = cfg.runs * len(cfg.programs) * len(runners)
    n = 0
    for rep in range(1, cfg.runs + 1):
        for name in cfg.programs:
            for runner in runners:
                n += 1
                label = f"[run {n}/{total}] rep {rep}/{cfg.runs} {name:<13} {runner.name:<17}"
                try:
                    seconds, wall, out = run_once(cfg, runner, cfg.build_dir, name)
                    if out != reference[name]:
                        raise Failure("output differs from native: " + first_difference(reference[name], out))
                except Failure as e:
                    errors.append((name, runner.name, rep, str(e)))
                    progress(f"{label} ERROR {e}")
                    continue
                records.append({"program": name, "runner": runner.name, "rep": rep,
                                "seconds": seconds, "wall": wall})
                progress(f"{label} {seconds:8.3f} s")
    return records, errors


def startup(cfg, runners, progress, reps=10):
    """Median times of an empty program, per runner kind: the whole process,
    and for the runners that time themselves also their own (instantiate +
    _start) time."""
    probe_dir = cfg.build_dir / "startup"
    kinds = {}
    for r in runners:
        kinds.setdefault(r.kind, r)
    probes = {
        "native": Runner("native", "native", "native", ""),
        "kiln": Runner("kiln-O2", "kiln", "kiln-O2", ""),
        "kiln-baseline": Runner("kiln-O2-baseline", "kiln-baseline", "kiln-O2-baseline", ""),
        "kiln-inprocess": Runner("kiln-O2", "kiln-inprocess", "kiln-O2", ""),
        "wasmtime": Runner("wasmtime", "wasmtime", "wasmtime", ""),
        "node": Runner("node", "node", "wasm", ""),
        "wasm2c": Runner("wasm2c", "wasm2c", "wasm2c", ""),
    }
    result, errors = {}, []
    for kind in kinds:
        progress(f"[start-up] {kind}: {reps} runs of an empty program")
        try:
            samples = [run_once(cfg, probes[kind], probe_dir, "empty")[:2] for _ in range(reps)]
        except Failure as e:
            errors.append(("(start-up probe)", kind, 1, str(e)))
            continue
        result[kind] = {"inner": statistics.median(s for s, _ in samples),
                        "process": statistics.median(w for _, w in samples)}
    return result, errors


def load_times(cfg, progress, reps=5):
    """Load + instantiate (no _start), in process, per program: kiln's
    loader (benches/harness on the -O2 library) and wasmtime
    (Module.deserialize_file of the Cranelift artifact). Medians of `reps`."""
    result, errors = {}, []
    for i, name in enumerate(cfg.programs, 1):
        progress(f"[load {i}/{len(cfg.programs)}] {name}: kiln and wasmtime, {reps} times each")
        library = cfg.build_dir / "kiln-O2" / f"{name}.so"
        proc = subprocess.run([cfg.harness, "load", library, str(reps)], capture_output=True, text=True)
        time_file = cfg.tmp_dir / "load.json"
        artifact = cfg.build_dir / "wasmtime" / f"{name}.cwasm"
        wt = subprocess.run([cfg.python, cfg.script_dir / "run_wasmtime.py", "load", artifact, str(reps), time_file],
                            capture_output=True, text=True)
        if proc.returncode != 0 or wt.returncode != 0:
            errors.append((name, "load + instantiate", 1, (proc.stderr + wt.stderr).strip()))
            continue
        kiln = [tuple(map(float, line.split())) for line in proc.stdout.splitlines()]
        wasmtime = json.loads(time_file.read_text())["load_instantiate"]
        result[name] = {
            "kiln_load": statistics.median(k[0] for k in kiln),
            "kiln_instantiate": statistics.median(k[1] for k in kiln),
            "wasmtime_load": statistics.median(w[0] for w in wasmtime),
            "wasmtime_instantiate": statistics.median(w[1] for w in wasmtime),
        }
    return result, errors

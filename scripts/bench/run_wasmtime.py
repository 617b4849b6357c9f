"""Runs wasm32-wasi modules under wasmtime (the `wasmtime` Python package)
for scripts/bench. Run with the bench venv's Python.

  run_wasmtime.py compile MODULE.wasm OUT.cwasm TIMEFILE
      Cranelift-compiles the module (`Module(engine, bytes)`: validation
      plus compilation, on wasmtime's own threads) and writes the serialized
      artifact (`Module.serialize`); TIMEFILE gets the compile seconds.
  run_wasmtime.py load OUT.cwasm REPS TIMEFILE
      REPS times: Module.deserialize_file (maps the artifact, as kiln's
      loader maps its library), then instantiation with WASI (no _start);
      TIMEFILE gets the list of [load, instantiate] seconds.
  run_wasmtime.py run OUT.cwasm TIMEFILE
      Deserializes the artifact (not timed), then times instantiation plus
      _start; the program's output goes to this process's stdout.

All modes use a default Engine, so the artifact matches the engine that
loads it.
"""

import json
import sys
import time

import wasmtime


def instantiate(engine, module, argv0):
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.argv = [argv0]
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    store.set_wasi(wasi)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    return store, linker.instantiate(store, module)


def write(path, value):
    with open(path, "w") as f:
        json.dump(value, f)


def compile_module(wasm_path, out_path, time_file):
    engine = wasmtime.Engine()
    with open(wasm_path, "rb") as f:
        wasm = f.read()
    start = time.perf_counter()
    module = wasmtime.Module(engine, wasm)
    seconds = time.perf_counter() - start
    with open(out_path, "wb") as f:
        f.write(module.serialize())
    write(time_file, {"compile": seconds})


def load(cwasm_path, reps, time_file):
    samples = []
    for _ in range(reps):
        engine = wasmtime.Engine()
        start = time.perf_counter()
        module = wasmtime.Module.deserialize_file(engine, cwasm_path)
        loaded = time.perf_counter()
        instantiate(engine, module, cwasm_path)
        samples.append([loaded - start, time.perf_counter() - loaded])
    write(time_file, {"load_instantiate": samples})


def run(cwasm_path, time_file):
    engine = wasmtime.Engine()
    module = wasmtime.Module.deserialize_file(engine, cwasm_path)
    code = 0
    start = time.perf_counter()
    try:
        store, instance = instantiate(engine, module, cwasm_path)
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap as e:
        code = e.code
    seconds = time.perf_counter() - start
    write(time_file, {"run": seconds})
    sys.stdout.flush()
    return code


def main(argv):
    mode = argv[1]
    if mode == "compile":
        compile_module(argv[2], argv[3], argv[4])
    elif mode == "load":
        load(argv[2], int(argv[3]), argv[4])
    elif mode == "run":
        return run(argv[2], argv[3])
    else:
        sys.exit(f"run_wasmtime.py: unknown mode {mode!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

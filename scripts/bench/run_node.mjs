// Runs a wasm32-wasi module under node's V8 for scripts/bench.
//
//   node --no-liftoff --no-wasm-lazy-compilation --single-threaded \
//        --no-warnings run_node.mjs TIMEFILE MODULE.wasm
//
// (measure.py says why --single-threaded.)
//
// With Liftoff and lazy compilation off, WebAssembly.compile() has every
// function compiled by TurboFan before it resolves. Only what follows is
// timed: instantiation (with WASI imports) plus _start. The seconds
// (compile, instantiate+run) go to TIMEFILE as JSON; the program's output
// goes to this process's stdout.
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { WASI } from 'node:wasi';

const [timeFile, path] = process.argv.slice(2);
const bytes = readFileSync(path);

const compileStart = performance.now();
const module = await WebAssembly.compile(bytes);
const compiled = performance.now();

const wasi = new WASI({ version: 'preview1', args: [path], env: {}, returnOnExit: true });
const runStart = performance.now();
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
const code = wasi.start(instance);
const done = performance.now();

writeFileSync(timeFile, JSON.stringify({
  compile: (compiled - compileStart) / 1000,
  run: (done - runStart) / 1000,
}));
process.exitCode = code;

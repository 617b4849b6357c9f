"""scripts/bench: builds the C programs of benches/ natively and for
wasm32-wasi, runs them under every runner, checks that every run prints
the native output, and reports medians, ratios to native, compile times,
load + instantiate times and artifact sizes. See scripts/bench.sh for the
environment variables; measure.py says what each number includes."""

import datetime
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import build
import chart
import measure
import report


@dataclass
class Config:
    root: Path
    out: Path
    build_dir: Path
    tmp_dir: Path
    bench_dir: Path
    script_dir: Path
    runs: int
    quick: bool
    programs: list
    runner_names: list
    kiln: str
    kiln_baseline: str | None
    harness: str
    python: str
    node: str
    clang: str
    wasm2c: str | None


def config(argv):
    root = Path(__file__).resolve().parents[2]
    quick = os.environ.get("BENCH_QUICK", "0") not in ("", "0")
    out = Path(os.environ.get("BENCH_OUT") or root / "target" / ("bench-quick" if quick else "bench")).resolve()
    bench_dir = root / "benches"
    available = sorted(p.stem for p in bench_dir.glob("*.c"))
    programs = argv or available
    unknown = [p for p in programs if p not in available]
    if unknown:
        sys.exit(f"bench: no program {', '.join(unknown)} in benches/ (have: {', '.join(available)})")
    kiln_baseline = os.environ.get("KILN_BASELINE") or None
    all_runners = [r.name for r in measure.RUNNERS]
    default = [r for r in all_runners if kiln_baseline or r != "kiln-O2-baseline"]
    names = os.environ.get("BENCH_RUNNERS", "").split(",") if os.environ.get("BENCH_RUNNERS") else default
    names = ["native"] + [n for n in names if n != "native"]
    bad = [n for n in names if n not in all_runners]
    if bad:
        sys.exit(f"bench: unknown runner {', '.join(bad)} (have: {', '.join(all_runners)})")
    if "kiln-O2-baseline" in names and not kiln_baseline:
        sys.exit("bench: the kiln-O2-baseline runner needs KILN_BASELINE=PATH, another build's kiln binary")
    wasm2c = build.find_wasm2c()
    if not wasm2c and "wasm2c" in names:
        print("bench: wasm2c or wabt's wasm-rt-impl.c not found (Debian package wabt): no wasm2c runner")
        names.remove("wasm2c")
    return Config(
        root=root, out=out, build_dir=out / "build", tmp_dir=out / "tmp", bench_dir=bench_dir,
        script_dir=Path(__file__).resolve().parent,
        runs=int(os.environ.get("BENCH_RUNS") or (1 if quick else 5)), quick=quick, programs=programs,
        runner_names=names, kiln=os.environ["KILN"], kiln_baseline=kiln_baseline,
        harness=os.environ["KILN_BENCH_HARNESS"],
        python=sys.executable, node=shutil.which("node") or "node", clang=shutil.which("clang-19") or "clang-19",
        wasm2c=wasm2c,
    )


def progress(line):
    print(line, flush=True)


def versions(cfg):
    def first_line(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"

    return [
        ("kiln", first_line([cfg.kiln, "--version"]) + ", git " + first_line(["git", "-C", cfg.root, "rev-parse",
                                                                               "--short", "HEAD"])),
        ("clang", first_line([cfg.clang, "--version"])),
        ("wasmtime (Python package)", importlib.metadata.version("wasmtime")),
        ("node", first_line([cfg.node, "--version"])),
        ("wasm2c", first_line([cfg.wasm2c, "--version"]) if cfg.wasm2c else "not installed"),
        ("machine", f"{platform.machine()}, {os.cpu_count()} CPUs, {cpu_model()}"),
    ]


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def main(argv):
    cfg = config(argv)
    runners = [r for r in measure.RUNNERS if r.name in cfg.runner_names]
    cfg.out.mkdir(parents=True, exist_ok=True)
    progress(f"bench: {len(cfg.programs)} programs x {len(runners)} runners x {cfg.runs} runs"
             f"{' (BENCH_QUICK: small problem sizes)' if cfg.quick else ''}; results in {cfg.out}")

    try:
        built = build.build_all(cfg, progress)
    except build.BuildError as e:
        sys.exit(f"bench: {e}")
    try:
        reference = measure.reference_outputs(cfg, progress)
    except measure.Failure as e:
        sys.exit(f"bench: {e}")
    records, errors = measure.run_all(cfg, runners, reference, progress)
    start, start_errors = measure.startup(cfg, runners, progress)
    loads, load_errors = measure.load_times(cfg, progress)
    errors += start_errors + load_errors

    summary = report.summarize(records, cfg.programs, runners)
    ratio = report.ratios(summary, cfg.programs, runners)
    means, counts = report.geomeans(ratio, cfg.programs, runners)
    report.write_csvs(cfg.out, records, summary, ratio, built, loads, cfg.programs, runners)
    title = f"kiln benchmarks, {datetime.date.today()}{' (BENCH_QUICK)' if cfg.quick else ''}"
    (cfg.out / "ratios.svg").write_text(chart.svg_chart(ratio, means, cfg.programs, [r.name for r in runners], title))

    times = report.time_table(summary, ratio, means, counts, cfg.programs, runners)
    compile_md, _ = report.compile_table(built, cfg.programs)
    size_md, _ = report.size_table(built, cfg.programs)
    load_md = report.load_table(loads, cfg.programs)
    start_md = report.startup_table(start)
    md = [f"# {title}", "",
          f"{cfg.runs} run(s) per program and runner, interleaved round-robin; medians. "
          "Ratios are median / native median; geometric means per runner over the programs it "
          "completed (all of them unless the geomean row says otherwise).", "",
          *[f"- {k}: {v}" for k, v in versions(cfg)], "",
          "## Run time", "", times, "",
          "What each runner's number includes:", "",
          *[f"- **{r.name}**: {r.what}" for r in runners], "",
          "![ratios to native](ratios.svg)", "",
          "## Start-up (an empty program)", "", start_md, "",
          "## Load + instantiate, in process (median of 5)", "",
          "kiln: `Module::from_file` of the -O2 library, then instantiation with WASI (benches/harness). "
          "wasmtime: `Module.deserialize_file` of the Cranelift artifact, then instantiation with WASI.", "",
          load_md, "",
          "## Compile time (one compile each, seconds)", "",
          "kiln: the whole `kiln compile` process (parse, LLVM, link). wasmtime: `Module(engine, bytes)` "
          "in process (Cranelift; Python start-up excluded). wasm2c: the translation, and clang-19 -O2 -c "
          "of its C separately (linking with the runtime is not counted). kiln and wasmtime compile "
          "functions on several threads; clang compiles one file on one.", "",
          compile_md, "",
          "## Artifact sizes (bytes)", "", size_md, ""]
    if built.notes:
        md += ["## Notes", "", *[f"- {n}" for n in built.notes], ""]
    if errors:
        md += ["## ERRORS", "", md_errors(errors), ""]
    (cfg.out / "report.md").write_text("\n".join(md))

    print()
    print(times)
    print()
    print("Compile time:")
    print(compile_md)
    print()
    print(f"Report: {cfg.out / 'report.md'}, chart: {cfg.out / 'ratios.svg'}, CSV: {cfg.out}/*.csv")
    if errors:
        print(f"\nbench: {len(errors)} run(s) failed:", file=sys.stderr)
        for name, runner, rep, msg in errors:
            print(f"  {name} under {runner} (run {rep}): {msg}", file=sys.stderr)
        return 1
    print(f"All {len(records)} runs printed the native output.")
    return 0


def md_errors(errors):
    return "\n".join(f"- {name} under {runner} (run {rep}): {msg}" for name, runner, rep, msg in errors)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

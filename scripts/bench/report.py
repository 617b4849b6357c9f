"""Turns measurements into tables: Markdown (report.md), CSV files and the
text printed at the end of a run."""

import csv
import math
import statistics

from build import BASELINE_BUILDS, KILN_BUILDS, WASMTIME_BUILDS
from measure import IN_PROCESS


def summarize(records, programs, runners):
    """{(program, runner): {median, min, max, n}} over successful runs."""
    table = {}
    for p in programs:
        for r in runners:
            xs = [x["seconds"] for x in records if x["program"] == p and x["runner"] == r.name]
            if xs:
                table[(p, r.name)] = {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}
    return table


def ratios(summary, programs, runners):
    """Median time over native's median, per program and runner."""
    out = {}
    for p in programs:
        base = summary.get((p, "native"))
        for r in runners:
            s = summary.get((p, r.name))
            if base and s:
                out[(p, r.name)] = s["median"] / base["median"]
    return out


def geomeans(ratio, programs, runners):
    """Geometric mean of the ratios per runner, over the programs that
    runner completed; also how many programs that was."""
    means, counts = {}, {}
    for r in runners:
        xs = [ratio[(p, r.name)] for p in programs if (p, r.name) in ratio]
        if xs:
            means[r.name] = math.exp(sum(math.log(x) for x in xs) / len(xs))
            counts[r.name] = len(xs)
    return means, counts


def fmt_s(x):
    return "" if x is None else f"{x:.3f}"


def fmt_ms(x):
    return "" if x is None else f"{x * 1000:.2f}"


def md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def time_table(summary, ratio, means, counts, programs, runners):
    header = ["program", "native s"] + [f"{r.name}" for r in runners if r.name != "native"]
    rows = []
    for p in programs:
        base = summary.get((p, "native"))
        row = [p, fmt_s(base["median"]) if base else "ERROR"]
        for r in runners:
            if r.name == "native":
                continue
            s = summary.get((p, r.name))
            row.append(f"{s['median']:.3f} s ({ratio[(p, r.name)]:.2f}x)" if s and (p, r.name) in ratio
                       else (fmt_s(s["median"]) if s else "ERROR"))
        rows.append(row)
    def mean(name):
        if name not in means:
            return "no results"
        partial = f" ({counts[name]} of {len(programs)} programs)" if counts[name] < len(programs) else ""
        return f"**{means[name]:.2f}x**{partial}"

    rows.append(["**geomean ratio**", "1.00"] + [mean(r.name) for r in runners if r.name != "native"])
    return md_table(header, rows)


COMPILE_COLUMNS = [*KILN_BUILDS, *BASELINE_BUILDS, *WASMTIME_BUILDS, "wasm2c", "wasm2c-clang-O2"]
SIZE_COLUMNS = ["native", "wasm", "wasm-simd", *KILN_BUILDS, *BASELINE_BUILDS, *WASMTIME_BUILDS, "wasm2c"]


def compile_table(built, programs):
    cols = [c for c in COMPILE_COLUMNS if any((p, c) in built.compile_seconds for p in programs)]
    rows = [[p] + [fmt_s(built.compile_seconds.get((p, c))) for c in cols] for p in programs]
    totals = ["**total**"] + [f"**{sum(built.compile_seconds.get((p, c), 0) for p in programs):.2f}**" for c in cols]
    return md_table(["program"] + [f"{c} s" for c in cols], rows + [totals]), cols


def size_table(built, programs):
    cols = [c for c in SIZE_COLUMNS if any((p, c) in built.sizes for p in programs)]
    rows = [[p] + [str(built.sizes.get((p, c), "")) for c in cols] for p in programs]
    return md_table(["program"] + [f"{c} bytes" for c in cols], rows), cols


def load_table(loads, programs):
    rows = [[p] + [fmt_ms(loads[p][k]) for k in ("kiln_load", "kiln_instantiate", "wasmtime_load",
                                                  "wasmtime_instantiate")] for p in programs if p in loads]
    return md_table(["program", "kiln load ms", "kiln instantiate ms", "wasmtime load ms",
                     "wasmtime instantiate ms"], rows)


def startup_table(start):
    rows = []
    for kind, v in start.items():
        inner = fmt_ms(v["inner"]) if kind in IN_PROCESS else "(whole process)"
        rows.append([kind, fmt_ms(v["process"]), inner])
    return md_table(["runner", "whole process ms", "instantiate + _start in runner ms"], rows)


def write_csvs(out, records, summary, ratio, built, loads, programs, runners):
    with open(out / "runs.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["program", "runner", "rep", "seconds", "process_wall_seconds"])
        for x in records:
            w.writerow([x["program"], x["runner"], x["rep"], f"{x['seconds']:.6f}", f"{x['wall']:.6f}"])
    with open(out / "summary.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["program", "runner", "median_seconds", "min_seconds", "max_seconds", "runs", "ratio_to_native"])
        for p in programs:
            for r in runners:
                s = summary.get((p, r.name))
                if s:
                    rt = ratio.get((p, r.name))
                    w.writerow([p, r.name, f"{s['median']:.6f}", f"{s['min']:.6f}", f"{s['max']:.6f}", s["n"],
                                "" if rt is None else f"{rt:.4f}"])
    with open(out / "compile.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["program"] + COMPILE_COLUMNS)
        for p in programs:
            w.writerow([p] + [fmt_s(built.compile_seconds.get((p, c))) for c in COMPILE_COLUMNS])
    with open(out / "sizes.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["program"] + SIZE_COLUMNS)
        for p in programs:
            w.writerow([p] + [built.sizes.get((p, c), "") for c in SIZE_COLUMNS])
    with open(out / "load.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["program", "kiln_load_s", "kiln_instantiate_s", "wasmtime_load_s", "wasmtime_instantiate_s"])
        for p in programs:
            if p in loads:
                w.writerow([p] + [f"{loads[p][k]:.6f}" for k in ("kiln_load", "kiln_instantiate", "wasmtime_load",
                                                                   "wasmtime_instantiate")])

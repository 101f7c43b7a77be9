#!/usr/bin/env python3
"""Engine cycles of real layers against the bound, and what zero-skipping buys.

For every engine layer of the given compiled programs (``attq-fpga compile`` output), each
lane count P and each width V (positions a weight word serves): the steps the layer takes
(weight-word passes: a wide layer, ``sw.spec.layer_is_wide``, covers V output columns a
step, a narrow one a single position), the exact cycles from the cycle model (which the
RTL benches check cycle by cycle), the bound ``steps x ceil(words / P)``
(``sw.mapping.cycle_model.layer_bound``), the cycles of the same engine walking every
weight (zero-skipping disabled), the speed-up, and the ideal ``1 / (1 - sparsity)``.

    .venv/bin/python scripts/bench_engine_cycles.py models/mnist_attq.attq [...] \\
        --lanes 8 16 --width 1 4

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
from sw.mapping.cycle_model import layer_bound, lane_words_and_steps, layer_cycles  # noqa: E402
from sw.mapping.hardware_layer import HardwareLayer  # noqa: E402
from sw.program.file import load  # noqa: E402


def measure(path, lanes, width):
    program = load(path)
    rows = []
    for layer in program.engine_layers:
        hw = HardwareLayer.from_program(layer)
        weights = hw.weights.size
        nnz = int((hw.weights != 0).sum())
        words = sum(hw.words_per_channel())
        skip = layer_cycles(*lane_words_and_steps(hw.lane_program(lanes, width=width)))
        walk = layer_cycles(*lane_words_and_steps(
            hw.lane_program(lanes, width=width, skip_zeros=False)))
        bound = layer_bound(hw, lanes, width)
        sparsity = 1 - nnz / weights
        rows.append({
            "program": str(path), "layer": layer.name, "mode": layer.mode, "lanes": lanes,
            "width": width, "wide": hw.is_wide(width), "positions": hw.positions,
            "steps": hw.steps(width), "weights": weights, "nnz": nnz, "words": words,
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
    parser.add_argument("--width", type=int, nargs="+", default=[1, 4],
                        help="engine widths V (positions a weight word serves)")
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    args = parser.parse_args()
    rows = [r for p in args.programs for lanes in args.lanes for width in args.width
            for r in measure(p, lanes, width)]
    meta, lines = results_header("Engine cycles of real layers")
    write_text(args.out / "engine_cycles.json", json.dumps({**meta, "rows": rows}, indent=2) + "\n")
    lines += [
             "Cycles from the cycle model, which the RTL benches check cycle by cycle. "
             "P = lanes, V = width (output positions one weight word serves). Steps = the "
             "layer's weight-word passes: a wide layer (stride 1 along a row, pooling width "
             "dividing V) covers V consecutive output columns a step, a narrow one (wide = "
             "no, and every layer at V = 1) one position a step; a single-position (linear) "
             "layer takes one step, its words shared out among the lanes. Bound = steps x "
             "ceil(words / P) (sw.mapping.cycle_model.layer_bound); a split that shares a "
             "layer's columns among copies of its words can come in a few % under it. "
             "No-skip = the same engine walking every weight.", "",
             "| program | layer | mode | P | V | wide | steps | nnz / weights | sparsity "
             "| cycles | bound | over bound | no-skip cycles | speed-up | ideal 1/(1-s) |",
             "|---|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {Path(r['program']).name} | {r['layer']} | {r['mode']} | {r['lanes']} | "
            f"{r['width']} | {'yes' if r['wide'] else 'no'} | {r['steps']} | "
            f"{r['nnz']} / {r['weights']} | {100 * r['sparsity']:.1f} % | "
            f"{r['cycles']} | {r['bound']} | {100 * r['over_bound']:+.1f} % | "
            f"{r['cycles_no_skip']} | {r['speedup']:.2f} | {r['ideal_speedup']:.2f} |")
    write_text(args.out / "engine_cycles.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

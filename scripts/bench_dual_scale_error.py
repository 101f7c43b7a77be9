#!/usr/bin/env python3
"""Measure how far (in output LSB) the integer epilogue lands from the float layer
(the method is in sw/golden/epilogue_error.py). Writes results/dual_scale_error.{json,md}
with the command, the machine and the date.

    .venv/bin/python scripts/bench_dual_scale_error.py
"""

import json
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sw.atomic import write_text  # noqa: E402
from sw.results import results_header  # noqa: E402
from sw.golden.epilogue_error import measure  # noqa: E402

LAYERS_PER_FAN_IN = 30
POINTS = 20000


def main():
    rows = measure(layers_per_fan_in=LAYERS_PER_FAN_IN, points=POINTS)
    out = ROOT / "results"
    meta, lines = results_header("Dual-scale epilogue: integer against float")
    write_text(out / "dual_scale_error.json", json.dumps({**meta, "rows": rows}, indent=2) + "\n")
    lines += [
        "Error = |integer output - float output| in output LSB, both saturated to int8, over",
        f"{LAYERS_PER_FAN_IN} random layers per row, P and N on a 101 x 101 grid of their whole "
        f"range [-128 F, 127 F] plus {POINTS} random points. Bound = 1/2 + (|P| + |N| + 1) / 2^(s+1)"
        " (+ 1/2 + |v| / 2^17 for LeakyReLU), see sw/golden/dual_scale.py.",
        "",
        "| fan-in F | act | shift s | max error (LSB) | max bound (LSB) | differs from round-half-up(float) |",
        "|---:|---|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['fan_in']} | {r['act']} | {r['shift_min']}-{r['shift_max']} | "
                     f"{r['max_abs_error_lsb']:.4f} | {r['max_bound_lsb']:.4f} | "
                     f"{100 * r['differs_from_rounded_float']:.4f} % |")
    write_text(out / "dual_scale_error.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""What tiling in bands costs: cycles against the same layer untiled, and link bytes.

For every conv layer of the given compiled programs (``attq-fpga compile`` output), each
activation memory size and lane count, on an engine of one width V (``--width``, default
the default board's): the layer split into bands that fit, row bands or, for a conv1d map,
column bands (``sw.mapping.tiling.plan_bands``), the engine cycles of all its bands against
the same layer untiled on an engine whose memory holds it (the cycle model, which the RTL
benches check band by band: sim/test_engine_tiling.py), the output rows (columns)
recomputed, and the bytes the host moves for it (band inputs written, kept outputs read
back), which an untiled
layer in a chain does not move at all. Then each whole program laid out as the driver
lays it out (``sw.mapping.plan.DevicePlan``): cycles and link bytes against the untiled run.

Times assume a 100 MHz engine clock and the 4 Mbaud link's ~400 KB/s (ARCHITECTURE.md).

    .venv/bin/python scripts/bench_engine_tiling.py models/hits_attq.attq models/mnist_attq.attq \\
        --act-depth 4096 2048 1024 --lanes 8 16 [--width 4]

Writes results/engine_tiling.{json,md} with the command, the machine and the date.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sw.atomic import write_text  # noqa: E402
from sw.mapping.cycle_model import lane_words_and_steps, layer_cycles  # noqa: E402
from sw.errors import InputError  # noqa: E402
from sw.mapping.boards import board_config  # noqa: E402
from sw.mapping.engine_image import EngineImage  # noqa: E402
from sw.mapping.hardware_layer import HardwareLayer  # noqa: E402
from sw.mapping.plan import BandStep, DevicePlan, RunStep  # noqa: E402
from sw.mapping.tiling import ROWS, plan_bands  # noqa: E402
from sw.program.file import load  # noqa: E402
from sw.results import results_header  # noqa: E402

CLOCK_HZ = 100e6
LINK_BYTES_PER_S = 400e3


def band_cycles(tiled, lanes, width):
    """Busy cycles of each band (all bands walk the same words, only y0 moves)."""
    image = EngineImage.build([tiled], lanes, width=width)
    return [layer_cycles(*lane_words_and_steps(image.layers[k]["lanes"]))["busy_cycles"]
            for k in image.groups[0]]


def layer_rows(path, act_depths, lanes_list, width):
    program = load(path)
    rows = []
    for layer in program.engine_layers:
        whole = HardwareLayer.from_program(layer, for_counts=True)
        need = whole.in_size + whole.out_size
        for lanes in lanes_list:
            untiled = layer_cycles(
                *lane_words_and_steps(whole.lane_program(lanes, width=width)))
            for depth in act_depths:
                if need <= depth:
                    continue
                row = {"program": Path(path).name, "layer": layer.name, "lanes": lanes,
                       "width": width, "act_depth": depth, "in_bytes": whole.in_size,
                       "out_bytes": whole.out_size, "untiled_cycles": untiled["busy_cycles"]}
                try:
                    tiled = plan_bands(layer, depth)
                except ValueError as err:
                    rows.append({**row, "error": str(err)})
                    continue
                cycles = band_cycles(tiled, lanes, width)
                computed = sum(r1 - r0 for r0, r1 in tiled.out_ranges)
                link = tiled.link_bytes()
                rows.append({
                    **row, "bands": len(tiled.bands),
                    "axis": "rows" if tiled.axis == ROWS else "columns",
                    "band_in_rows": tiled.in_ranges[0][1] - tiled.in_ranges[0][0],
                    "band_out_rows": tiled.out_ranges[0][1] - tiled.out_ranges[0][0],
                    "rows_recomputed": computed - (whole.out_h if tiled.axis == ROWS
                                                   else whole.out_w),
                    "tiled_cycles": sum(cycles), "band_cycles": cycles,
                    "overhead": sum(cycles) / untiled["busy_cycles"] - 1,
                    "link_written": link["written"], "link_read": link["read"],
                    "link_ms": 1e3 * (link["written"] + link["read"]) / LINK_BYTES_PER_S,
                    "engine_ms": 1e3 * sum(cycles) / CLOCK_HZ,
                })
    return rows


def program_rows(path, act_depths, lanes_list, width):
    """Whole program as the driver runs it (``sw.mapping.plan.DevicePlan``, whose
    ``segment_program`` is the one placement policy) against every layer's maps on chip."""
    program = load(path)
    layers = program.engine_layers
    baseline = int(np.prod(layers[0].in_shape)) + int(np.prod(layers[-1].out_shape))
    rows = []
    for lanes in lanes_list:
        untiled = sum(layer_cycles(*lane_words_and_steps(
            HardwareLayer.from_program(l, for_counts=True).lane_program(
                lanes, width=width)))["busy_cycles"]
            for l in layers)
        for depth in act_depths:
            # Weight memories large enough for any program: only the activation memory,
            # the one this benchmark varies, decides the placement.
            hello = board_config().replace(lanes=lanes, width=width, act_depth=depth,
                                           lane_words=1 << 16, config_depth=1 << 16).hello()
            try:
                plan = DevicePlan.build(program, hello)
            except InputError as err:
                rows.append({"program": Path(path).name, "lanes": lanes, "width": width,
                             "act_depth": depth, "error": str(err)})
                continue
            cycles = sum(layer_cycles(*lane_words_and_steps(e["lanes"]))["busy_cycles"]
                         for e in plan.image.layers)
            link = plan.link_bytes()
            tiled = [step.name for step in plan.steps if isinstance(step, BandStep)]
            rows.append({"program": Path(path).name, "lanes": lanes, "width": width,
                         "act_depth": depth, "tiled_layers": tiled,
                         "runs": sum(isinstance(step, RunStep) for step in plan.steps),
                         "untiled_cycles": untiled, "tiled_cycles": cycles,
                         "overhead": cycles / untiled - 1, "link_written": link["written"],
                         "link_read": link["read"], "link_untiled": baseline,
                         "link_ms": 1e3 * (link["written"] + link["read"]) / LINK_BYTES_PER_S,
                         "engine_ms": 1e3 * cycles / CLOCK_HZ})
    return rows


def _axis(row, value):
    """A band's rows, or its columns in parentheses for column bands."""
    return f"({value})" if row["axis"] == "columns" else f"{value}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("programs", nargs="+", type=Path)
    parser.add_argument("--act-depth", type=int, nargs="+", default=[4096, 2048, 1024])
    parser.add_argument("--lanes", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--width", type=int, default=board_config().width,
                        help="engine width V (positions a weight word serves; default the "
                             "default board's)")
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    args = parser.parse_args()
    layers, programs = [], []
    for path in tqdm(args.programs, desc="programs"):
        layers += layer_rows(path, args.act_depth, args.lanes, args.width)
        programs += program_rows(path, args.act_depth, args.lanes, args.width)
    meta, lines = results_header(f"Tiling in bands: cycles and link bytes (V = {args.width})")
    write_text(args.out / "engine_tiling.json",
               json.dumps({**meta, "layers": layers, "programs": programs}, indent=2) + "\n")
    lines += [
        f"Engine width V = {args.width} (output positions one weight word serves). "
        "Every layer whose input + output maps exceed the activation memory, run as row "
        "bands, or column bands for a conv1d map (sw/mapping/tiling.py; the band columns of "
        "a conv1d layer count its padding). Cycles from the cycle model, which the RTL bench "
        "(sim/test_engine_tiling.py) checks band by band; untiled = the same layer on an "
        "engine whose memory holds it. Link bytes: band inputs written + kept outputs "
        "read, all of which an untiled layer in a chain keeps on chip. Times: 100 MHz "
        f"engine, {LINK_BYTES_PER_S / 1e3:.0f} KB/s link.", "",
        "| program | layer | P | act memory | in + out bytes | bands | band rows (columns) "
        "in / out | rows (columns) recomputed | untiled cycles | tiled cycles | overhead "
        "| link bytes written + read | link ms | engine ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in layers:
        if "error" in r:
            lines.append(f"| {r['program']} | {r['layer']} | {r['lanes']} | {r['act_depth']} | "
                         f"{r['in_bytes']} + {r['out_bytes']} | cannot be tiled: "
                         f"{r['error']} ||||||||")
            continue
        lines.append(
            f"| {r['program']} | {r['layer']} | {r['lanes']} | {r['act_depth']} | "
            f"{r['in_bytes']} + {r['out_bytes']} | {r['bands']} | "
            f"{_axis(r, r['band_in_rows'])} / {_axis(r, r['band_out_rows'])} | "
            f"{_axis(r, r['rows_recomputed'])} | {r['untiled_cycles']} | "
            f"{r['tiled_cycles']} | {100 * r['overhead']:+.1f} % | {r['link_written']} + "
            f"{r['link_read']} | {r['link_ms']:.1f} | {r['engine_ms']:.2f} |")
    lines += [
        "", "## Whole programs", "",
        "The program laid out as the driver lays it out (`DevicePlan`, whose "
        "`segment_program` is the one placement policy): consecutive layers whose maps fit "
        "together run in one RUN with their maps on chip, a layer that does not fit with "
        "the run before it starts a new RUN, and a layer whose own maps do not fit runs in "
        "bands. Link bytes: all the host moves (the input, the logits, and what the extra "
        "RUNs and the bands add); untiled, only the input and the logits cross.", "",
        "| program | P | act memory | runs of whole layers | layers in bands | untiled cycles | tiled cycles "
        "| overhead | link bytes untiled | link bytes written + read | link ms | engine ms |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in programs:
        if "error" in r:
            lines.append(f"| {r['program']} | {r['lanes']} | {r['act_depth']} | "
                         f"cannot run: {r['error']} ||||||||")
            continue
        lines.append(
            f"| {r['program']} | {r['lanes']} | {r['act_depth']} | {r['runs']} | "
            f"{', '.join(r['tiled_layers']) or '-'} | {r['untiled_cycles']} | "
            f"{r['tiled_cycles']} | {100 * r['overhead']:+.1f} % | {r['link_untiled']} | "
            f"{r['link_written']} + {r['link_read']} | {r['link_ms']:.1f} | "
            f"{r['engine_ms']:.2f} |")
    write_text(args.out / "engine_tiling.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

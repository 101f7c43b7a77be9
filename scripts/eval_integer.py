#!/usr/bin/env python
"""Integer program vs quantized PyTorch model on held-out data (the issue-5 agreement check).

For each saved model: compile it (``sw.compiler.compiler.compile_saved``, calibration on its
training split), run the program with the golden executor on the whole test split, and
compare the MCC of its decisions with the PyTorch model's. Also reports the program's
per-layer counts, EC_T (Eq. 3) of the program and of the PyTorch models, EC_G^T against
the full-precision model (the ``rep*_fp.pt`` next to the quantized one), and timing.

Writes ``results/integer_vs_pytorch.json`` / ``.md`` (with the command, machine and date)
and one confusion-matrix PNG per model.

Usage::

    python scripts/eval_integer.py --model mnist=runs/mnist_table2/models/rep0_attq.pt
    python scripts/eval_integer.py --model hits=PATH.pt:DATA_DIR --model esr=PATH.pt:CSV \
        --calibration max percentile --out results/integer_vs_pytorch
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_model(text):
    """``label=MODEL.pt[:DATA]``."""
    label, _, rest = text.partition("=")
    path, _, data = rest.partition(":")
    if not label or not path:
        raise argparse.ArgumentTypeError(f"--model {text!r}: expected LABEL=MODEL.pt[:DATA]")
    return label, Path(path), (data or None)


def _try_cycles(fn, prog):
    try:
        return fn(prog, 4)
    except ValueError as exc:
        return f"not available: {exc}"


def evaluate(label, path, data_path, calibrations, n_calibration, prog_dir):
    import torch

    from sw import metrics
    from sw.compiler.compiler import compile_saved
    from sw.power.estimate import program_energy
    from sw.golden.executor import execute
    from sw.mapping.cycle_model import program_cycles
    from sw.models import load_model
    from sw.program import save
    from sw.train.pipeline import load_dataset
    from sw.train.trainer import predict

    model, rec = load_model(path)
    data = rec.get("data") or {}
    seed = int((rec.get("training") or {}).get("settings", {}).get("seed", 0))
    split = load_dataset(data["dataset"], transform=rec["input_transform"], seed=seed,
                         data_path=data_path)
    t0 = time.perf_counter()
    y_pt = predict(model, split.x_test)
    t_pt = time.perf_counter() - t0
    mcc_pt = metrics.mcc(split.y_test, y_pt)
    example = torch.from_numpy(split.x_test[:1])
    fp_path = path.with_name(path.name.split("_")[0] + "_fp.pt")
    out = dict(label=label, model=str(path), arch=rec["arch"], preset=rec.get("preset"),
               quant=rec.get("quant", {}).get("method"), dataset=data.get("dataset"),
               source=split.source, description=split.description,
               n_train=int(len(split.y_train)), n_test=int(len(split.y_test)),
               training=rec.get("training", {}).get("settings"),
               pytorch=dict(mcc=mcc_pt, accuracy=float((y_pt == split.y_test).mean()),
                            seconds=t_pt,
                            ec_t_j=metrics.energy(model, example, rounding="ceil")),
               programs=[])
    if fp_path.exists() and fp_path != path:
        fp_model, _ = load_model(fp_path)
        out["fp_model"] = str(fp_path)
        out["ec_t_fp_j"] = metrics.energy(fp_model, example, rounding="ceil")
    for cal in calibrations:
        prog, _, _ = compile_saved(path, x_train=split.x_train, calibration=cal,
                                   n_calibration=n_calibration)
        prog_path = (prog_dir / f"{label}_{cal}.attq").resolve()
        digest = save(prog, prog_path)
        t0 = time.perf_counter()
        res = execute(prog, split.x_test, progress=True)
        t_int = time.perf_counter() - t0
        y_int = res.predictions()
        e = program_energy(prog, rounding="ceil")
        shown = prog_path.relative_to(ROOT) if prog_path.is_relative_to(ROOT) else prog_path
        r = dict(calibration=cal, program=str(shown), sha256=digest,
                 mcc=metrics.mcc(split.y_test, y_int),
                 accuracy=float((y_int == split.y_test).mean()),
                 agreement=float((y_int == y_pt).mean()), seconds=t_int,
                 inferences_per_s=len(y_int) / t_int,
                 ec_t_j=e["ec_t_j"], mult_adds=e["mult_adds"], transfers=e["transfers"],
                 layers=[c.to_dict() for c in res.counts],
                 cycles=_try_cycles(program_cycles, prog),
                 y_int=y_int)
        r["mcc_diff_points"] = 100 * (r["mcc"] - mcc_pt)
        if "ec_t_fp_j" in out:
            r["ec_g_t"] = abs(out["ec_t_fp_j"] - r["ec_t_j"]) / out["ec_t_fp_j"]
        out["programs"].append(r)
    return out, split


def confusion_png(path, label, classes, y_true, y_int, y_pt_mcc, mcc_int):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    cm = confusion_matrix(y_true, y_int, labels=range(len(classes)))
    side = max(3.6, 1.4 + 0.45 * len(classes))
    fig, ax = plt.subplots(figsize=(side, side))
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                color="white" if v > cm.max() / 2 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=45, fontsize=7)
    ax.set_yticks(range(len(classes)), classes, fontsize=7)
    ax.set_xlabel("integer program's class")
    ax.set_ylabel("true class")
    ax.set_title(f"{label}\ninteger MCC {mcc_int:.4f} (PyTorch {y_pt_mcc:.4f})", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _cycles(cycles):
    try:
        return (f"{sum(int(c['busy_cycles']) for c in cycles)} busy, bound "
                f"{sum(int(c['bound']) for c in cycles)}")
    except (TypeError, KeyError):
        return str(cycles) if cycles else "not available"


def markdown(report):
    lines = [
        "# Integer program vs quantized PyTorch model",
        "",
        f"- command: `{report['command']}`",
        f"- machine: {report['machine']}",
        f"- date (UTC): {report['date']}",
        "",
        "The compiled program (`attq-fpga compile`) runs in the golden executor "
        "(`sw/golden/executor.py`, bit-exact integer model of the engine) on the whole test "
        "split; PyTorch runs the same quantized model in floating point. MCC difference in "
        "points (1 point = 0.01 MCC). EC_T is Eq. 3 (ceil rounding) per inference: "
        "'program' from the compiled program (sw/power/estimate.py: ternary layers at 2 "
        "bits, the other layers at int8 with per-channel scales), 'PyTorch q' from "
        "sw.metrics.energy on the quantized PyTorch model (its layers that are not "
        "ternary at 32 bits, as the paper counts them); EC_G^T of the program against the "
        "full-precision model. Times: golden executor, whole test split, one process on "
        "a machine shared with other jobs.",
        "",
        "| model | data | calibration | MCC PyTorch | MCC integer | diff (points) | "
        "decisions agree | EC_T program (J) | EC_T PyTorch q (J) | EC_G^T vs FP | "
        "integer s / test set |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in report["models"]:
        for p in m["programs"]:
            lines.append(
                f"| {m['label']} ({m['preset']}, {m['quant']}) | {m['dataset']} "
                f"({m['source']}, {m['n_test']} test) | {p['calibration']} | "
                f"{m['pytorch']['mcc']:.4f} | {p['mcc']:.4f} | {p['mcc_diff_points']:+.2f} | "
                f"{100 * p['agreement']:.2f} % | {p['ec_t_j']:.3e} | "
                f"{m['pytorch']['ec_t_j']:.3e} | "
                f"{p.get('ec_g_t', float('nan')):.3f} | {p['seconds']:.2f} |")
    lines += ["", "## Per-layer counts (per inference, first calibration)", ""]
    for m in report["models"]:
        p = m["programs"][0]
        lines += [f"### {m['label']}", "", f"- model: `{m['model']}`",
                  f"- data: {m['description']}",
                  f"- training: {m['training']}",
                  f"- program: `{p['program']}` sha256 `{p['sha256']}`",
                  f"- engine cycles at P = 4 (sw.mapping.cycle_model.program_cycles): "
                  f"{_cycles(p.get('cycles'))}", "",
                  "| layer | mode | positions | nnz | adds + | adds − | weight words | "
                  "act reads | act writes |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for c in p["layers"]:
            lines.append(f"| {c['name']} | {c['mode']} | {c['positions']} | {c['nnz']} | "
                         f"{c['adds_plus']} | {c['adds_minus']} | {c['weight_words']} | "
                         f"{c['act_reads']} | {c['act_writes']} |")
        lines.append("")
    if report.get("notes"):
        lines += ["## Notes", ""] + [f"- {n}" for n in report["notes"]] + [""]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=parse_model, action="append", required=True,
                    help="LABEL=MODEL.pt[:DATA] (DATA: ESR CSV or HITS folder)")
    ap.add_argument("--calibration", nargs="+", default=["max", "percentile"],
                    choices=("max", "percentile"))
    ap.add_argument("--calibration-samples", type=int, default=512)
    ap.add_argument("--out", default=str(ROOT / "results" / "integer_vs_pytorch"),
                    help="output stem (.json, .md, _LABEL_confusion.png)")
    ap.add_argument("--programs", default=str(ROOT / "runs" / "programs"),
                    help="folder for the compiled .attq files")
    ap.add_argument("--note", action="append", default=[], help="line for the Notes section")
    args = ap.parse_args(argv)

    import torch

    from sw.atomic import atomic_path, write_text

    torch.set_num_threads(1)
    out = Path(args.out)
    report = dict(command=" ".join(shlex.quote(a) for a in [sys.argv[0]] + (argv or sys.argv[1:])),
                  machine=f"{platform.platform()}, {platform.processor() or 'cpu'}, "
                          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
                          f"torch {torch.__version__}",
                  date=datetime.datetime.now(datetime.timezone.utc).isoformat(
                      timespec="seconds"),
                  models=[], notes=args.note)
    for label, path, data in args.model:
        r, split = evaluate(label, path, data, args.calibration, args.calibration_samples,
                            Path(args.programs))
        p0 = r["programs"][0]
        with atomic_path(f"{out}_{label}_confusion.png") as tmp:
            confusion_png(tmp, label, split.classes, split.y_test, p0["y_int"],
                          r["pytorch"]["mcc"], p0["mcc"])
        for p in r["programs"]:
            del p["y_int"]
        report["models"].append(r)
        for p in r["programs"]:
            print(f"{label} [{p['calibration']}]: MCC PyTorch {r['pytorch']['mcc']:.4f}, "
                  f"integer {p['mcc']:.4f} ({p['mcc_diff_points']:+.2f} points), agreement "
                  f"{100 * p['agreement']:.2f} %, {p['seconds']:.2f} s for "
                  f"{r['n_test']} inputs")
    write_text(f"{out}.json", json.dumps(report, indent=1, default=str) + "\n")
    write_text(f"{out}.md", markdown(report))
    print(f"wrote {out}.json, {out}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())

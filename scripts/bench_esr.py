#!/usr/bin/env python3
"""Benchmark ESR models on the device: do they fit, latency and link bytes per row, accuracy.

    .venv/bin/python scripts/bench_esr.py --data ESR.csv \
        [--model NAME=MODEL.pt[@BOARD] ...] [--device sim]

For each trained model (default: the committed ``models/esr_attq.pt``) and each board it
names (``@arty_a7_35t`` when none; several ``@`` for several boards), compiled here as
``attq-fpga compile --board`` compiles it (activation scales on 512 training rows):

* whether it fits the board's engine, and where not, what does not fit, layer by layer
  (``sw.mapping.plan.fit_problems``); a model that does not fit is measured no further;
* per ESR row: the RUN cycles the device reports and the latency at the board's clock; the
  device is ``--device`` (sim: the virtual board, the 35T's engine) where its engine is the
  board's and a row takes at most ``--sim-max-cycles`` (a row of the CNN-transformer,
  155,000 cycles and 87 KB through the simulated UART, takes the virtual board about 20 s),
  else the golden protocol device with the board's
  sizes, whose classes and cycles the first ``--sim-check-rows`` rows on the virtual board
  then check where its engine is the board's; the link bytes each
  way, counted on the wire (the golden device behind a counting byte transport), and their
  time at the board's baud (8N1); the device time per row as a fraction of the row's one
  second of EEG;
* accuracy and MCC on the data set's test split (the split ``attq-fpga train`` holds out):
  the PyTorch model, the integer program (golden executor) and the device, every test row.

The data set is named in the results as what it is: on the synthetic stand-in
(``attq-fpga data make esr-synthetic``) no accuracy is claimed for EEG. Writes
results/esr_device.{md,json} (``--out`` to change) with the command, machine and date.
"""

import argparse
import functools
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_infer import link_bytes_on_the_wire  # noqa: E402
from sw import metrics  # noqa: E402
from sw.atomic import write_text  # noqa: E402
from sw.results import results_header  # noqa: E402

DEFAULT_MODELS = [f"esr_tfr_cnn_narrow={ROOT / 'models' / 'esr_attq.pt'}"]
#: The engine sizes a device must share with a board for its cycles to be the board's.
ENGINE_SIZES = ("lanes", "width", "lane_words", "act_depth", "config_depth")
#: What the accuracy is measured on, in the order the tables give it.
SOURCES = ("pytorch", "integer", "device")
#: One ESR row: 178 samples, one second of EEG (Andrzejak et al. 2001, as the ESR CSV cut it).
ROW_SECONDS = 1.0


def measure(name, model_path, data, board, device, calibration_samples, sim_max_cycles,
            sim_check_rows):
    import torch

    from sw.data.esr import load_esr
    from sw.data.transform import apply_transform
    from sw.golden.executor import execute
    from sw.mapping.boards import board_config
    from sw.mapping.plan import DevicePlan, fit_problems
    from sw.models import load_model

    torch.set_num_threads(1)
    row = {"name": name, "board": board.name,
           "model": str(Path(model_path).resolve().relative_to(ROOT)
                        if Path(model_path).resolve().is_relative_to(ROOT)
                        else model_path)}
    program = _compiled(model_path, data, calibration_samples)
    problems = fit_problems(program, board.hello())
    row["fits"] = not problems
    row["problems"] = [f"{layer or 'the whole program'}: {p}" for layer, p in problems]
    engine_layers = len(program.engine_layers)
    row["engine_layers"], row["host_ops"] = engine_layers, len(program.host_ops)
    if problems:
        return row
    split = load_esr(data, raw=True)
    x = apply_transform(program.input_transform, split.x_test)
    model, _ = load_model(model_path)
    with torch.no_grad():
        y_torch = model.eval()(torch.as_tensor(x, dtype=torch.float32)).argmax(1).numpy()
    y_int = execute(program, x).predictions()
    sizes = {k: getattr(board, k) for k in ENGINE_SIZES}
    up, down, load = link_bytes_on_the_wire(program, x[0], **sizes)
    virtual = all(getattr(board_config("virtual"), k) == v for k, v in sizes.items())
    expected = DevicePlan.build(program, board.hello())
    expected = expected.expected_cycles(range(len(expected.image.layers)))
    if device == "sim" and not (virtual and expected <= sim_max_cycles):
        device = "golden"
    res, hello = _run(device, sizes, program, x)
    if device == "golden" and virtual and sim_check_rows:
        sim, _ = _run("sim", sizes, program, x[:sim_check_rows])
        row["sim_check"] = {
            "rows": sim_check_rows,
            "classes_equal": bool(np.array_equal(np.asarray(sim.output).argmax(1),
                                                 np.asarray(res.output)[:sim_check_rows]
                                                 .argmax(1))),
            "cycles_equal": list(sim.cycles) == list(res.cycles[:sim_check_rows])}
    y_dev = np.asarray(res.output).argmax(1)
    cycles = np.asarray(res.cycles, dtype=np.int64)
    # Times at the board's clock and baud: the virtual board is the 35T's device with a
    # faster simulated UART, so its cycles are the board's and its link time is not.
    clock, baud = board.clk_hz, board.baud
    device_s = float(cycles.mean()) / clock
    link_s = (up + down) * 10 / baud
    row.update({
        "device": device, "device_board": int(hello["board"]), "clk_hz": clock, "baud": baud,
        "rows": len(x),
        "cycles_per_row": int(cycles.max()), "cycles_equal_every_row": bool(
            (cycles == cycles[0]).all()),
        "device_us": 1e6 * device_s, "link_up_bytes": up, "link_down_bytes": down,
        "load_bytes": load, "link_ms": 1e3 * link_s,
        "real_time_fraction_device": device_s / ROW_SECONDS,
        "real_time_fraction_with_link": (device_s + link_s) / ROW_SECONDS,
        "data": split.description, "synthetic": split.source == "synthetic",
        "accuracy": {"pytorch": float(np.mean(y_torch == split.y_test)),
                     "integer": float(np.mean(y_int == split.y_test)),
                     "device": float(np.mean(y_dev == split.y_test))},
        "mcc": {"pytorch": float(metrics.mcc(split.y_test, y_torch)),
                "integer": float(metrics.mcc(split.y_test, y_int)),
                "device": float(metrics.mcc(split.y_test, y_dev))},
        "device_equals_integer": bool(np.array_equal(y_dev, y_int)),
    })
    return row


@functools.lru_cache
def _compiled(model_path, data, calibration_samples):
    """The model's program, compiled once for all the boards it is measured on."""
    from sw.compiler.compiler import compile_saved
    return compile_saved(model_path, data_path=data, n_calibration=calibration_samples)[0]


def _run(device, sizes, program, x):
    """``(InferenceResult, HELLO)`` of every row of ``x`` on ``device``."""
    from sw.device import open_device

    driver = open_device(device, **(sizes if device == "golden" else {}))
    try:
        hello = driver.hello()
        plan = driver.check_compatible(hello, program)
        driver.load(plan)
        return driver.infer(plan, x, progress=True), hello
    finally:
        driver.close()


def report(rows, meta, lines):
    from sw.mapping.boards import board_config

    for r in rows:
        board = board_config(r["board"])
        lines += [f"## {r['name']} ({r['model']}) on the {board.name}", "",
                  f"Engine: P = {board.lanes}, V = {board.width}, {board.lane_words} weight "
                  f"words a lane, {board.act_depth}-byte activation memory; "
                  f"{r['engine_layers']} engine layers, {r['host_ops']} host operations.", ""]
        if not r["fits"]:
            lines += ["Does not fit the board's engine; not measured further:", ""]
            lines += [f"- {p}" for p in r["problems"]] + [""]
            continue
        each = "equal" if r["cycles_equal_every_row"] else "the most"
        acc = " | ".join(f"{100 * r['accuracy'][k]:.1f} %" for k in SOURCES)
        mcc = " | ".join(f"{100 * r['mcc'][k]:.1f} %" for k in SOURCES)
        lines += [
            f"Data: {r['data']}", "",
            "| per ESR row (1 s of EEG) | value |", "|---|---:|",
            f"| RUN cycles ({r['device']} device, every row {each}) | "
            f"{r['cycles_per_row']:,} |",
            f"| device latency at {r['clk_hz'] / 1e6:.0f} MHz | {r['device_us']:.1f} µs |",
            f"| link bytes, host to device / back | {r['link_up_bytes']:,} / "
            f"{r['link_down_bytes']:,} |",
            f"| link time at {r['baud'] / 1e6:g} MBd | {r['link_ms']:.2f} ms |",
            f"| fraction of EEG real time, device alone | "
            f"{100 * r['real_time_fraction_device']:.4f} % |",
            f"| fraction of EEG real time, device and link | "
            f"{100 * r['real_time_fraction_with_link']:.3f} % |",
            f"| loading the program (once), bytes both ways | {r['load_bytes']:,} |", "",
            f"| {r['rows']} test rows | PyTorch | integer program | device |",
            "|---|---:|---:|---:|", f"| accuracy | {acc} |", f"| MCC | {mcc} |", "",
            f"The device's class equals the integer program's on every row: "
            f"{'yes' if r['device_equals_integer'] else 'NO'}.", ""]
        if "sim_check" in r:
            check = r["sim_check"]
            same = check["classes_equal"] and check["cycles_equal"]
            lines += [f"The virtual board on the first {check['rows']} rows: classes and "
                      f"cycles {'equal to' if same else 'NOT equal to'} the golden "
                      f"device's.", ""]
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="ESR CSV (the public file or the stand-in)")
    ap.add_argument("--model", nargs="+", default=DEFAULT_MODELS,
                    metavar="NAME=MODEL.pt[@BOARD]")
    ap.add_argument("--device", default="sim", help="sim (default) or golden")
    ap.add_argument("--sim-max-cycles", type=int, default=50_000,
                    help="largest RUN cycles a row for which --device sim runs every row "
                         "(default 50,000)")
    ap.add_argument("--sim-check-rows", type=int, default=3,
                    help="rows of a model measured on the golden device that the virtual "
                         "board runs too (default 3)")
    ap.add_argument("--calibration-samples", type=int, default=512)
    ap.add_argument("--out", default=str(ROOT / "results" / "esr_device"),
                    help="results file stem (default results/esr_device)")
    args = ap.parse_args()

    from sw.errors import InputError
    from sw.mapping.boards import BOARDS

    try:
        models = []
        for item in args.model:
            name, sep, rest = item.partition("=")
            path, *boards = rest.split("@")
            if not sep or not Path(path).is_file():
                raise InputError(f"--model {item!r}: expected NAME=MODEL.pt of a file")
            for b in boards or ["arty_a7_35t"]:
                if b not in BOARDS:
                    raise InputError(f"--model {item!r}: unknown board {b!r}; expected one "
                                     f"of {', '.join(BOARDS)}")
                models.append((name, path, BOARDS[b]))
        if not Path(args.data).is_file():
            raise InputError(f"--data {args.data}: no such file")
    except InputError as exc:
        print(f"bench_esr: error: {exc}", file=sys.stderr)
        return 2
    meta, lines = results_header("ESR models on the device")
    rows = [measure(name, path, args.data, board, args.device, args.calibration_samples,
                    args.sim_max_cycles, args.sim_check_rows)
            for name, path, board in models]
    lines = report(rows, meta, lines)
    out = Path(args.out)
    write_text(out.with_suffix(".json"), json.dumps({**meta, "models": rows}, indent=2)
               + "\n")
    write_text(out.with_suffix(".md"), "\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {out.with_suffix('.md')} and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())

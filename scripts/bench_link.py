"""Measure the driver on a damaged link: retries, frames and bytes per inference.

``python scripts/bench_link.py [--n N] [--rates 0 0.01 0.05] [--out FILE.md]`` runs the
bundled MNIST and HITS programs on the golden device through a
:class:`~sw.device.fault_proxy.FaultProxy` that drops, corrupts, or both (half each), the
given fraction of the bytes in each direction. The program is loaded over the damaged link
too (its retries are reported apart; a load that fails there is noted and done again over
a clean link). Driver time-out 5 ms, 100 retries. Every inference's result is compared with the golden
executor's. It reports, per model, fault kind and rate: inferences that gave the
executor's result, DeviceErrors, retries per inference (mean and largest), frames and bytes
per inference, the link time those bytes take at the board's baud, and wall time.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["measure", "main"]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _inputs(name, program, n):
    """``n`` raw samples of the model's data through the program's input transform."""
    from sw.data.transform import apply_transform
    if name == "mnist":
        from sw.data.mnist import load_mnist
        raw = load_mnist(raw=True).x_test[:n]
    else:
        from sw.doppler.detector import front_end
        _, segments = front_end(ROOT / "data" / "example" / "tcd-example.wav")
        raw = segments.channels()[:n]
    return apply_transform(program.input_transform, raw)


def measure(program, x, fault, rate, *, seed=0, timeout=0.005, retries=100):
    """One row: the program loaded and run on ``x`` through a link damaged at ``rate``
    (when the load fails on it, the load is retried over a clean link and noted)."""
    from sw.golden.executor import execute
    from sw.device.driver import Driver
    from sw.device.errors import DeviceError
    from sw.device.fault_proxy import FaultProxy
    from sw.golden.device import GoldenDevice

    rates = {"drop": (rate, 0.0), "corrupt": (0.0, rate), "both": (rate / 2, rate / 2)}[fault]
    dev = GoldenDevice()
    proxy = FaultProxy(dev, *rates, seed=seed)
    drv = Driver(proxy, timeout=timeout, retries=retries, baud=dev.baud)
    ref = execute(program, x)
    t0 = time.monotonic()
    load_error = None
    try:
        plan = drv.prepare(program)
    except DeviceError as exc:       # a load that fails is a result too
        load_error = str(exc)
        proxy.enabled = False
        plan = drv.prepare(program)
        proxy.enabled = True
    load = dict(drv.stats, seconds=time.monotonic() - t0)
    rows, errors, correct = [], [], 0
    for i in range(len(x)):
        before = dict(drv.stats)
        t = time.monotonic()
        try:
            res = drv.infer(plan, x[i])
            correct += bool(np.array_equal(res.output, ref.output[i]))
        except DeviceError as exc:
            errors.append(str(exc))
        rows.append({k: drv.stats[k] - before[k] for k in drv.stats} |
                    {"seconds": time.monotonic() - t})
    per = {k: [r[k] for r in rows] for k in rows[0]}
    return {"fault": fault, "rate": rate, "inferences": len(x), "correct": correct,
            "errors": len(errors), "error_messages": errors[:3],
            "retries_mean": float(np.mean(per["retries"])),
            "retries_max": int(np.max(per["retries"])),
            "frames_mean": float(np.mean(per["frames"])),
            "bytes_mean": float(np.mean(np.add(per["bytes_out"], per["bytes_in"]))),
            "link_ms_mean": float(np.mean(np.add(per["bytes_out"], per["bytes_in"])))
            * 10 / dev.baud * 1e3,
            "seconds_mean": float(np.mean(per["seconds"])),
            "load_retries": load["retries"], "load_frames": load["frames"],
            "load_error": load_error,
            "load_seconds": load["seconds"], "runs_executed": dev.runs_executed,
            "proxy": proxy.stats}


def main(argv=None):
    from tqdm.auto import tqdm

    from sw.atomic import write_text
    from sw.program import load
    from sw.results import results_header

    ap = argparse.ArgumentParser(prog="python scripts/bench_link.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10, help="inferences per model and rate")
    ap.add_argument("--rates", type=float, nargs="+", default=[0.0, 0.01, 0.05])
    ap.add_argument("--faults", nargs="+", default=["drop", "corrupt", "both"],
                    choices=["drop", "corrupt", "both"])
    ap.add_argument("--models", nargs="+", default=["mnist", "hits"],
                    choices=["mnist", "hits"])
    ap.add_argument("--out", type=Path, help="Markdown file (a .json beside it)")
    args = ap.parse_args(argv)

    jobs = [(m, f, r) for m in args.models for r in args.rates
            for f in (args.faults if r > 0 else ["drop"])]
    programs = {m: load(ROOT / "models" / f"{m}_attq.attq") for m in args.models}
    inputs = {m: _inputs(m, programs[m], args.n) for m in args.models}
    results = []
    for model, fault, rate in tqdm(jobs, desc="link faults"):
        row = measure(programs[model], inputs[model], fault if rate > 0 else "none", rate) \
            if rate > 0 else measure(programs[model], inputs[model], "drop", 0.0)
        row["model"] = model
        if rate == 0:
            row["fault"] = "none"
        results.append(row)

    meta, lines = results_header("Driver on a damaged link (golden device)")
    lines += ["| model | fault | rate | correct | errors | retries / inference (mean, max) | "
              "frames / inference | bytes / inference | link time at 4 MBd (ms) | "
              "wall s / inference | load retries |",
              "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    notes = []
    for r in results:
        load = r["load_retries"]
        if r["load_error"]:
            notes.append(f"* {r['model']}, {r['fault']} {r['rate']:.0%}: the load failed "
                         f"({r['load_error']}); the inferences ran after a clean load.")
            load = f"failed ({load})"
        lines.append(f"| {r['model']} | {r['fault']} | {r['rate']:.0%} | "
                     f"{r['correct']}/{r['inferences']} | {r['errors']} | "
                     f"{r['retries_mean']:.1f}, {r['retries_max']} | {r['frames_mean']:.1f} | "
                     f"{r['bytes_mean']:.0f} | {r['link_ms_mean']:.2f} | "
                     f"{r['seconds_mean']:.3f} | {load} |")
    text = "\n".join(lines + [""] + notes) + "\n"
    print(text)
    if args.out:
        write_text(args.out, text)
        write_text(args.out.with_suffix(".json"),
                   json.dumps({"meta": meta, "results": results}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

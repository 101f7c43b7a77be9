#!/usr/bin/env python3
"""Benchmark ``attq-fpga infer`` end to end, and project a 180-minute recording on the board.

    .venv/bin/python scripts/bench_infer.py [--devices golden sim] [--repeat 2]

For each device: ``attq-fpga infer`` on the bundled 2-minute recording (in this process:
read and check, front end, TFR, every event on the device, results and energy files), timed
as a whole; events per second end to end and for the classification alone.

From the counters and the protocol (sw/spec.py):

* device latency per HITS = the RUN cycles at the device clock (100 MHz);
* link bytes per HITS each way, counted on the wire when the host driver (sw.device) is
  installed (a counting wrapper around the golden device's byte transport), else computed
  from the frame layout (:func:`link_bytes_from_layout`); link time = bytes / (baud / 10)
  (8N1: 10 bits a byte), requests and responses one after the other;
* projected time for a 180-minute recording with 2,500 HITS on the board = the front end on
  180 minutes (results/doppler_frontend_bench.json) + 2,500 x (host work per HITS measured
  here: TFR, driver, host ops + link time + device latency).

Writes results/infer_bench.{md,json} with the command, machine and date.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sw import spec  # noqa: E402
from sw.atomic import write_text  # noqa: E402
from sw.results import results_header  # noqa: E402

RECORDING = ROOT / "data" / "example" / "tcd-example.wav"
MODEL = ROOT / "models" / "hits_attq.attq"
LONG_MINUTES = 180
LONG_HITS = 2500


def link_bytes_from_layout(program, hello):
    """Bytes each way for one inference of ``program``, from the frame layout.

    Host to device: the input map (int8, unpadded) in WRITE frames of at most
    ``max_payload`` bytes (4 argument bytes: mem, lane, address), one RUN (2 bytes) per run
    of consecutive engine layers, one COUNTERS, one READ (6 bytes) per map read back. Device
    to host: an empty OK frame per WRITE, RUN_RESULT_FIELDS, the counters (4 bytes each),
    the READ data. Every frame adds header and CRC. Host ops between engine layers add a
    READ and WRITEs of the maps they cross.
    """
    from sw.program.ir import EngineLayer
    frame = spec.LINK_HEADER_BYTES + spec.LINK_CRC_BYTES
    chunk = int(hello.get("max_payload", spec.LINK_MAX_PAYLOAD)) - 4
    up = down = 0
    ops = program.ops
    prev_engine = False
    for k, op in enumerate(ops):
        engine = isinstance(op, EngineLayer)
        if engine and not prev_engine:
            n = 1
            for d in op.in_shape:
                n *= int(d)
            frames = -(-n // chunk)
            up += n + frames * (frame + 4)
            down += frames * frame
            up += frame + 2                                  # RUN
            down += frame + spec.field_bytes(spec.RUN_RESULT_FIELDS)
        if engine and (k + 1 == len(ops) or not isinstance(ops[k + 1], EngineLayer)):
            n = 1
            for d in op.out_shape:
                n *= int(d)
            up += frame + 6                                  # READ
            down += frame + n
        prev_engine = engine
    up += frame                                              # COUNTERS
    down += frame + 4 * len(spec.ENGINE_COUNTERS)
    return up, down


class _CountingPort:
    """A byte transport that counts what crosses it in each direction."""

    def __init__(self, port):
        self._port, self.up, self.down = port, 0, 0

    def write(self, data):
        self.up += len(data)
        return self._port.write(data)

    def read(self, n=1):
        data = self._port.read(n)
        self.down += len(data)
        return data

    def __getattr__(self, name):
        return getattr(self._port, name)


def link_bytes_on_the_wire(program, x, **sizes):
    """Bytes each way for one inference through the host driver and the golden device (of
    the Arty A7-35T's sizes, or ``sizes``), and the bytes (both ways) of loading the program.

    Returns None while ``sw.device`` is not installed.
    """
    try:
        from sw.device import Driver, open_device
        from sw.mapping.plan import DevicePlan
    except ImportError:
        return None
    driver = open_device("golden", **sizes)
    port = _CountingPort(driver.port)
    counted = Driver(port)
    hello = counted.hello()
    plan = DevicePlan.build(program, hello)
    port.up = port.down = 0
    counted.load(plan)
    load = port.up + port.down
    port.up = port.down = 0
    counted.infer(plan, x)
    return port.up, port.down, load


def run_infer(device, out):
    """``attq-fpga infer`` in this process; (status, wall seconds, results.json)."""
    from sw.cli import main
    t0 = time.perf_counter()
    status = main(["infer", str(RECORDING), "--device", device, "--out", str(out),
                   "--no-progress", "--table-rows", "0"])
    wall = time.perf_counter() - t0
    doc = json.loads((out / "results.json").read_text()) if status == 0 else None
    return status, wall, doc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", nargs="+", default=["golden", "sim"])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()

    import torch

    from sw.data.transform import apply_transform
    from sw.doppler.detector import front_end
    from sw.program.file import load
    torch.set_num_threads(1)

    program = load(MODEL)
    per_device = {}
    for device in args.devices:
        runs, doc, failure = [], None, None
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    status, wall, got = run_infer(device, Path(tmp) / "out")
                except Exception as exc:  # noqa: BLE001 - recorded in the results
                    status, wall, got = 1, 0.0, None
                    failure = f"{type(exc).__name__}: {exc}"
            if status != 0:
                failure = failure or f"attq-fpga infer exited with status {status}"
                break
            runs.append(wall)
            doc = got
        if doc is None:
            per_device[device] = {"error": failure}
            continue
        s = doc["summary"]
        n = s["items"]
        best = min(runs)
        per_device[device] = {
            "events": n, "wall_s": runs, "best_s": best,
            "events_per_s_end_to_end": n / best,
            "classify_s": s["host_s_total"],
            "events_per_s_classify": n / s["host_s_total"],
            "cycles_per_hits": s["cycles_mean"], "latency_us_per_hits": s["latency_us_mean"],
            "accuracy": s.get("accuracy"), "board": doc["device"]["board_name"],
            "clk_hz": doc["device"]["clk_hz"], "baud": doc["device"]["baud"]}

    # Host work per HITS that the board would leave on the host: the program's input
    # transform (the TFR) of its segment.
    rec, segments = front_end(RECORDING)
    chans = segments.channels()
    transform = program.input_transform
    t0 = time.perf_counter()
    for i in range(len(chans)):
        apply_transform(transform, chans[i:i + 1])
    tfr_s = (time.perf_counter() - t0) / len(chans)
    x0 = apply_transform(transform, chans[:1])[0]

    golden = per_device.get("golden", {})
    clk = golden.get("clk_hz", 100_000_000)
    baud = golden.get("baud", 4_000_000)
    hello = {"max_payload": spec.LINK_MAX_PAYLOAD}
    layout = link_bytes_from_layout(program, hello)
    wire = link_bytes_on_the_wire(program, x0)
    up, down = wire[:2] if wire is not None else layout
    load_bytes = wire[2] if wire is not None else None
    load_s = load_bytes / (baud / 10) if load_bytes else 0.0
    link_s = (up + down) / (baud / 10)
    cycles = golden.get("cycles_per_hits")
    device_s = cycles / clk if cycles else float("nan")
    # Driver overhead per HITS: what the golden device's classification costs beyond the
    # golden model's own arithmetic is not the board's; count the TFR as the host's share.
    fe = json.loads((ROOT / "results" / "doppler_frontend_bench.json").read_text())
    fe_s = fe["best_s"] * LONG_MINUTES / fe["minutes"]
    per_hits_s = tfr_s + link_s + device_s
    projected = fe_s + load_s + LONG_HITS * per_hits_s

    meta, lines = results_header("attq-fpga infer: end-to-end benchmark")
    result = {**meta, "recording": str(RECORDING.relative_to(ROOT)),
              "model": str(MODEL.relative_to(ROOT)), "devices": per_device,
              "link_bytes_per_hits": {"host_to_device": up, "device_to_host": down,
                                      "source": "counted on the wire (golden device)"
                                      if wire is not None else "frame layout (sw/spec.py)",
                                      "layout": list(layout)},
              "baud": baud, "clk_hz": clk, "link_s_per_hits": link_s,
              "device_s_per_hits": device_s, "tfr_s_per_hits": tfr_s,
              "program_load_bytes": load_bytes, "program_load_s": load_s,
              "projection": {"minutes": LONG_MINUTES, "hits": LONG_HITS,
                             "front_end_s": fe_s, "program_load_s": load_s, "per_hits_s": per_hits_s,
                             "total_s": projected}}
    lines += ["Bundled recording `data/example/tcd-example.wav` (2 minutes), default model "
              "`models/hits_attq.attq`, `attq-fpga infer` in-process (Python start-up "
              "excluded), best of the runs. End to end includes opening the device (the virtual board: "
              "starting its simulation) and loading the program over the link; classify is "
              "the inferences alone (host TFR excluded, link and host ops included). The "
              "virtual board simulates the RTL cycle by cycle, so its rate is Verilator's, "
              "not the board's.", "",
              "| device | events | end to end (s) | events/s end to end | classify (s) | "
              "events/s classify | cycles per HITS | latency per HITS (µs) | accuracy |",
              "|---|---|---|---|---|---|---|---|---|"]
    for device, d in per_device.items():
        if "error" in d:
            lines.append(f"| {device} | not run: {d['error']} | | | | | | | |")
            continue
        acc = "" if d["accuracy"] is None else f"{100 * d['accuracy']:.1f} %"
        lines.append(f"| {device} ({d['board']}) | {d['events']} | {d['best_s']:.2f} | "
                     f"{d['events_per_s_end_to_end']:.1f} | {d['classify_s']:.2f} | "
                     f"{d['events_per_s_classify']:.1f} | {d['cycles_per_hits']:.0f} | "
                     f"{d['latency_us_per_hits']:.1f} | {acc} |")
    lines += ["", "## The board (Arty A7-35T), per HITS", "",
              f"- Device latency: {cycles:.0f} cycles at {clk / 1e6:g} MHz = "
              f"{device_s * 1e3:.3f} ms (the RUN's cycles: engine busy cycles plus "
              f"configuration load and start of each layer)." if cycles else
              "- Device latency: no golden run.",
              f"- Link: {up} bytes host to device, {down} bytes device to host "
              f"({result['link_bytes_per_hits']['source']}; the frame layout gives "
              f"{layout[0]} / {layout[1]}); at {baud / 1e6:g} Mbaud, 10 bits a byte: "
              f"{link_s * 1e3:.3f} ms.",
              f"- Host: TFR of the segment {tfr_s * 1e3:.3f} ms (measured here).",
              f"- Total {per_hits_s * 1e3:.3f} ms per HITS.", "",
              f"## Projected: {LONG_MINUTES}-minute recording, {LONG_HITS} HITS, on the board",
              "",
              f"front end {fe_s:.1f} s (results/doppler_frontend_bench.json, "
              f"{fe['best_s']} s for {fe['minutes']:g} min) + program load "
              f"{load_s:.2f} s ({load_bytes or 0} bytes both ways, once) + {LONG_HITS} x "
              f"{per_hits_s * 1e3:.3f} ms = **{projected:.1f} s**.", "",
              "The projection assumes requests and responses do not overlap (the driver "
              "waits for each answer) and no link retries; writing the results files is "
              "not counted.", ""]
    write_text(ROOT / "results" / "infer_bench.md", "\n".join(lines))
    write_text(ROOT / "results" / "infer_bench.json", json.dumps(result, indent=1) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

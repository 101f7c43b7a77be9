#!/usr/bin/env python3
"""Time ``attq-fpga infer``'s HTML report on a 30-minute recording; screenshot a report.

    .venv/bin/python scripts/bench_report.py [--minutes 30] [--device golden] [--no-screenshot]

1. ``attq-fpga recordings simulate --minutes 30`` (seed 0) into a temporary folder, with
   its truth CSV.
2. ``attq-fpga infer`` on it (``--device golden``), in this process, timed as a whole;
   the report's share is timed apart: :func:`sw.infer.html_report.html_report` (the
   thumbnails, the timeline, the page) and the atomic write of ``report.html``.
3. Headless Chromium loads the page and takes a screenshot, timed (when it is installed):
   what opening the report costs.
4. Unless ``--no-screenshot``: ``attq-fpga infer data/example/tcd-example.wav --device
   golden``, and Chromium's screenshot of its report into docs/report-screenshot.png.

Writes results/report_time.{md,json} with the command, the machine and the date.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sw.atomic import write_bytes, write_text  # noqa: E402
from sw.results import results_header  # noqa: E402

#: The bundled recording, as the command line names it from the repository root.
EXAMPLE = Path("data") / "example" / "tcd-example.wav"
SCREENSHOT = ROOT / "docs" / "report-screenshot.png"
WINDOW = (1200, 2000)


def chromium_shot(page, png, window=WINDOW):
    """Headless Chromium's screenshot of ``page`` into ``png``; the seconds it took, or
    None without Chromium."""
    from sw.toolchain import chromium_path
    chromium = chromium_path()
    if chromium is None:
        return None
    with tempfile.TemporaryDirectory() as profile:
        t0 = time.perf_counter()
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", f"--user-data-dir={profile}",
                        f"--screenshot={png}", f"--window-size={window[0]},{window[1]}",
                        Path(page).resolve().as_uri()],
                       check=True, capture_output=True, timeout=600)
        return time.perf_counter() - t0


class _Timed:
    """Wraps ``html_report`` and ``write_text`` to time the report's share of a run."""

    def __init__(self):
        import sw.atomic
        import sw.infer.html_report as page
        self.page, self.atomic = page, sw.atomic
        self.real_report, self.real_write = page.html_report, sw.atomic.write_text
        self.report_s = self.write_s = None
        self.size = None

    def __enter__(self):
        def report(*args, **kwargs):
            t0 = time.perf_counter()
            text = self.real_report(*args, **kwargs)
            self.report_s = time.perf_counter() - t0
            return text

        def write(path, text):
            t0 = time.perf_counter()
            self.real_write(path, text)
            if Path(path).name == "report.html":
                self.write_s = time.perf_counter() - t0
                self.size = Path(path).stat().st_size
        self.page.html_report, self.atomic.write_text = report, write
        return self

    def __exit__(self, *exc):
        self.page.html_report, self.atomic.write_text = self.real_report, self.real_write


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--device", default="golden")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-screenshot", action="store_true",
                    help="do not remake docs/report-screenshot.png")
    args = ap.parse_args()
    os.chdir(ROOT)

    from sw.cli import main as cli

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        wav = tmp / f"rec{args.minutes:g}.wav"
        simulate = ["recordings", "simulate", "--minutes", f"{args.minutes:g}", "--out",
                    str(wav), "--seed", str(args.seed), "--no-progress"]
        t0 = time.perf_counter()
        assert cli(simulate) == 0
        simulate_s = time.perf_counter() - t0

        out = tmp / "out"
        infer = ["infer", str(wav), "--device", args.device, "--out", str(out),
                 "--no-progress", "--table-rows", "0"]
        with _Timed() as timed:
            t0 = time.perf_counter()
            status = cli(infer)
            infer_s = time.perf_counter() - t0
        if status != 0:
            raise SystemExit(f"attq-fpga infer exited with status {status}")
        doc = json.loads((out / "results.json").read_text())
        s = doc["summary"]
        render_s = chromium_shot(out / "report.html", tmp / "long.png")

    shot_s = None
    if not args.no_screenshot:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "example"
            assert cli(["infer", str(EXAMPLE), "--device", "golden", "--out", str(out),
                        "--no-progress", "--table-rows", "0"]) == 0
            png = Path(tmp) / "shot.png"
            shot_s = chromium_shot(out / "report.html", png)
            if shot_s is not None:
                write_bytes(SCREENSHOT, png.read_bytes())

    report_total = timed.report_s + timed.write_s
    meta, lines = results_header("attq-fpga infer: time to report a "
                                 f"{args.minutes:g}-minute recording")
    result = {**meta, "minutes": args.minutes, "seed": args.seed, "device": args.device,
              "simulate_command": f"attq-fpga recordings simulate --minutes "
                                  f"{args.minutes:g} --out REC.wav --seed {args.seed}",
              "infer_command": f"attq-fpga infer REC.wav --device {args.device} --out OUT "
                               "--no-progress --table-rows 0",
              "events": s["items"], "truth_events": s.get("truth_events"),
              "accuracy": s.get("accuracy"), "simulate_s": simulate_s,
              "infer_s": infer_s, "classify_s": s["host_s_total"],
              "html_report_s": timed.report_s, "report_write_s": timed.write_s,
              "report_s": report_total, "report_bytes": timed.size,
              "chromium_render_s": render_s,
              "screenshot": (str(SCREENSHOT.relative_to(ROOT)) if shot_s is not None
                             else None)}
    lines += [f"A simulated {args.minutes:g}-minute recording (`attq-fpga recordings "
              f"simulate --minutes {args.minutes:g} --seed {args.seed}`, "
              f"{s.get('truth_events')} truth events) through `attq-fpga infer --device "
              f"{args.device}` in one process (Python start-up excluded).", "",
              "| step | seconds |", "|---|---|",
              f"| whole `infer` (read, front end, {s['items']} events on the device, all "
              f"files) | {infer_s:.1f} |",
              f"| of which classification on the device | {s['host_s_total']:.1f} |",
              f"| of which the HTML report: `html_report` ({s['items']} thumbnails, "
              f"timeline, page) | {timed.report_s:.2f} |",
              f"| of which writing report.html ({timed.size / 1e6:.2f} MB, atomically) | "
              f"{timed.write_s:.3f} |",
              f"| **time to report** (the two above) | **{report_total:.2f}** |"]
    if render_s is not None:
        lines.append(f"| headless Chromium: load the page and take a screenshot "
                     f"({WINDOW[0]}x{WINDOW[1]}) | {render_s:.1f} |")
    acc = s.get("accuracy")
    lines += ["", f"{s['items']} events"
              + (f", accuracy {100 * acc:.1f} % against the truth" if acc is not None
                 else "") + ".", ""]
    if shot_s is not None:
        lines += [f"docs/report-screenshot.png: the report of `attq-fpga infer "
                  f"{EXAMPLE.as_posix()} --device golden`, taken by headless Chromium "
                  f"({shot_s:.1f} s).", ""]
    write_text(ROOT / "results" / "report_time.md", "\n".join(lines))
    write_text(ROOT / "results" / "report_time.json", json.dumps(result, indent=1) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Soak run: a long simulated recording through ``attq-fpga infer`` on the virtual board with
link faults; every event against the golden device; resident memory at the start and the end.

    .venv/bin/python scripts/bench_soak.py [--minutes 30] [--faults 0.0005 0.0005]
        [--link-timeout 1.0] [--seed 0]

1. ``attq-fpga recordings simulate``'s simulator makes a recording of ``--minutes`` (with its
   truth) in ``--work`` (default runs/soak).
2. ``attq-fpga infer`` on it with ``--device golden`` (the golden protocol device, no faults):
   the reference.
3. ``attq-fpga infer`` on it with ``--device sim --link-faults DROP CORRUPT`` in a child
   process, whose resident memory (its own and the virtual board's, summed over the
   process tree from /proc: Linux only) is sampled every second, beside the number of
   events its journal holds.
4. Every event's row (class, probabilities, cycles, engine counters, truth) compared with
   the reference's, wall times aside.

``--faults`` are the fractions of the link's bytes dropped and corrupted, each way, after the
program is loaded (:class:`sw.device.FaultProxy`). The default damages 0.1 % of the bytes,
which with the driver's frames (about 40 bytes on average) makes a few percent of the
requests fail once: the results file gives both rates. ``--link-timeout`` is infer's: 1 s
instead of the virtual board's 5 s, since every dropped byte costs one time-out.

Writes results/soak.{md,json} (command, machine, date) and results/soak_memory.png.
"""

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sw.atomic import atomic_path, write_text  # noqa: E402
from sw.infer.journal import JOURNAL_NAME  # noqa: E402
from sw.results import results_header  # noqa: E402

def _rss_kib(pid):
    """Resident memory (KiB) of ``pid`` and all its descendants, from /proc."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def _journal_events(out):
    path = out / JOURNAL_NAME
    try:
        return max(0, path.read_bytes().count(b"\n") - 1)
    except OSError:
        return None


def _rows(path):
    from sw.infer.report import comparable
    with open(path, newline="", encoding="utf-8") as f:
        return comparable(list(csv.DictReader(f)))


def _memory_png(samples, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=120)
    t = [s["t_s"] / 60 for s in samples]
    ax.plot(t, [s["rss_kib"] / 1024 for s in samples])
    ax.set_xlabel("minutes")
    ax.set_ylabel("resident memory (MiB)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--faults", type=float, nargs=2, default=(0.0005, 0.0005),
                    metavar=("DROP", "CORRUPT"))
    ap.add_argument("--link-timeout", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "soak")
    ap.add_argument("--results", type=Path, default=ROOT / "results")
    args = ap.parse_args(argv)

    from sw.cli import main as cli
    from sw.doppler.recording import write_truth_csv, write_wav
    from sw.doppler.simulator import simulate_recording

    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    wav = work / f"soak_{args.minutes:g}min_seed{args.seed}.wav"
    if not wav.exists():
        print(f"[soak] simulating {args.minutes:g} minutes", flush=True)
        rec = simulate_recording(args.minutes * 60.0, seed=args.seed, progress=True)
        write_wav(wav, rec.iq, rec.sample_rate_hz)
        write_truth_csv(wav.with_suffix(".truth.csv"), rec.events)
    common = [str(wav), "--no-progress", "--table-rows", "0"]

    print("[soak] reference: the golden device", flush=True)
    golden = work / "golden"
    t0 = time.monotonic()
    cli(["infer", *common, "--device", "golden", "--out", str(golden)])
    golden_s = time.monotonic() - t0

    print(f"[soak] the virtual board, link faults {args.faults[0]} + {args.faults[1]}",
          flush=True)
    sim = work / "sim"
    (sim / JOURNAL_NAME).unlink(missing_ok=True)     # a killed earlier soak's
    cmd = [sys.executable, "-m", "sw.cli", "infer", *common, "--device", "sim", "--out",
           str(sim), "--link-faults", *map(str, args.faults), "--fault-seed", str(args.seed),
           "--link-timeout", str(args.link_timeout)]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT)
    samples = []
    while proc.poll() is None:
        samples.append({"t_s": time.monotonic() - t0, "rss_kib": _rss_kib(proc.pid),
                        "events": _journal_events(sim)})
        if len(samples) % 60 == 0:
            s = samples[-1]
            print(f"[soak] {s['t_s'] / 60:.1f} min: {s['events']} events, "
                  f"{s['rss_kib'] / 1024:.0f} MiB", flush=True)
        time.sleep(1.0)
    sim_s = time.monotonic() - t0
    status = proc.returncode

    want, got = _rows(golden / "results.csv"), _rows(sim / "results.csv")
    unequal = [i for i, (a, b) in enumerate(zip(want, got)) if a != b]
    failed = [r["index"] for r in got if r["error"]]
    doc = json.loads((sim / "results.json").read_text())
    link = doc["link"]
    with_events = [s for s in samples if s["events"]]
    start, end = with_events[0], with_events[-1]
    summary = {
        "minutes": args.minutes, "seed": args.seed, "faults": list(args.faults),
        "events": len(got), "events_golden": len(want), "exit_status": status,
        "equal_to_golden": len(want) == len(got) and not unequal,
        "unequal_rows": unequal, "failed_rows": failed,
        "wall_s_sim": sim_s, "wall_s_golden": golden_s,
        "retries": link["driver"].get("retries"), "driver": link["driver"],
        "damage": link.get("faults", {}).get("damage"),
        "rss_start_kib": start["rss_kib"], "rss_start_events": start["events"],
        "rss_end_kib": end["rss_kib"], "rss_end_events": end["events"],
        "rss_max_kib": max(s["rss_kib"] for s in samples),
        "accuracy": doc["summary"].get("accuracy"), "mcc": doc["summary"].get("mcc"),
    }
    meta, lines = results_header("Soak: a long recording on the virtual board with link "
                                 "faults")
    damage = summary["damage"] or {}
    lines += [
        f"A {args.minutes:g}-minute simulated recording (seed {args.seed}) through "
        f"`attq-fpga infer --device sim --link-faults {args.faults[0]} {args.faults[1]} "
        f"--link-timeout {args.link_timeout:g}` "
        f"(the virtual board: the device's RTL, verilated), against `--device golden`.",
        "",
        "| | |", "|---|---|",
        f"| events | {len(got)} (golden: {len(want)}) |",
        f"| every row equal to the golden device's (class, probabilities, cycles, counters)"
        f" | {'yes' if summary['equal_to_golden'] else f'NO: rows {unequal}'} |",
        f"| rows with an error | {len(failed)} |",
        f"| exit status | {status} |",
        f"| requests, retried | {link['driver']['requests']}, {summary['retries']} "
        f"({100 * summary['retries'] / max(1, link['driver']['requests']):.1f} %) |",
        f"| driver counts | {', '.join(f'{k} {v}' for k, v in link['driver'].items())} |",
        *(f"| damage {d} | {v['dropped']} dropped, {v['corrupted']} corrupted of "
          f"{v['bytes']} bytes ({100 * (v['dropped'] + v['corrupted']) / max(1, v['bytes']):.2f} %) |"
          for d, v in damage.items()),
        f"| resident memory at the first event | {start['rss_kib'] / 1024:.1f} MiB "
        f"({start['events']} events journalled) |",
        f"| resident memory at the last event | {end['rss_kib'] / 1024:.1f} MiB "
        f"({end['events']} events journalled) |",
        f"| resident memory, most | {summary['rss_max_kib'] / 1024:.1f} MiB |",
        f"| wall time, virtual board | {sim_s / 60:.1f} min |",
        f"| wall time, golden device | {golden_s / 60:.1f} min |",
        "", "Resident memory: the infer process and the virtual board's, summed over the "
        "process tree (/proc VmRSS), sampled every second: results/soak_memory.png.", ""]
    args.results.mkdir(parents=True, exist_ok=True)
    _memory_png(samples, args.results / "soak_memory.png",
                f"infer --device sim, {args.minutes:g} min, faults {args.faults[0]} + "
                f"{args.faults[1]}")
    write_text(args.results / "soak.md", "\n".join(lines))
    write_text(args.results / "soak.json", json.dumps(
        {**meta, **summary, "memory_samples": samples}, indent=1) + "\n")
    print("\n".join(lines))
    return 0 if summary["equal_to_golden"] and status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

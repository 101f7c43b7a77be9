#!/usr/bin/env python3
"""Time ``attq-fpga --help`` and every sub-command's ``--help`` (target: under a second).

Each answer runs in a fresh process (``attq-fpga`` from this interpreter's virtual
environment, else ``python -m sw.cli``), a few times; the table gives the median and the
slowest wall-clock time, and whether torch or amaranth were imported to answer (they
must not be: tests/test_cli_help.py). The sub-commands are found by walking the parser,
so a new one is timed without a change here.

    .venv/bin/python scripts/bench_cli_help.py [--repeat 5] [--out results/cli_help.md]

Writes results/cli_help.md with the command, the machine and the date.
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_S = 1.0

#: Reports the modules a --help imported (run with -X importtime would be slower).
PROBE = ("import sys, runpy; sys.argv = ['attq-fpga', *sys.argv[1:]]\n"
         "try:\n    runpy.run_module('sw.cli', run_name='__main__')\n"
         "except SystemExit:\n    pass\n"
         "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'amaranth'}),"
         " file=sys.stderr)")


def commands():
    """Every command path of the parser: (), ("data",), ("data", "check"), ..."""
    from sw.cli import build_parser

    def walk(parser, prefix):
        yield prefix
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, prefix + (name,))

    return list(walk(build_parser(), ()))


def entry():
    """The ``attq-fpga`` program: the console script beside this interpreter if any."""
    script = Path(sys.executable).parent / "attq-fpga"
    return [str(script)] if script.exists() else [sys.executable, "-m", "sw.cli"]


def main(argv=None):
    from sw.atomic import write_text
    from sw.results import results_header

    ap = argparse.ArgumentParser(prog="python scripts/bench_cli_help.py",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="runs per command (default 5)")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "cli_help.md")
    args = ap.parse_args(argv)

    program = entry()
    rows = []
    for path in commands():
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            proc = subprocess.run([*program, *path, "--help"], cwd=ROOT, capture_output=True,
                                  text=True, timeout=60)
            times.append(time.perf_counter() - t0)
            if proc.returncode != 0:
                raise SystemExit(f"{' '.join(path)} --help exited {proc.returncode}: "
                                 f"{proc.stderr[-500:]}")
        probe = subprocess.run([sys.executable, "-c", PROBE, *path, "--help"], cwd=ROOT,
                               capture_output=True, text=True, timeout=60)
        heavy = probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else "?"
        rows.append(dict(command=" ".join(["attq-fpga", *path, "--help"]),
                         median=statistics.median(times), max=max(times), heavy=heavy))
        print(f"{rows[-1]['command']:50s} median {rows[-1]['median']:.3f} s  "
              f"max {rows[-1]['max']:.3f} s  heavy {heavy}", flush=True)

    meta, lines = results_header("`attq-fpga --help` and every sub-command's `--help`")
    worst = max(r["median"] for r in rows)
    over = [r["command"] for r in rows if r["median"] >= TARGET_S]
    lines += [f"Each command in a fresh process (`{' '.join(Path(p).name for p in program)}`"
              f"), {args.repeat} runs, wall-clock seconds. Target: under {TARGET_S:g} s "
              f"without importing torch or amaranth.", "",
              "| command | median s | max s | torch / amaranth imported |",
              "|---|---:|---:|---|"]
    for r in rows:
        lines.append(f"| `{r['command']}` | {r['median']:.3f} | {r['max']:.3f} | "
                     f"{'none' if r['heavy'] == '[]' else r['heavy']} |")
    lines += ["", f"{len(rows)} commands; slowest median {worst:.3f} s; "
              + ("all under the target." if not over else f"over the target: {over}."), ""]
    write_text(args.out, "\n".join(lines))
    print(f"wrote {args.out}")
    return 0 if not over and all(r["heavy"] == "[]" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

"""``attq-fpga demo``: the deepest path the project has, on its bundled default.

For now that is the dual-scale unit, converted from Amaranth, built with Verilator and
run by its cocotb bench against the golden integer reference, cycle by cycle; then the
integer epilogue against the float layer it stands for.
"""

import sys
import time
from pathlib import Path

__all__ = ["register", "run"]

ROOT = Path(__file__).resolve().parent.parent


def register(subparsers):
    parser = subparsers.add_parser(
        "demo", help="run the main job on the bundled default (for now: the dual-scale unit "
                     "in Verilator against the golden reference)")
    parser.add_argument("--simulator", default="verilator", choices=("verilator", "icarus"))
    parser.add_argument("--vectors", type=int, default=5000,
                        help="random vectors after the corners (default: 5000)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.set_defaults(func=run)


def run(args):
    import json
    import tempfile

    if not (ROOT / "sim").is_dir():
        print("attq-fpga demo needs the source checkout (the sim/ benches)", file=sys.stderr)
        return 1
    sys.path.insert(0, str(ROOT))
    from hw.dual_scale import DualScaleUnit
    from sim.runner import build_dir_for, run_cocotb
    from sw import spec

    build_dir = build_dir_for("dual_scale_unit", args.simulator)
    log = build_dir / "demo.log"
    print(f"[demo] dual-scale unit: Amaranth -> Verilog -> {args.simulator}; "
          f"{args.vectors} random vectors plus the corners, random back-pressure "
          f"(simulator log: {log})")
    with tempfile.TemporaryDirectory() as tmp:
        summary_file = Path(tmp) / "summary.json"
        start = time.monotonic()
        tests, failed = run_cocotb(
            DualScaleUnit(), toplevel="dual_scale_unit", test_module="sim.dual_scale_bench",
            simulator=args.simulator, log_file=log,
            extra_env={"BENCH_SEED": str(args.seed), "BENCH_COUNT": str(args.vectors),
                       "BENCH_SUMMARY": str(summary_file)})
        elapsed = time.monotonic() - start
        tally = json.loads(summary_file.read_text()) if summary_file.exists() else {}
    if failed or not tally:
        print(f"[demo] FAILED: {failed} of {tests} cocotb tests failed; see {log}")
        return 1
    print(f"[demo] {tests} cocotb tests passed in {elapsed:.1f} s (build included)")
    print(f"       results checked bit-exactly: {tally['results']} "
          f"({tally['vectors']} vectors x 3 valid/ready patterns), "
          f"{tally['saturated']} saturated")
    print(f"       cycles: {tally['cycles']}, output stalled by back-pressure in "
          f"{tally['stall_cycles']}; latency {spec.EPILOGUE_LATENCY} cycles and one result "
          f"a cycle asserted")

    from .golden.epilogue_error import measure
    rows = measure(layers_per_fan_in=10, points=5000)
    worst = max(rows, key=lambda r: r["max_abs_error_lsb"])
    print("[demo] integer epilogue against the float layer (in output LSB):")
    for r in rows:
        if r["act"] == "NONE":
            print(f"       fan-in {r['fan_in']:>6}: max error {r['max_abs_error_lsb']:.3f}, "
                  f"bound {r['max_bound_lsb']:.3f}, differs from rounded float in "
                  f"{100 * r['differs_from_rounded_float']:.3f} % of outputs")
    print(f"       worst over all modes: {worst['max_abs_error_lsb']:.3f} LSB "
          f"(fan-in {worst['fan_in']}, {worst['act']})")
    return 0

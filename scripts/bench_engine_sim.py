#!/usr/bin/env python3
"""Simulated engine cycles per second on Verilator and on Icarus.

Runs the committed MNIST model on the Arty A7-35T's engine (its P = 8 lanes and width V)
through the cocotb job bench (loading and reading included, as a user of the benches sees
it), and reads the simulated time and the wall time of the cocotb test from its results
file.

    .venv/bin/python scripts/bench_engine_sim.py [--samples 4]

Writes results/engine_sim_speed.{json,md} with the command, the machine and the date.
"""

import argparse
import json
import pickle
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sw.atomic import write_text  # noqa: E402
from sw.results import results_header  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4)
    args = parser.parse_args()

    from hw.engine.layer_engine import LayerEngine
    from testsupport.model_jobs import model_jobs
    from testsupport.runner import available_simulators, build_dir_for, run_cocotb
    from sw.mapping.boards import board_config
    from testsupport.bundled import INPUTS, MODELS
    board = board_config("arty_a7_35t")
    LANES, WIDTH = board.lanes, board.width
    LANE_WORDS, ACT_DEPTH = board.lane_words, board.act_depth
    from sw.models import load_model
    from sw.program.file import load

    model_path, program_path = MODELS["mnist"]
    model, _ = load_model(model_path)
    program = load(program_path)
    x = INPUTS["mnist"](args.samples)
    jobs = [j for j in model_jobs("mnist", model, program, x, LANES, WIDTH, ACT_DEPTH,
                                  LANE_WORDS)
            if "whole model" in j["name"]]
    engine_cycles = sum(m["busy_cycles"] for j in jobs for m in j["model"])
    rows = []
    for simulator in available_simulators():
        build_dir = build_dir_for(f"layer_engine_p{LANES}_v{WIDTH}_bench", simulator)
        build_dir.mkdir(parents=True, exist_ok=True)
        jobs_file = build_dir / "jobs.pkl"
        jobs_file.write_bytes(pickle.dumps({"lanes": LANES, "width": WIDTH,
                                            "lane_words": LANE_WORDS, "jobs": jobs}))
        start = time.monotonic()
        tests, failed = run_cocotb(
            LayerEngine(lanes=LANES, width=WIDTH, lane_words=LANE_WORDS, act_depth=ACT_DEPTH),
            toplevel="layer_engine", test_module="sim.engine_jobs_bench", simulator=simulator,
            build_dir=build_dir, extra_env={"BENCH_JOBS": str(jobs_file)},
            log_file=build_dir / "bench.log")
        total = time.monotonic() - start
        if failed:
            raise SystemExit(f"{simulator}: the bench failed; see {build_dir / 'bench.log'}")
        case = next(ET.parse(next(build_dir.glob("*.xml"))).iter("testcase"))
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        sim_cycles = float(props["sim_time_duration"]) / 10.0
        wall = float(case.get("time"))
        rows.append({"simulator": simulator, "lanes": LANES, "width": WIDTH,
                     "simulated_cycles": int(sim_cycles),
                     "engine_busy_cycles": engine_cycles, "test_wall_s": wall,
                     "cycles_per_s": sim_cycles / wall, "build_and_run_s": round(total, 1)})
        print(rows[-1], flush=True)
    out = ROOT / "results"
    meta, lines = results_header(f"Engine simulation speed (MNIST model, P = {LANES}, "
                                 f"V = {WIDTH}, cocotb job bench)")
    write_text(out / "engine_sim_speed.json", json.dumps({**meta, "rows": rows}, indent=2) + "\n")
    lines += [
             f"{args.samples} whole-model inferences: {engine_cycles} engine busy cycles, plus "
             "loading the weights and inputs and reading the outputs one word a cycle.", "",
             "| simulator | simulated cycles | cocotb test wall time (s) | cycles / s | build + run (s) |",
             "|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['simulator']} | {r['simulated_cycles']} | {r['test_wall_s']:.1f} | "
                     f"{r['cycles_per_s']:.0f} | {r['build_and_run_s']} |")
    write_text(out / "engine_sim_speed.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""``attq-fpga demo``: the deepest path the project has, on its bundled defaults.

Until the driver and the bundled HITS classifier exist, that is:

1. the HITS front end on the bundled two-minute Doppler recording, against its truth;
2. the committed MNIST aTTQ model, compiled to an integer program, run on the engine's RTL
   in Verilator layer after layer (its maps never leave the engine), every layer's output
   checked against the golden model and every layer's cycles against the cycle model, with
   the classes against PyTorch's and the labels, the counters and the estimated energy;
3. the dual-scale unit's cocotb bench (corners and random vectors under back-pressure).
"""

import sys
import time
from pathlib import Path

__all__ = ["register", "run"]

ROOT = Path(__file__).resolve().parent.parent
RECORDING = ROOT / "data" / "example" / "tcd-example.wav"


def register(subparsers):
    parser = subparsers.add_parser(
        "demo", help="run the main job on the bundled defaults (front end, MNIST model on the "
                     "engine RTL, dual-scale unit)")
    parser.add_argument("--simulator", default="verilator", choices=("verilator", "icarus"))
    parser.add_argument("--digits", type=int, default=4, help="MNIST test digits (default 4)")
    parser.add_argument("--vectors", type=int, default=3000,
                        help="random vectors for the dual-scale unit (default 3000)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.set_defaults(func=run)


def _front_end():
    from .doppler.detector import front_end, match_events
    from .doppler.recording import read_truth_csv

    rec, segments = front_end(RECORDING)
    truth = read_truth_csv(RECORDING.with_suffix(".truth.csv"), duration_s=rec.duration_s)
    pairs = match_events(segments.detections, truth)
    print(f"[demo 1/3] HITS front end on {RECORDING.relative_to(ROOT)} "
          f"({rec.duration_s:.0f} s): {len(segments.detections)} events detected, "
          f"{len(truth)} in the truth file, {len(pairs)} matched "
          f"(recall {100 * len(pairs) / max(1, len(truth)):.1f} %, precision "
          f"{100 * len(pairs) / max(1, len(segments.detections)):.1f} %); segments of "
          f"{segments.channels().shape[-1]} I/Q samples cut for the classifier")


def _engine(args):
    import pickle

    import numpy as np
    import torch

    from hw.engine.layer_engine import LayerEngine
    from sim.model_jobs import model_jobs
    from sim.runner import build_dir_for, run_cocotb
    from sim.test_engine_models import ACT_DEPTH, LANE_WORDS, LANES, MODELS
    from .data.mnist import load_mnist
    from .golden import executor
    from .golden.energy import program_energy
    from .models import load_model
    from .program.file import load

    model_path, program_path = MODELS["mnist"]
    model, _ = load_model(model_path)
    program = load(program_path)
    split = load_mnist()
    x, labels = split.x_test[:args.digits], split.y_test[:args.digits]
    jobs = [j for j in model_jobs("mnist", model, program, x, LANES, ACT_DEPTH, LANE_WORDS)
            if "whole model" in j["name"]]
    build_dir = build_dir_for("layer_engine_p8_demo", args.simulator)
    build_dir.mkdir(parents=True, exist_ok=True)
    (build_dir / "jobs.pkl").write_bytes(
        pickle.dumps({"lanes": LANES, "lane_words": LANE_WORDS, "jobs": jobs}))
    log = build_dir / "demo.log"
    print(f"[demo 2/3] MNIST aTTQ model ({program_path.relative_to(ROOT)}) on the engine RTL, "
          f"P = {LANES} lanes, {args.simulator} (log: {log.relative_to(ROOT)})")
    start = time.monotonic()
    tests, failed = run_cocotb(
        LayerEngine(lanes=LANES, lane_words=LANE_WORDS, act_depth=ACT_DEPTH),
        toplevel="layer_engine", test_module="sim.engine_jobs_bench", simulator=args.simulator,
        build_dir=build_dir, extra_env={"BENCH_JOBS": str(build_dir / "jobs.pkl"),
                                         "BENCH_OUT": str(build_dir / "out.pkl")},
        log_file=log)
    if failed:
        print(f"[demo] FAILED: the engine disagreed with the golden or cycle model; see {log}")
        return False
    golden = executor.execute(program, x)
    with torch.no_grad():
        torch_classes = model(torch.as_tensor(x)).argmax(1).numpy()
    produced = pickle.loads((build_dir / "out.pkl").read_bytes())
    rtl_classes = np.stack([job[-1]["output"].reshape(-1) for job in produced]).argmax(1)
    print(f"       {len(jobs)} digits, {len(program.engine_layers)} layers each: every layer's "
          f"output equal to the golden model's, every layer's cycles to the cycle model's "
          f"({time.monotonic() - start:.0f} s, build included)")
    print(f"       labels {labels.tolist()}, engine {rtl_classes.tolist()}, "
          f"golden {golden.predictions().tolist()}, PyTorch {torch_classes.tolist()}")
    layers = program.engine_layers
    cycles = [layer["busy_cycles"] for layer in produced[0]]
    counters = {k: sum(layer["counters"][k] for layer in produced[0])
                for k in produced[0][0]["counters"]}
    print("       counters of one inference: " + ", ".join(f"{k} {v}" for k, v in counters.items()))
    print("       cycles per inference at 100 MHz: " + ", ".join(
        f"{layer.name} {c}" for layer, c in zip(layers, cycles)) +
          f"; total {sum(cycles)} ({sum(cycles) / 100:.1f} us)")
    energy = program_energy(program)
    print(f"       estimated energy (paper's Eq. 3): {energy['mult_adds']} nonzero mult-adds, "
          f"{energy['transfers']} transfers, EC_T = {energy['ec_t_j'] * 1e9:.1f} nJ per inference")
    return True


def _dual_scale(args):
    import json
    import tempfile

    from hw.dual_scale import DualScaleUnit
    from sim.runner import build_dir_for, run_cocotb

    build_dir = build_dir_for("dual_scale_unit", args.simulator)
    log = build_dir / "demo.log"
    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "summary.json"
        tests, failed = run_cocotb(
            DualScaleUnit(), toplevel="dual_scale_unit", test_module="sim.dual_scale_bench",
            simulator=args.simulator, log_file=log,
            extra_env={"BENCH_SEED": str(args.seed), "BENCH_COUNT": str(args.vectors),
                       "BENCH_SUMMARY": str(summary)})
        tally = json.loads(summary.read_text()) if summary.exists() else {}
    if failed or not tally:
        print(f"[demo] FAILED: {failed} of {tests} dual-scale benches failed; see {log}")
        return False
    print(f"[demo 3/3] dual-scale unit: {tally['results']} results bit-exact under random "
          f"back-pressure ({tally['saturated']} saturated), latency and throughput asserted "
          f"cycle by cycle")
    return True


def run(args):
    if not (ROOT / "sim").is_dir():
        print("attq-fpga demo needs the source checkout (the sim/ benches)", file=sys.stderr)
        return 1
    sys.path.insert(0, str(ROOT))
    _front_end()
    ok = _engine(args) and _dual_scale(args)
    return 0 if ok else 1

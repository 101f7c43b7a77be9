"""pytest entry: real layers of trained models on the RTL engine (Verilator and Icarus).

Every engine layer of the committed MNIST model and of the default HITS model, fed with
activations taken from the PyTorch model (on real test digits; on the HITS the front end
finds in the bundled recording), then each whole model layer after layer, against the
golden model (outputs) and the cycle model (cycles).
"""

import pickle

import pytest

from hw.engine.layer_engine import LayerEngine
from sw.mapping.boards import board_config
from testsupport.bundled import INPUTS, MODELS
from testsupport.model_jobs import model_jobs
from testsupport.runner import build_dir_for, run_cocotb, simulator_param

BOARD = board_config("arty_a7_35t")
LANES, LANE_WORDS, ACT_DEPTH = BOARD.lanes, BOARD.lane_words, BOARD.act_depth


@pytest.mark.parametrize("simulator", simulator_param())
@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_on_engine(name, simulator):
    from sw.models import load_model
    from sw.program.file import load

    model_path, program_path = MODELS[name]
    model, _ = load_model(model_path)
    program = load(program_path)
    jobs = model_jobs(name, model, program, INPUTS[name](), LANES, ACT_DEPTH, LANE_WORDS)
    build_dir = build_dir_for("layer_engine_p8", simulator)
    build_dir.mkdir(parents=True, exist_ok=True)
    jobs_file = build_dir / f"{name}-jobs.pkl"
    jobs_file.write_bytes(pickle.dumps({"lanes": LANES, "lane_words": LANE_WORDS, "jobs": jobs}))
    tests, failed = run_cocotb(
        LayerEngine(lanes=LANES, lane_words=LANE_WORDS, act_depth=ACT_DEPTH),
        toplevel="layer_engine", test_module="sim.engine_jobs_bench", simulator=simulator,
        build_dir=build_dir, extra_env={"BENCH_JOBS": str(jobs_file)})
    assert (tests, failed) == (1, 0)

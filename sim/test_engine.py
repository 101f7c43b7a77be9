"""pytest entry: the layer engine's cocotb bench on Verilator and on Icarus, on every case
of testsupport/engine_cases.py and random layers."""

import pickle

import pytest

from hw.engine.layer_engine import LayerEngine
from testsupport.engine_cases import case_jobs
from testsupport.runner import build_dir_for, run_cocotb, simulator_param

LANES = 4
LANE_WORDS = 256


@pytest.mark.parametrize("simulator", simulator_param())
@pytest.mark.parametrize("width", [1, 4])
def test_layer_engine(width, simulator):
    build_dir = build_dir_for(f"layer_engine_v{width}", simulator)
    build_dir.mkdir(parents=True, exist_ok=True)
    jobs_file = build_dir / "cases.pkl"
    jobs_file.write_bytes(pickle.dumps({"lanes": LANES, "width": width,
                                        "lane_words": LANE_WORDS,
                                        "jobs": case_jobs(LANES, width, LANE_WORDS)}))
    tests, failed = run_cocotb(
        LayerEngine(lanes=LANES, width=width, lane_words=LANE_WORDS, act_depth=4096),
        toplevel="layer_engine", test_module="sim.engine_jobs_bench", simulator=simulator,
        build_dir=build_dir, extra_env={"BENCH_JOBS": str(jobs_file)})
    assert (tests, failed) == (1, 0)

"""pytest entry: the layer engine's cocotb bench on Verilator and on Icarus."""

import pytest

from hw.engine.layer_engine import LayerEngine
from sim.runner import run_cocotb, simulator_param

LANES = 4
LANE_WORDS = 256


@pytest.mark.parametrize("simulator", simulator_param())
def test_layer_engine(simulator):
    tests, failed = run_cocotb(
        LayerEngine(lanes=LANES, lane_words=LANE_WORDS, act_depth=4096),
        toplevel="layer_engine", test_module="sim.engine_bench", simulator=simulator,
        extra_env={"BENCH_LANES": str(LANES), "BENCH_LANE_WORDS": str(LANE_WORDS)})
    assert (tests, failed) == (2, 0)

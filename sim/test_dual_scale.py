"""pytest entry: the dual-scale unit's cocotb bench on Verilator and on Icarus."""

import pytest

from hw.dual_scale import DualScaleUnit
from testsupport.runner import run_cocotb, simulator_param


@pytest.mark.parametrize("simulator", simulator_param())
def test_dual_scale_unit(simulator):
    tests, failed = run_cocotb(DualScaleUnit(), toplevel="dual_scale_unit",
                               test_module="sim.dual_scale_bench", simulator=simulator,
                               extra_env={"BENCH_SEED": "11", "BENCH_COUNT": "1500"})
    assert (tests, failed) == (2, 0)

"""pytest entry: the link's cocotb bench (sim/link_bench.py) on Verilator and on Icarus."""

import json

import pytest

from hw.link import LinkEcho
from testsupport.runner import run_cocotb, simulator_param

DIVISOR = 4
FRAMES = {"verilator": 1200, "icarus": 250}


@pytest.mark.parametrize("simulator", simulator_param())
def test_link_bench(simulator, tmp_path):
    summary = tmp_path / "summary.json"
    tests, failed = run_cocotb(
        LinkEcho(DIVISOR), toplevel="link_echo", test_module="sim.link_bench",
        simulator=simulator,
        extra_env={"BENCH_SEED": "5", "BENCH_FRAMES": str(FRAMES[simulator]),
                   "BENCH_DIVISOR": str(DIVISOR), "BENCH_SUMMARY": str(summary)})
    assert (tests, failed) == (2, 0)
    tally = json.loads(summary.read_text())["random_frames"]
    assert tally["frames"] == FRAMES[simulator]
    print(f"{simulator}: {tally['frames']} random frames, {tally}")

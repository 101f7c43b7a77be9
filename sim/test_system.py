"""pytest entry: the whole device's cocotb bench (sim/system_bench.py) through its UART
pins, on Verilator and on Icarus."""

import dataclasses
import json

import pytest

from sw.mapping.boards import board_config
from hw.board.system import System
from testsupport.runner import run_cocotb, simulator_param

DIVISOR = 4
FRAMES = {"verilator": 5000, "icarus": 400}
#: The virtual board's device with small memories, so the simulators build and run fast.
CONFIG = board_config("virtual").replace(name="bench", lanes=3, lane_words=256,
                                          act_depth=1024, config_depth=128)


@pytest.mark.parametrize("simulator", simulator_param())
def test_system_bench(simulator, tmp_path):
    summary = tmp_path / "summary.json"
    fields = {k: int(v) if k == "board" else v for k, v in
              dataclasses.asdict(CONFIG).items()}
    fields["caps"] = CONFIG.caps
    tests, failed = run_cocotb(
        System(CONFIG, divisor=DIVISOR), toplevel="system", test_module="sim.system_bench",
        simulator=simulator,
        extra_env={"BENCH_SEED": "11", "BENCH_FRAMES": str(FRAMES[simulator]),
                   "BENCH_DIVISOR": str(DIVISOR), "BENCH_CONFIG": json.dumps(fields),
                   "BENCH_SUMMARY": str(summary)})
    assert (tests, failed) == (2, 0)
    tally = json.loads(summary.read_text())["random_frames"]
    assert tally["frames"] == FRAMES[simulator]
    print(f"{simulator}: {tally}")

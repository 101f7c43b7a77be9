"""pytest entry: the whole device's cocotb bench (sim/system_bench.py) through its UART
pins, on Verilator and on Icarus."""

import dataclasses
import json

import pytest

from sw.mapping.boards import board_config
from hw.board.system import System
from testsupport.runner import build_dir_for, run_cocotb, simulator_param

DIVISOR = 4
FRAMES = {"verilator": 600, "icarus": 100}
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


#: The boards' divisor (100 MHz, 4 Mbaud): the link bench's host is 2 % off it.
LINK_DIVISOR = 25


@pytest.mark.parametrize("simulator", simulator_param())
def test_system_link_conditions(simulator, tmp_path):
    """sim/system_link_bench.py: a host 2 % fast and slow, gaps and glitches between
    bytes, a frame cut for longer than the time-out and one paused just under it."""
    summary = tmp_path / "summary.json"
    fields = {k: int(v) if k == "board" else v for k, v in
              dataclasses.asdict(CONFIG).items()}
    fields["caps"] = CONFIG.caps
    tests, failed = run_cocotb(
        System(CONFIG, divisor=LINK_DIVISOR), toplevel="system",
        test_module="sim.system_link_bench", simulator=simulator,
        build_dir=build_dir_for("system_link", simulator),
        extra_env={"BENCH_SEED": "13", "BENCH_DIVISOR": str(LINK_DIVISOR),
                   "BENCH_CONFIG": json.dumps(fields), "BENCH_SUMMARY": str(summary)})
    assert (tests, failed) == (3, 0)
    tally = json.loads(summary.read_text())
    assert set(tally) == {"baud_mismatch", "byte_gaps", "frame_timeout"}
    print(f"{simulator}: {tally}")

"""pytest entry: row- and column-band tiling on the RTL engine, on Verilator and on Icarus.

A 4-lane engine with a 512-byte activation memory runs layers whose maps are two to four
times that, band by band through its ports (sim/engine_jobs_bench.py: write the band's
input rows or columns, start its register entry, read back what it keeps). The assembled output
must equal the plain-loop reference on the whole map, and every band's busy cycles,
weight words and stall cycles the cycle model's.
"""

import pickle

import numpy as np
import pytest

from hw.engine.layer_engine import LayerEngine
from testsupport.engine_cases import random_layer
from testsupport.model_jobs import cycle_model
from testsupport.runner import build_dir_for, run_cocotb, simulator_param
from sw.golden.reference import reference_layer
from sw.mapping.tiling import plan_bands
from sw.spec import ActMode, LayerMode

LANES = 4
WIDTH = 4
LANE_WORDS = 256
ACT_DEPTH = 512


def tiling_jobs(lanes=LANES, width=WIDTH, lane_words=LANE_WORDS, act_depth=ACT_DEPTH):
    """A tiled ternary conv (with random back-pressure on one band's epilogue), a tiled
    strided dense conv whose assembled output the host writes back for a whole layer after
    it, and a conv1d in column bands along its sequence."""
    jobs = []
    rng = np.random.default_rng(61)
    conv, x = random_layer(rng, LayerMode.TERNARY, 4, (24, 16), 8, (3, 3), (1, 1), (1, 1),
                           (2, 2), 0.5, ActMode.LEAKY)
    tiled = plan_bands(conv, act_depth, name="conv 4x24x16")
    stall = [None] * len(tiled.bands)
    stall[1] = (rng.random(20000) < 0.4).tolist()
    jobs.append({"name": "tiled ternary conv", "layers": [tiled], "input": x,
                 "expected": [reference_layer(conv, x).astype(np.int64)], "stall": stall,
                 "model": cycle_model([tiled], lanes, width, lane_words, stall)})

    rng = np.random.default_rng(62)
    strided, x = random_layer(rng, LayerMode.DENSE, 2, (30, 16), 6, (3, 3), (2, 1), (2, 1),
                              (2, 2), 0.2, ActMode.LEAKY)
    after, _ = random_layer(rng, LayerMode.TERNARY, 6, (8, 8), 4, (3, 3), (1, 1), (0, 0),
                            (2, 2), 0.6, ActMode.NONE)
    first = reference_layer(strided, x).astype(np.int64)
    layers = [plan_bands(strided, act_depth, name="strided dense conv"), after]
    jobs.append({"name": "tiled strided dense conv, then a whole layer", "layers": layers,
                 "input": x,
                 "expected": [first, reference_layer(after, first).astype(np.int64)],
                 "model": cycle_model(layers, lanes, width, lane_words)})

    rng = np.random.default_rng(63)
    conv1d, x = random_layer(rng, LayerMode.TERNARY, 8, (1, 96), 8, (1, 5), (1, 1), (0, 2),
                             (1, 2), 0.5, ActMode.LEAKY)
    tiled = plan_bands(conv1d, act_depth, name="conv1d 8x96")
    jobs.append({"name": "conv1d in column bands", "layers": [tiled], "input": x,
                 "expected": [reference_layer(conv1d, x).astype(np.int64)],
                 "model": cycle_model([tiled], lanes, width, lane_words)})
    for job in jobs:
        tiled = job["layers"][0]
        assert len(tiled.bands) > 2 and np.prod(tiled.in_shape) > act_depth
    return jobs


@pytest.mark.parametrize("simulator", simulator_param())
def test_tiled_layers_on_the_engine(simulator):
    build_dir = build_dir_for("layer_engine_tiling", simulator)
    build_dir.mkdir(parents=True, exist_ok=True)
    jobs_file = build_dir / "tiling.pkl"
    jobs_file.write_bytes(pickle.dumps({"lanes": LANES, "width": WIDTH,
                                        "lane_words": LANE_WORDS, "jobs": tiling_jobs()}))
    tests, failed = run_cocotb(
        LayerEngine(lanes=LANES, width=WIDTH, lane_words=LANE_WORDS, act_depth=ACT_DEPTH),
        toplevel="layer_engine", test_module="sim.engine_jobs_bench", simulator=simulator,
        build_dir=build_dir, extra_env={"BENCH_JOBS": str(jobs_file)})
    assert (tests, failed) == (1, 0)

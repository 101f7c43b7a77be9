"""pytest entry: the layer engine's cocotb bench on every case of
testsupport/engine_cases.py and random layers: on Verilator on every engine a build
produces, on Icarus (the second opinion, several times slower) on the Arty A7-35T's. The
simulator builds are sim/test_engine_models.py's."""

import pickle

import pytest

from hw.engine.layer_engine import LayerEngine
from testsupport.bundled import built_engines, engine_build_dir
from testsupport.engine_cases import case_jobs
from testsupport.runner import run_cocotb, simulator_param

ENGINES = built_engines()
#: The engines each simulator runs the cases on.
RUNS = {"verilator": sorted(ENGINES),
        "icarus": [e for e in sorted(ENGINES) if "arty_a7_35t" in ENGINES[e]]}


@pytest.mark.parametrize("engine, simulator", [
    pytest.param(engine, p.values[0], marks=p.marks, id=f"{'+'.join(ENGINES[engine])}-{p.id}")
    for p in simulator_param() for engine in RUNS[p.values[0]]])
def test_layer_engine(engine, simulator):
    lanes, width, lane_words, act_depth = engine
    build_dir = engine_build_dir(engine, simulator)
    build_dir.mkdir(parents=True, exist_ok=True)
    jobs_file = build_dir / "cases.pkl"
    jobs_file.write_bytes(pickle.dumps({"lanes": lanes, "width": width,
                                        "lane_words": lane_words,
                                        "jobs": case_jobs(lanes, width, lane_words)}))
    tests, failed = run_cocotb(
        LayerEngine(lanes=lanes, width=width, lane_words=lane_words, act_depth=act_depth),
        toplevel="layer_engine", test_module="sim.engine_jobs_bench", simulator=simulator,
        build_dir=build_dir, extra_env={"BENCH_JOBS": str(jobs_file)})
    assert (tests, failed) == (1, 0)

"""pytest entry: real layers of trained models on the RTL engine (Verilator; Icarus too for
the MNIST model, chained), every model on one build of each engine.

On the engine of every board build (the Arty A7-35T's, which the ULX3S and the virtual
board share, the A7-100T's 16 lanes, and the ULX3S at V = 1 that ``hw.build --engine 8x1``
builds): every engine layer of the committed MNIST model,
of the default HITS model and of the ESR model, fed with activations taken from the PyTorch
model (on real test digits; on the HITS the front end finds in the bundled recording; on
rows of the synthetic ESR stand-in), then each whole model layer after layer, against the
golden model (outputs) and the cycle model (cycles). Icarus runs the MNIST model layer
after layer only: every layer's output and cycles are checked there too.
"""

import pickle

import pytest

from hw.engine.layer_engine import LayerEngine
from testsupport.bundled import INPUTS, MODELS, built_engines, engine_build_dir
from testsupport.model_jobs import model_jobs
from testsupport.runner import run_cocotb, simulator_param

#: Every engine a build produces: lanes, width, weight words a lane, activation bytes, each
#: with the boards that build it.
ENGINES = built_engines()


#: The models each simulator runs. Verilator runs every model; Icarus, the second opinion, the
#: MNIST model (the HITS model's 37,000 cycles a run take Icarus minutes on every engine, the
#: whole suite's budget).
RUNS = {"verilator": sorted(MODELS), "icarus": ["mnist"]}
#: Inputs a model: the bundled default (two digits, one HITS, one ESR row) on Verilator, one
#: digit on Icarus.
SAMPLES = {"verilator": {}, "icarus": {"samples": 1}}
#: Whether a simulator runs each layer alone as well as the whole model.
LAYERS_ALONE = {"verilator": True, "icarus": False}


@pytest.mark.parametrize("simulator", simulator_param())
@pytest.mark.parametrize("engine", sorted(ENGINES), ids=lambda e: "+".join(ENGINES[e]))
def test_models_on_engine(engine, simulator):
    """One simulator build an engine: every model's jobs run in one simulation, the engine
    reloaded job by job as the host reloads it."""
    from sw.models import load_model
    from sw.program.file import load

    lanes, width, lane_words, act_depth = engine
    jobs = []
    for name in RUNS[simulator]:
        model_path, program_path = MODELS[name]
        model, _ = load_model(model_path)
        jobs += [job for job in model_jobs(name, model, load(program_path),
                                           INPUTS[name](**SAMPLES[simulator]),
                                           lanes, width, act_depth, lane_words)
                 if LAYERS_ALONE[simulator] or "whole model" in job["name"]]
    assert {job["name"].split()[0] for job in jobs} == set(RUNS[simulator])
    build_dir = engine_build_dir(engine, simulator)
    build_dir.mkdir(parents=True, exist_ok=True)
    jobs_file = build_dir / "jobs.pkl"
    jobs_file.write_bytes(pickle.dumps({"lanes": lanes, "width": width,
                                        "lane_words": lane_words, "jobs": jobs}))
    tests, failed = run_cocotb(
        LayerEngine(lanes=lanes, width=width, lane_words=lane_words, act_depth=act_depth),
        toplevel="layer_engine", test_module="sim.engine_jobs_bench", simulator=simulator,
        build_dir=build_dir, extra_env={"BENCH_JOBS": str(jobs_file)})
    assert (tests, failed) == (1, 0)

"""pytest entry: real layers of trained models on the RTL engine (Verilator; Icarus too for
the MNIST model), every model on one build of each engine.

On the engine of every board build (the Arty A7-35T's, which the ULX3S and the virtual
board share, the A7-100T's 16 lanes, and the ULX3S at V = 1 that ``hw.build --engine 8x1``
builds): every engine layer of the committed MNIST model,
of the default HITS model and of the ESR model, fed with activations taken from the PyTorch
model (on real test digits; on the HITS the front end finds in the bundled recording; on
rows of the synthetic ESR stand-in), then each whole model layer after layer, against the
golden model (outputs) and the cycle model (cycles).
"""

import pickle

import pytest

from hw.engine.layer_engine import LayerEngine
from testsupport.bundled import INPUTS, MODELS, built_boards
from testsupport.model_jobs import model_jobs
from testsupport.runner import build_dir_for, run_cocotb, simulator_param

#: Every engine a build produces: lanes, width, weight words a lane, activation bytes, each
#: with the boards that build it.
ENGINES = {}
for _name, _board in built_boards().items():
    ENGINES.setdefault((_board.lanes, _board.width, _board.lane_words, _board.act_depth),
                       []).append(_name)
#: And the shape ``python -m hw.build --board ulx3s --engine 8x1`` builds to set V = 1
#: beside the board's own (docs/build.md): its activation banks are three blocks each.
_ulx3s = built_boards()["ulx3s_85f"]
ENGINES.setdefault((8, 1, _ulx3s.lane_words, _ulx3s.act_depth), []).append("ulx3s_85f_8x1")


#: The models each simulator runs. Verilator runs every model; Icarus, the second opinion, the
#: MNIST model (the HITS model's 37,000 cycles a run take Icarus minutes on every engine, the
#: whole suite's budget).
RUNS = {"verilator": sorted(MODELS), "icarus": ["mnist"]}
#: Inputs a model: the bundled default (two digits, one HITS, one ESR row) on Verilator, one
#: digit on Icarus.
SAMPLES = {"verilator": {}, "icarus": {"samples": 1}}


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
        jobs += model_jobs(name, model, load(program_path), INPUTS[name](**SAMPLES[simulator]),
                           lanes, width, act_depth, lane_words)
    assert {job["name"].split()[0] for job in jobs} == set(RUNS[simulator])
    build_dir = build_dir_for(f"layer_engine_p{lanes}_v{width}_w{lane_words}_a{act_depth}",
                              simulator)
    build_dir.mkdir(parents=True, exist_ok=True)
    jobs_file = build_dir / "jobs.pkl"
    jobs_file.write_bytes(pickle.dumps({"lanes": lanes, "width": width,
                                        "lane_words": lane_words, "jobs": jobs}))
    tests, failed = run_cocotb(
        LayerEngine(lanes=lanes, width=width, lane_words=lane_words, act_depth=act_depth),
        toplevel="layer_engine", test_module="sim.engine_jobs_bench", simulator=simulator,
        build_dir=build_dir, extra_env={"BENCH_JOBS": str(jobs_file)})
    assert (tests, failed) == (1, 0)

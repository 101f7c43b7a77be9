"""Does a program fit a board's engine? ``sw.mapping.plan.fit_problems`` layer by layer, and
``attq-fpga compile --board`` refusing what does not fit, with nothing written."""

import math

import numpy as np
import pytest

from sw.cli import main
from sw.mapping.boards import BOARDS, board_variant
from sw.mapping.plan import DevicePlan, fit_problems
from sw.program.epilogue import DualScaleParams
from sw.program.file import load
from sw.program.ir import EngineLayer, HostOp, Program
from sw.spec import ActMode
from testsupport.bundled import MODELS

ARTY_35T = BOARDS["arty_a7_35t"]


def _lower_bound(op, lanes):
    """Words a lane needs at least: one word a non-zero weight, spread evenly."""
    return math.ceil(np.count_nonzero(op.weights()) / lanes)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_committed_programs_fit_every_board(name):
    program = load(MODELS[name][1])
    for board in BOARDS.values():
        assert fit_problems(program, board.hello()) == [], board.name


def test_each_layer_too_big_for_the_weight_memory_is_named_with_both_amounts():
    program = load(MODELS["mnist"][1])
    problems = dict(fit_problems(program, ARTY_35T.replace(lane_words=1).hello()))
    assert set(problems) == {op.name for op in program.engine_layers}
    for op in program.engine_layers:
        text = problems[op.name]
        need = int(text.split("a lane needs at least ")[1].split()[0])
        assert need >= _lower_bound(op, ARTY_35T.lanes)
        assert text.startswith("weight memory:")
        assert f"the device has 1 a lane ({need - 1} too many)" in text


def test_layers_that_fit_alone_but_not_together_are_reported_for_the_whole_program():
    program = load(MODELS["mnist"][1])
    layers = program.engine_layers
    bounds = [_lower_bound(op, ARTY_35T.lanes) for op in layers]
    # Every layer alone needs under 600 words a lane (fc1: 3,958 int8 weights on 8 lanes);
    # all four cannot share 600, their lower bounds already adding up to more.
    assert max(bounds) < 600 < sum(bounds)
    problems = fit_problems(program, ARTY_35T.replace(lane_words=600).hello())
    assert len(problems) == 1 and problems[0][0] is None
    text = problems[0][1]
    assert text.startswith("weight memory: a lane needs at least ")
    assert "the device has 600 a lane" in text
    listed = text.split("words a lane, layer by layer: ")[1].rstrip(")").split(", ")
    assert [item.split()[0] for item in listed] == [op.name for op in layers]
    need = [int(item.split()[1]) for item in listed]
    assert all(n >= b for n, b in zip(need, bounds)) and max(need) <= 600
    # Given the words the report says it needs, the device plan lays it out.
    DevicePlan.build(program, ARTY_35T.replace(lane_words=sum(need)).hello())


def _one_layer_program(c_out):
    rng = np.random.default_rng(0)
    epilogue = DualScaleParams(np.full(c_out, 500), np.full(c_out, -500), np.zeros(c_out),
                               np.full(c_out, 10), ActMode.NONE, 1 << 12)
    layer = EngineLayer.from_weights("wide", rng.choice([-1, 0, 1], size=(c_out, 4, 1, 1)),
                                     in_shape=(4, 3, 3), mode="ternary", epilogue=epilogue)
    return Program(input_shape=(4, 3, 3), ops=[
        HostOp("quantize", {"scale": 1.0, "map_shape": [4, 3, 3], "pad": [0, 0]}), layer])


def test_a_field_past_its_register_is_named_with_its_range():
    # 256 output channels is the widest the engine's C_out field holds (sw.spec.CHAN_WIDTH).
    assert fit_problems(_one_layer_program(256), ARTY_35T.hello()) == []
    assert fit_problems(_one_layer_program(257), ARTY_35T.hello()) == [
        ("wide", "layer registers: C_out = 257 is out of range: allowed [1, 256]")]


def test_board_and_variant_as_hw_build_names_them():
    assert board_variant("arty_a7") is BOARDS["arty_a7_35t"]
    assert board_variant("arty_a7", "100T") is BOARDS["arty_a7_100t"]
    assert board_variant("ulx3s") is BOARDS["ulx3s_85f"]
    assert board_variant("virtual") is BOARDS["virtual"]


@pytest.fixture(scope="module")
def paper_esr_model(tmp_path_factory):
    """The paper's ESR 2D CNN (Table 1: 64 filters, 512 channels in its last
    convolution), quantized and saved untrained, and a synthetic ESR CSV to calibrate on."""
    import torch

    from sw.data.esr_synthetic import write_synthetic_esr
    from sw.models import build_preset, save_model
    from sw.models.registry import preset_transform
    from sw.quant import QuantConfig, quantize_model

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("esr")
    write_synthetic_esr(folder / "esr.csv", n_rows=60, seed=0)
    model = build_preset("esr_tfr_cnn")
    quant = QuantConfig(method="attq")
    quantize_model(model, quant)
    save_model(folder / "esr.pt", model.eval(), arch="tfr_cnn", preset="esr_tfr_cnn",
               quant=quant, data=dict(dataset="esr", classes=["other", "seizure"]),
               input_transform=preset_transform("esr_tfr_cnn"))
    return folder


def test_compile_refuses_a_model_the_board_cannot_hold(paper_esr_model, capsys):
    folder = paper_esr_model
    out = folder / "esr.attq"
    assert main(["compile", str(folder / "esr.pt"), "-o", str(out), "--data",
                 str(folder / "esr.csv"), "--calibration-samples", "8",
                 "--board", "arty_a7", "--variant", "35t"]) == 2
    err = capsys.readouterr().err
    assert "does not fit the engine of arty_a7_35t (P = 8 lanes" in err
    assert "nothing written" in err
    assert "layer 'conv4': layer registers: C_out = 512 is out of range: allowed [1, 256]" in err
    # conv3: 256 x 128 x 3 x 3 ternary weights, far more than 8 lanes of 3,072 words hold.
    assert "layer 'conv3': weight memory: a lane needs at least " in err
    assert "the device has 3072 a lane" in err
    assert not out.exists() and not list(folder.glob("*.attq*"))


def test_compile_refuses_an_unknown_variant_before_compiling(tmp_path, capsys):
    out = tmp_path / "x.attq"
    assert main(["compile", str(MODELS["mnist"][0]), "-o", str(out), "--board", "arty_a7",
                 "--variant", "50t"]) == 2
    assert "--variant: arty_a7 has no variant '50t'; expected one of 35t, 100t" in \
        capsys.readouterr().err
    assert not out.exists()

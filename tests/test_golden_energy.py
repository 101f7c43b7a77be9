"""EC_T (Eq. 3) of a compiled program: by hand, and against sw.metrics on the PyTorch model."""

import numpy as np
import pytest
import torch

from sw import metrics
from sw.compiler.compiler import compile_model
from sw.program.epilogue import DualScaleParams
from sw.power.estimate import energy_gain, program_energy
from sw.program import EngineLayer, HostOp, Program


def test_hand_computed():
    # Ternary 2x1x3x3 on a 1x4x4 map: 4 positions; 7 nonzero codes; biases (B) 1 nonzero.
    w = np.zeros((2, 1, 3, 3), int)
    w[0, 0, 0, :] = 1
    w[0, 0, 2, :2] = -1
    w[1, 0, 1, 1:] = 1
    t = EngineLayer.from_weights("t", w, in_shape=(1, 4, 4), mode="ternary",
                                 epilogue=DualScaleParams(1, -1, [0, 5], 0, channels=2))
    # Dense 3 <- 8 features, 20 nonzero int8 weights, biases all zero.
    d_w = np.zeros((3, 8), int)
    d_w.flat[:20] = 7
    d = EngineLayer.from_weights("d", d_w.reshape(3, 2, 2, 2), in_shape=(2, 2, 2),
                                 mode="dense", epilogue=DualScaleParams(3, 0, 0, 1, channels=3))
    prog = Program(input_shape=(1, 4, 4), ops=[
        HostOp("quantize", dict(scale=1.0, map_shape=[1, 4, 4], pad=[0, 0])), t, d,
        HostOp("dequantize", dict(scale=1.0))])
    e = program_energy(prog)
    # Ternary: (7 + 1) * 4 mult-adds; ceil(7*2/32) + 2 + 1 transfers.
    # Dense:   20 * 1 mult-adds;     ceil(20*8/32) + 3 transfers.
    assert e["mult_adds"] == 32 + 20
    assert e["transfers"] == (1 + 2 + 1) + (5 + 3)
    assert e["ec_t_j"] == pytest.approx(52 * 3.7e-12 + 12 * 1e-9)
    floor = program_energy(prog, rounding="floor")
    assert floor["transfers"] == (0 + 2 + 1) + (5 + 3)


def test_all_ternary_program_matches_pytorch_count():
    """With every layer ternary, the program's Eq. 3 terms are sw.metrics' on the model."""
    from sw.models import build_preset
    from sw.quant import QuantConfig, quantize_model

    torch.manual_seed(0)
    fp = build_preset("mnist_cnn").eval()
    q = quantize_model(build_preset("mnist_cnn"), QuantConfig(
        method="attq", layers=["conv1", "conv2", "fc1", "fc2"])).eval()
    x = np.random.default_rng(0).random((64, 1, 20, 20)).astype(np.float32)
    prog = compile_model(q, x)
    example = torch.from_numpy(x[:1])
    e = program_energy(prog, rounding="floor")
    assert e["mult_adds"] == metrics.count_mult_adds(q, example)
    assert e["transfers"] == metrics.memory_transfers(q, rounding="floor")
    assert e["ec_t_j"] == pytest.approx(metrics.energy(q, example, rounding="floor"))
    g = energy_gain(prog, fp, example, rounding="floor")
    assert g["ec_g_t"] == pytest.approx(metrics.ec_gain(fp, q, example, rounding="floor"))
    assert 0 < g["ec_g_t"] < 1

"""Small networks the tests and benches share: an engine program of three layers, and a
quantized 1D CNN-transformer with inputs it responds to."""

import numpy as np

from sw.program.epilogue import DualScaleParams
from sw.program.ir import EngineLayer, HostOp, Program
from sw.spec import ActMode

__all__ = ["small_program", "small_network", "file_layers", "small_cnn_transformer",
           "signals", "randomise_norms"]


def file_layers(rng):
    """Two layers for the program-file tests, on a 2 x 5 x 5 input: a padded, pooled
    ternary conv with LeakyReLU and a sparse dense fc of 4 outputs (weights from ``rng``)."""
    w1 = rng.choice([-1, 0, 1], size=(3, 2, 3, 3))
    w2 = np.where(rng.random((4, 3, 2, 2)) < 0.5, rng.integers(-127, 128, (4, 3, 2, 2)), 0)
    l1 = EngineLayer.from_weights(
        "conv", w1, in_shape=(2, 5, 5), pad=(1, 1), mode="ternary", pool=(2, 2),
        epilogue=DualScaleParams([500, 600, 700], [-400, -500, -650], [10, -20, 30],
                                 [9, 9, 10], ActMode.LEAKY, 655), in_scale=0.02,
        out_scale=0.1)
    l2 = EngineLayer.from_weights(
        "fc", w2, in_shape=(3, 2, 2), mode="dense",
        epilogue=DualScaleParams(rng.integers(50, 90, 4), 0, [0, 1, -1, 7], 11),
        in_scale=0.1, out_scale=0.25)
    return l1, l2


def small_program(rng):
    def params(c, act):
        return DualScaleParams(rng.integers(200, 900, c), rng.integers(-900, -200, c),
                               rng.integers(-2000, 2000, c), rng.integers(10, 12, c), act,
                               1 << 12)

    def ternary(shape, sparsity):
        return rng.choice([-1, 0, 1], size=shape, p=[(1 - sparsity) / 2, sparsity, (1 - sparsity) / 2])

    layers = [
        EngineLayer.from_weights("conv1", rng.integers(-60, 60, (4, 1, 3, 3)), in_shape=(1, 8, 10),
                                 pad=(1, 1), pool=(2, 2), out_pad=(1, 1), mode="dense",
                                 epilogue=params(4, ActMode.LEAKY)),
        EngineLayer.from_weights("conv2", ternary((6, 4, 3, 3), 0.7), in_shape=(4, 4, 5),
                                 pad=(1, 1), pool=(2, 2), mode="ternary",
                                 epilogue=params(6, ActMode.LEAKY)),
        EngineLayer.from_weights("fc", rng.integers(-100, 100, (3, 6, 2, 2)), in_shape=(6, 2, 2),
                                 mode="dense", epilogue=params(3, ActMode.NONE)),
    ]
    return layers


def small_network(rng):
    """``(program, layers)``: :func:`small_program`'s layers after the quantize host op
    (unit scale, so int8 inputs go in as they are) that pads the input for conv1."""
    layers = small_program(rng)
    program = Program(input_shape=(1, 8, 10), ops=[
        HostOp("quantize", {"scale": 1.0, "map_shape": [1, 8, 10], "pad": [1, 1]}), *layers])
    return program, layers


def randomise_norms(module, seed):
    import torch
    from torch import nn

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.copy_(1 + 0.5 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.3 * torch.randn(m.bias.shape, generator=g))


def small_cnn_transformer(seed=0):
    import torch

    from sw.models.cnn_transformer import CNNTransformer
    from sw.quant import QuantConfig, quantize_model

    torch.manual_seed(seed)
    model = CNNTransformer(in_channels=1, n_samples=48, n_classes=3, d_model=16, n_heads=2,
                           d_hid=8, n_layers=2, dropout=0.1, projection=4, n_conv_layers=2,
                           conv_channels=8)
    with torch.no_grad():
        model.cls_token.normal_(0, 0.5)
    randomise_norms(model, seed + 1)
    quantize_model(model, QuantConfig(method="attq", t_min=-1.0, t_max=0.5))
    model.eval()
    # Centre the logits on the inputs' distribution so that every class gets predicted
    # (random weights otherwise favour one class for all inputs).
    with torch.no_grad():
        logits = model(torch.from_numpy(signals(512, seed + 9)))
        model.head[-1].bias -= logits.mean(0)
        model.head[-1].bias /= logits.std(0)
        model.head[-1].weight /= logits.std(0)[:, None]
    return model


def signals(n, seed):
    """Noisy sinusoids whose frequency varies: inputs the conv front responds to."""
    rng = np.random.default_rng(seed)
    t = np.arange(48) / 48
    f = rng.uniform(1, 8, size=(n, 1))
    x = np.sin(2 * np.pi * f * t + rng.uniform(0, 6, (n, 1))) + 0.3 * rng.normal(size=(n, 48))
    return x[:, None, :].astype(np.float32)

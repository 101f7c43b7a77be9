"""Jobs for sim/engine_jobs_bench.py from a trained model and its compiled program.

Per layer: the layer's input taken from the PyTorch model itself (its float activations at
that layer, quantized with the program's input scale for the layer), the golden model's
output for it, and the cycle model's count. Whole model: the quantized input run through
every engine layer in turn, each layer's golden output and cycles.
"""

import numpy as np

from sw.golden import executor
from sw.mapping.cycle_model import lane_words_and_positions, layer_cycles
from sw.mapping.engine_image import EngineImage
from sw.mapping.hardware_layer import HardwareLayer, place_maps

__all__ = ["real_activations", "model_jobs", "cycle_model"]


def real_activations(model, program, x):
    """The float inputs of each engine layer in the PyTorch model, quantized as the program
    quantizes them: a list of int8 ``[B, C, H, W]`` (unpadded), one a layer."""
    import torch

    from sw.compiler.graph import extract_stages, stage_forward

    layers = program.engine_layers
    model.eval()
    with torch.no_grad():
        value = torch.as_tensor(np.asarray(x), dtype=torch.float32)
        stages, _ = extract_stages(model, value[:2])
        assert [s.name for s in stages] == [layer.name for layer in layers]
        out = []
        for stage, layer in zip(stages, layers):
            q = np.clip(np.rint(value.numpy() / layer.in_scale), -128, 127).astype(np.int64)
            out.append(q.reshape((len(q),) + layer.in_shape))
            value = stage_forward(stage, value)
    return out


def cycle_model(hw_layers, lanes, lane_words=None, stall=None):
    """The cycle model's prediction for each layer, laid out as the engine takes them
    (``stall``: one stall sequence a layer, or None)."""
    image = EngineImage.build(hw_layers, lanes, lane_words=lane_words)
    stall = stall or [None] * len(image.layers)
    return [layer_cycles(*lane_words_and_positions(entry["lanes"]), stall=s)
            for entry, s in zip(image.layers, stall)]


def _golden(layer, q):
    """Golden output of one program layer for an unpadded int8 map ``q`` (C, H, W)."""
    ph, pw = layer.pad
    y = executor.run_layer(layer, np.pad(q, ((0, 0), (ph, ph), (pw, pw)))[None])[0]
    c, h, w = layer.out_shape
    oh, ow = layer.out_pad
    return y[:, oh:oh + h, ow:ow + w].astype(np.int64)


def model_jobs(name, model, program, x, lanes, act_depth, lane_words=None):
    """Jobs for samples ``x``: each layer alone on real activations, then the whole chain."""
    layers = program.engine_layers
    acts = real_activations(model, program, x)
    jobs = []
    for k, layer in enumerate(layers):
        for b in range(len(x)):
            hw = [HardwareLayer.from_program(layer, in_base=0, out_base=int(np.prod(layer.in_shape)))]
            jobs.append({"name": f"{name} {layer.name} sample {b}", "layers": hw,
                         "input": acts[k][b], "expected": [_golden(layer, acts[k][b])],
                         "model": cycle_model(hw, lanes, lane_words)})
    placed = place_maps(layers, act_depth)
    for b in range(len(x)):
        expected, value = [], acts[0][b]
        for layer in layers:
            value = _golden(layer, value)
            expected.append(value)
        jobs.append({"name": f"{name} whole model, sample {b}", "layers": placed,
                     "input": acts[0][b], "expected": expected,
                     "model": cycle_model(placed, lanes, lane_words)})
    return jobs

"""Jobs for sim/engine_jobs_bench.py from a trained model and its compiled program.

Per layer: the layer's input taken from the PyTorch model itself (its float activations at
that layer, quantized with the program's input scale for the layer), the golden model's
output for it, and the cycle model's count. Whole model: the quantized input run through
every engine layer in turn, each layer's golden output and cycles.
"""

import numpy as np

from sw.golden import executor
from sw.mapping.counts import hardware_counts
from sw.mapping.cycle_model import lane_words_and_steps, layer_cycles
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


def cycle_model(hw_layers, lanes, width, lane_words=None, stall=None):
    """The prediction for each layer (or band), laid out as the engine of ``lanes`` lanes
    of ``width`` takes them (``stall``: one stall sequence a layer, or None): the cycle
    model's busy and stall cycles and weight words, and the counts' adds and activation
    reads (:func:`sw.mapping.counts.hardware_counts`)."""
    image = EngineImage.build(hw_layers, lanes, width=width, lane_words=lane_words)
    stall = stall or [None] * len(image.layers)
    out = []
    for entry, s in zip(image.layers, stall):
        counts = hardware_counts(entry["hw"], width)
        out.append({**layer_cycles(*lane_words_and_steps(entry["lanes"]), stall=s),
                    "adds_plus": counts.adds_plus, "adds_minus": counts.adds_minus,
                    "act_reads": counts.act_reads})
    return out


def _golden(layer, q):
    """Golden output of one program layer for an unpadded int8 map ``q`` (C, H, W)."""
    ph, pw = layer.pad
    y = executor.run_layer(layer, np.pad(q, ((0, 0), (ph, ph), (pw, pw)))[None])[0]
    c, h, w = layer.out_shape
    oh, ow = layer.out_pad
    return y[:, oh:oh + h, ow:ow + w].astype(np.int64)


def model_jobs(name, model, program, x, lanes, width, act_depth, lane_words=None):
    """Jobs for samples ``x``: each layer alone on real activations, then the whole chain."""
    layers = program.engine_layers
    acts = real_activations(model, program, x)
    jobs = []
    for k, layer in enumerate(layers):
        for b in range(len(x)):
            hw = [HardwareLayer.from_program(layer, in_base=0, out_base=int(np.prod(layer.in_shape)))]
            jobs.append({"name": f"{name} {layer.name} sample {b}", "layers": hw,
                         "input": acts[k][b], "expected": [_golden(layer, acts[k][b])],
                         "model": cycle_model(hw, lanes, width, lane_words)})
    placed = place_maps(layers, act_depth)
    for b in range(len(x)):
        expected, value = [], acts[0][b]
        for layer in layers:
            value = _golden(layer, value)
            expected.append(value)
        jobs.append({"name": f"{name} whole model, sample {b}", "layers": placed,
                     "input": acts[0][b], "expected": expected,
                     "model": cycle_model(placed, lanes, width, lane_words)})
    return jobs

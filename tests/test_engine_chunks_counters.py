"""The layer engine in amaranth.sim, on what the small cases of test_engine_layer.py do not
reach (found by scripts/mutate_hw.py): a channel split into more chunks than 4 (the 16-lane
Arty A7-100T splits a linear layer's channel among up to 16 lanes), the add and read
counters, counted here from the layer itself, independently of the engine's mapping, and
the arbiter's state at the start of a layer."""

import numpy as np

from sw.golden.reference import reference_layer
from sw.mapping.cycle_model import lane_words_and_positions, layer_cycles
from sw.spec import ActMode, LayerMode
from testsupport.amaranth_engine import simulate_layer
from testsupport.engine_cases import CASES, random_layer


def run_layer(layer, x, lanes, stall=None):
    return simulate_layer(layer, x, lanes, stall=stall, act_depth=1024)


def test_linear_channel_split_into_many_chunks():
    """A single-position layer of 2 channels on 12 lanes: each channel's words are cut into
    6 chunks (the engine's per-channel chunk counter must count past 4)."""
    rng = np.random.default_rng(21)
    layer, x = random_layer(rng, LayerMode.TERNARY, 8, (3, 3), 2, (3, 3), (1, 1), (0, 0),
                            (1, 1), 0.0, ActMode.NONE, scale_bits=6)
    result, image = run_layer(layer, x, 12)
    chunks = [p["chunks"] for p in image.params[:layer.c_out]]
    assert min(chunks) == 6, chunks
    np.testing.assert_array_equal(result["y"], reference_layer(layer, x))


def _expected_counts(layer):
    """adds_plus, adds_minus and act_reads from the layer's weights and geometry: one read
    and one add per nonzero weight per position whose input pixel is inside the map."""
    _, h, w = layer.in_shape
    wts = layer.weights
    ternary = layer.mode is LayerMode.TERNARY
    plus = minus = reads = 0
    for oy in range(layer.out_h * layer.pool[0]):
        for ox in range(layer.out_w * layer.pool[1]):
            for c, ci, ky, kx in zip(*np.nonzero(wts)):
                y = oy * layer.stride[0] - layer.pad[0] + ky
                xx = ox * layer.stride[1] - layer.pad[1] + kx
                reads += int(0 <= y < h and 0 <= xx < w)
                if not ternary or wts[c, ci, ky, kx] > 0:
                    plus += 1
                else:
                    minus += 1
    return {"adds_plus": plus, "adds_minus": minus, "act_reads": reads}


def test_add_and_read_counters_dense_and_ternary_with_padding():
    """The counters that feed the energy estimate (sw.infer.energy): a dense layer counts
    every nonzero weight in adds_plus, a ternary one splits by sign, and reads that fall in
    the zero padding are skipped and not counted."""
    rng = np.random.default_rng(23)
    for mode in (LayerMode.DENSE, LayerMode.TERNARY):
        layer, x = random_layer(rng, mode, 2, (4, 5), 3, (3, 3), (1, 1), (1, 1), (2, 1),
                                0.5, ActMode.RELU)
        result, _ = run_layer(layer, x, 2)
        np.testing.assert_array_equal(result["y"], reference_layer(layer, x))
        want = _expected_counts(layer)
        got = {k: result["counters"][k] for k in want}
        assert got == want, mode
        assert want["act_reads"] < want["adds_plus"] + want["adds_minus"], "no padding read"


def test_every_layer_starts_the_arbiter_at_lane_0():
    """Under heavy back-pressure, the lane the round-robin arbiter serves first decides
    which lanes stall: the engine's stall cycles are the cycle model's, whose arbiter
    starts every layer as if lane P-1 had just been served (so lane 0 goes first)."""
    rng = np.random.default_rng(8)
    mode, c_in, hw, _, k, stride, pad, pool, _, act = CASES["dense-int8-conv"]
    sparsity, c_out = float(rng.choice([0.0, 0.5, 0.8, 0.95])), int(rng.integers(1, 9))
    layer, x = random_layer(rng, mode, c_in, hw, c_out, k, stride, pad, pool, sparsity, act)
    lanes = int(rng.integers(2, 6))
    p_stall = float(rng.choice([0.0, 0.3, 0.6, 0.9]))
    stall = (rng.random(3000) < p_stall).tolist()
    assert (sparsity, c_out, lanes, p_stall) == (0.8, 3, 2, 0.9)
    result, image = run_layer(layer, x, lanes, stall)
    np.testing.assert_array_equal(result["y"], reference_layer(layer, x))
    model = layer_cycles(*lane_words_and_positions(image.layers[0]["lanes"]), stall=stall)
    assert result["cycles"] == model["busy_cycles"]
    assert result["counters"]["lane_stall_cycles"] == model["lane_stall_cycles"]

"""The layer engine in amaranth.sim, on what the small cases of test_engine_layer.py do not
reach (found by scripts/mutate_hw.py): a channel split into more chunks than 4 (the 16-lane
Arty A7-100T splits a linear layer's channel among up to 16 lanes), the add and read
counters, counted here from the layer itself, independently of the engine's mapping, and
the arbiter's state at the start of a layer."""

import numpy as np
import pytest

from sw.golden.reference import reference_layer
from sw.mapping.cycle_model import lane_words_and_steps, layer_cycles
from sw.spec import ActMode, LayerMode
from testsupport.amaranth_engine import simulate_layer
from testsupport.engine_cases import CASES, random_layer


def run_layer(layer, x, lanes, stall=None, width=4):
    return simulate_layer(layer, x, lanes, width=width, stall=stall, act_depth=1024)


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


@pytest.mark.parametrize("seed", range(3))
def test_chunk_sums_with_the_epilogue_stalling(seed):
    """The same chunked channels with the epilogue stalling at random: chunks of one
    channel then reach the chunk sum with gaps of a cycle or more between them, where a
    bubble still holds the previous chunk's channel (only a valid item may be forwarded)."""
    rng = np.random.default_rng(21)
    layer, x = random_layer(rng, LayerMode.TERNARY, 8, (3, 3), 2, (3, 3), (1, 1), (0, 0),
                            (1, 1), 0.0, ActMode.NONE, scale_bits=6)
    stall = (np.random.default_rng(100 + seed).random(400) < 0.5).tolist()
    result, _ = run_layer(layer, x, 12, stall=stall)
    np.testing.assert_array_equal(result["y"], reference_layer(layer, x))


def _expected_counts(layer, width):
    """adds_plus, adds_minus, weight_words and act_reads from the layer's weights and
    geometry: one add per nonzero weight per output position (padding included); the
    positions of a pre-pool row taken ``width`` consecutive columns at a time (stride 1,
    windows not straddling two words; otherwise one at a time), one word per nonzero weight
    per such step (and one for each channel without weights), and one read per nonzero
    weight and step if any of its positions reads inside."""
    _, h, w = layer.in_shape
    wts = layer.weights
    ternary = layer.mode is LayerMode.TERNARY
    wide = width > 1 and layer.stride[1] == 1 and width % layer.pool[1] == 0
    cols = width if wide else 1
    plus = minus = reads = words = 0
    for oy in range(layer.out_h * layer.pool[0]):
        xs = range(layer.out_w * layer.pool[1])
        for start in range(0, len(xs), cols):
            step = xs[start:start + cols]
            for c, ci, ky, kx in zip(*np.nonzero(wts)):
                y = oy * layer.stride[0] - layer.pad[0] + ky
                inside = [0 <= ox * layer.stride[1] - layer.pad[1] + kx < w for ox in step]
                reads += int(0 <= y < h and any(inside))
                words += 1
                if not ternary or wts[c, ci, ky, kx] > 0:
                    plus += len(step)
                else:
                    minus += len(step)
            # A channel without weights is one placeholder word (w = 0): walked, no add.
            words += sum(not wts[c].any() for c in range(len(wts)))
    return {"adds_plus": plus, "adds_minus": minus, "act_reads": reads,
            "weight_words": words}


@pytest.mark.parametrize("width", [1, 4])
def test_add_and_read_counters_dense_and_ternary_with_padding(width):
    """The counters that feed the energy estimate (sw.infer.energy): a dense layer counts
    every nonzero weight in adds_plus, a ternary one splits by sign, and reads that fall in
    the zero padding are skipped and not counted; at width 4 one word and one wide read
    serve 4 positions (the 10-column rows end in a half-empty step)."""
    rng = np.random.default_rng(23)
    for mode in (LayerMode.DENSE, LayerMode.TERNARY):
        layer, x = random_layer(rng, mode, 2, (4, 10), 3, (3, 3), (1, 1), (1, 1), (2, 1),
                                0.5, ActMode.RELU)
        layer.weights[1] = 0     # its placeholder word is walked but reads nothing
        result, _ = run_layer(layer, x, 2, width=width)
        np.testing.assert_array_equal(result["y"], reference_layer(layer, x))
        want = _expected_counts(layer, width)
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
    model = layer_cycles(*lane_words_and_steps(image.layers[0]["lanes"]), stall=stall)
    assert result["cycles"] == model["busy_cycles"]
    assert result["counters"]["lane_stall_cycles"] == model["lane_stall_cycles"]


@pytest.mark.parametrize("width", [1, 4])
@pytest.mark.parametrize("channels", [1, 2, 3])
def test_pooling_of_results_that_arrive_back_to_back(width, channels):
    """Channels of one weight each on one lane: a result every cycle, so a 2 x 2 window's
    steps reach a channel's running maximum one, two or three cycles apart: what one writes
    must be what the next reads."""
    rng = np.random.default_rng(31)
    layer, x = random_layer(rng, LayerMode.TERNARY, 1, (6, 8), channels, (1, 1), (1, 1),
                            (0, 0), (2, 2), 0.0, ActMode.NONE)
    layer.weights[...] = 1
    result, _ = run_layer(layer, x, 1, width=width)
    np.testing.assert_array_equal(result["y"], reference_layer(layer, x))

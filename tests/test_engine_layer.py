"""The layer engine in amaranth.sim: outputs against a plain-loop reference, cycles and
counters against the cycle model, on small random layers of every kind."""

import numpy as np
import pytest

from sw.golden.reference import reference_layer
from sw.mapping.cycle_model import lane_words_and_steps, layer_cycles
from sw.spec import ActMode, LayerMode
from testsupport.amaranth_engine import simulate_layer
from testsupport.engine_cases import CASES, random_layer


def run_layer(layer, x, lanes, width=4, skip_zeros=True, stall=None):
    result, image = simulate_layer(layer, x, lanes, width=width, skip_zeros=skip_zeros,
                                   stall=stall)
    return result, image.layers[0]["lanes"]


@pytest.mark.parametrize("lanes,width", [(1, 1), (3, 1), (1, 4), (3, 4), (2, 2), (2, 8)])
@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_matches_reference_and_cycle_model(case, lanes, width):
    rng = np.random.default_rng(sorted(CASES).index(case) * 10 + lanes)
    layer, x = random_layer(rng, *CASES[case])
    result, program = run_layer(layer, x, lanes, width)
    np.testing.assert_array_equal(result["y"], reference_layer(layer, x))
    model = layer_cycles(*lane_words_and_steps(program))
    counters = result["counters"]
    assert counters["busy_cycles"] == model["busy_cycles"] == result["cycles"]
    assert counters["weight_words"] == model["weight_words"]
    assert counters["lane_stall_cycles"] == model["lane_stall_cycles"]
    assert counters["act_writes"] == layer.c_out * layer.out_h * layer.out_w


def test_empty_channel_and_saturation():
    rng = np.random.default_rng(5)
    layer, x = random_layer(rng, LayerMode.TERNARY, 2, (4, 4), 4, (3, 3), (1, 1), (1, 1),
                            (1, 1), 0.5, ActMode.NONE, scale_bits=15)
    layer.weights[2] = 0          # a channel with no nonzero weight
    result, program = run_layer(layer, x, 2)
    want = reference_layer(layer, x)
    np.testing.assert_array_equal(result["y"], want)
    assert (want == 127).any() and (want == -128).any(), "scales should saturate both ends"


@pytest.mark.parametrize("width", [1, 4])
def test_a_map_taller_and_wider_than_the_kernel_reach(width):
    """H = 18 and W = 36: at the top rows and left columns the window's bounds on the
    kernel offsets (``H - y0``, ``W - x0``) lie beyond any offset the word can carry, and
    the lane clamps them (the maps of the other cases are smaller than that)."""
    rng = np.random.default_rng(17)
    layer, x = random_layer(rng, LayerMode.TERNARY, 1, (18, 36), 2, (3, 3), (1, 1), (1, 1),
                            (1, 1), 0.3, ActMode.RELU, scale_bits=8)
    result, _ = run_layer(layer, x, 2, width)
    np.testing.assert_array_equal(result["y"], reference_layer(layer, x))


def test_without_zero_skipping_same_outputs_more_cycles():
    """Every weight as a word (zeros too): same outputs, cycles as the model predicts."""
    rng = np.random.default_rng(9)
    layer, x = random_layer(rng, *CASES["ternary-conv3x3-pad-pool"])
    skipped, _ = run_layer(layer, x, 2)
    walked, program = run_layer(layer, x, 2, skip_zeros=False)
    np.testing.assert_array_equal(walked["y"], skipped["y"])
    model = layer_cycles(*lane_words_and_steps(program))
    assert walked["counters"]["busy_cycles"] == model["busy_cycles"]
    # Width 4, stride 1: a word serves 4 consecutive columns of a pre-pool row.
    steps = layer.out_h * layer.pool[0] * -(-layer.out_w * layer.pool[1] // 4)
    assert walked["counters"]["weight_words"] == steps * layer.weights.size
    assert walked["counters"]["busy_cycles"] > 1.5 * skipped["counters"]["busy_cycles"]


@pytest.mark.parametrize("p_stall,width", [(0.5, 1), (0.9, 1), (0.9, 4)])
def test_back_pressure_on_the_epilogue(p_stall, width):
    """Random stalls of the shared epilogue: lanes fill their queues and wait; the outputs
    do not change and the cycles are still the model's."""
    rng = np.random.default_rng(11)
    mode, c_in, _, c_out, *rest = CASES["ternary-95-sparse"]
    layer, x = random_layer(rng, mode, c_in, (12, 16), 12, *rest)
    stall = (rng.random(20000) < p_stall).tolist()
    result, program = run_layer(layer, x, 3, width=width, stall=stall)
    np.testing.assert_array_equal(result["y"], reference_layer(layer, x))
    free = layer_cycles(*lane_words_and_steps(program))
    model = layer_cycles(*lane_words_and_steps(program), stall=stall)
    assert result["counters"]["busy_cycles"] == model["busy_cycles"] == result["cycles"]
    assert result["counters"]["lane_stall_cycles"] == model["lane_stall_cycles"]
    assert model["busy_cycles"] > free["busy_cycles"] and model["lane_stall_cycles"] > 0

"""The layer engine in amaranth.sim: outputs against a plain-loop reference, cycles and
counters against the cycle model, on small random layers of every kind."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from hw.engine.layer_engine import LayerEngine
from hw.engine.layouts import layer_config_layout
from sim.engine_cases import CASES, random_layer
from sim.engine_loader import layer_writes
from sw import spec
from sw.golden.cycle_model import lane_words_and_positions, layer_cycles
from sw.golden.hardware_layer import HardwareLayer, reference_layer
from sw.spec import ActMode, LayerMode

WRITE_PORTS = ("word_en", "chan_en", "param_en", "act_w_en")


def run_layer(layer, x, lanes, skip_zeros=True):
    dut = LayerEngine(lanes=lanes, lane_words=256, act_depth=4096)
    writes, image = layer_writes(layer, lanes, x, skip_zeros)
    program = image.layers[0]["lanes"]
    n_out = layer.c_out * layer.out_h * layer.out_w
    result = {}

    async def testbench(ctx):
        for w in writes:
            for port in WRITE_PORTS:
                ctx.set(getattr(dut, port), 0)
            for name, value in w.items():
                target = getattr(dut, name)
                ctx.set(target.as_value() if hasattr(target, "as_value") else target, value)
            await ctx.tick()
        for port in WRITE_PORTS:
            ctx.set(getattr(dut, port), 0)
        ctx.set(dut.cfg, layer_config_layout.const(layer.config()))
        ctx.set(dut.lane_cfg, dut.lane_cfg.shape().const(image.layers[0]["lane_cfg"]))
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        cycles = 0
        while ctx.get(dut.busy):
            await ctx.tick()
            cycles += 1
            assert cycles < 200000
        out = []
        for a in range(n_out):
            ctx.set(dut.act_r_addr, layer.out_base + a)
            await ctx.tick()
            out.append(ctx.get(dut.act_r_data))
        result["y"] = np.array(out, dtype=np.int64).reshape(layer.c_out, layer.out_h, layer.out_w)
        result["cycles"] = cycles
        result["counters"] = {name: ctx.get(getattr(dut.counters, name))
                              for name in spec.ENGINE_COUNTERS}

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    return result, program


@pytest.mark.parametrize("lanes", [1, 3])
@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_matches_reference_and_cycle_model(case, lanes):
    rng = np.random.default_rng(sorted(CASES).index(case) * 10 + lanes)
    layer, x = random_layer(rng, *CASES[case])
    result, program = run_layer(layer, x, lanes)
    np.testing.assert_array_equal(result["y"], reference_layer(layer, x))
    model = layer_cycles(*lane_words_and_positions(program))
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


def test_without_zero_skipping_same_outputs_more_cycles():
    """Every weight as a word (zeros too): same outputs, cycles as the model predicts."""
    rng = np.random.default_rng(9)
    layer, x = random_layer(rng, *CASES["ternary-conv3x3-pad-pool"])
    skipped, _ = run_layer(layer, x, 2)
    walked, program = run_layer(layer, x, 2, skip_zeros=False)
    np.testing.assert_array_equal(walked["y"], skipped["y"])
    model = layer_cycles(*lane_words_and_positions(program))
    assert walked["counters"]["busy_cycles"] == model["busy_cycles"]
    assert walked["counters"]["weight_words"] == layer.positions * layer.weights.size
    assert walked["counters"]["busy_cycles"] > 1.5 * skipped["counters"]["busy_cycles"]

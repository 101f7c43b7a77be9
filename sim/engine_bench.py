"""cocotb bench of the layer engine: every case of sim/engine_cases.py, run on the RTL and
compared bit-exactly with the plain-loop reference and cycle-exactly with the cycle model.

The DUT is built by sim/test_engine.py with ``BENCH_LANES`` lanes.
"""

import os

import cocotb
import numpy as np
from amaranth.lib import data
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from hw.engine.layouts import lane_config_layout, layer_config_layout
from sim.engine_cases import CASES, random_layer
from sim.engine_loader import layer_writes
from sw import spec
from sw.golden.cycle_model import lane_words_and_positions, layer_cycles
from sw.golden.hardware_layer import reference_layer

LANES = int(os.environ.get("BENCH_LANES", "4"))
LANE_WORDS = int(os.environ.get("BENCH_LANE_WORDS", "256"))
WRITE_ENABLES = ("word_en", "chan_en", "param_en", "act_w_en")


def const_int(layout, value):
    return layout.const(value).as_value().value


async def setup(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.start.value = 0
    for name in WRITE_ENABLES:
        getattr(dut, name).value = 0
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0


async def run_layer(dut, layer, x):
    writes, image = layer_writes(layer, LANES, x)
    program = image.layers[0]["lanes"]
    for w in writes:
        await FallingEdge(dut.clk)
        for name in WRITE_ENABLES:
            getattr(dut, name).value = 0
        for name, value in w.items():
            getattr(dut, name).value = value
    await FallingEdge(dut.clk)
    for name in WRITE_ENABLES:
        getattr(dut, name).value = 0
    dut.cfg.value = const_int(layer_config_layout, layer.config())
    word_bits = (LANE_WORDS - 1).bit_length()
    dut.lane_cfg.value = const_int(data.ArrayLayout(lane_config_layout(word_bits), LANES),
                                   image.layers[0]["lane_cfg"])
    dut.start.value = 1
    await FallingEdge(dut.clk)
    dut.start.value = 0
    cycles = 0
    while True:
        await ReadOnly()
        if not int(dut.busy.value):
            break
        await FallingEdge(dut.clk)
        cycles += 1
        assert cycles < 500000, "engine never finished"
    out = []
    n_out = layer.c_out * layer.out_h * layer.out_w
    for a in range(n_out + 1):
        await FallingEdge(dut.clk)
        if a:
            out.append(dut.act_r_data.value.to_signed())
        dut.act_r_addr.value = layer.out_base + a
    word = dut.counters.value.to_unsigned()
    counters = {name: (word >> (32 * k)) & 0xFFFFFFFF
                for k, name in enumerate(spec.ENGINE_COUNTERS)}
    y = np.array(out, dtype=np.int64).reshape(layer.c_out, layer.out_h, layer.out_w)
    return y, cycles, counters, program


def check(layer, x, y, cycles, counters, program, what):
    want = reference_layer(layer, x)
    assert np.array_equal(y, want), f"{what}: outputs differ from the reference"
    model = layer_cycles(*lane_words_and_positions(program))
    assert counters["busy_cycles"] == model["busy_cycles"] == cycles, (
        f"{what}: {counters['busy_cycles']} busy cycles, {cycles} seen, model {model['busy_cycles']}")
    assert counters["weight_words"] == model["weight_words"], what
    assert counters["lane_stall_cycles"] == model["lane_stall_cycles"], what
    assert counters["act_writes"] == layer.c_out * layer.out_h * layer.out_w, what


@cocotb.test()
async def every_layer_kind(dut):
    """Each named case: ternary and dense, strides, padding, pooling, 0 to 95 % sparsity."""
    await setup(dut)
    for idx, name in enumerate(sorted(CASES)):
        layer, x = random_layer(np.random.default_rng(100 + idx), *CASES[name])
        check(layer, x, *await run_layer(dut, layer, x), what=name)


@cocotb.test()
async def random_layers(dut):
    """Random geometry and sparsity, an empty channel, scales that saturate."""
    await setup(dut)
    rng = np.random.default_rng(int(os.environ.get("BENCH_SEED", "7")))
    for trial in range(int(os.environ.get("BENCH_RANDOM_LAYERS", "6"))):
        name = sorted(CASES)[trial % len(CASES)]
        mode, c_in, hw, c_out, k, stride, pad, pool, _, act = CASES[name]
        sparsity = float(rng.choice([0.0, 0.5, 0.8, 0.95]))
        c_out = int(rng.integers(1, 9))
        layer, x = random_layer(rng, mode, c_in, hw, c_out, k, stride, pad, pool, sparsity,
                                act, scale_bits=int(rng.choice([8, 15])))
        layer.weights[rng.integers(c_out)] = 0
        check(layer, x, *await run_layer(dut, layer, x), what=f"random {trial} ({name})")

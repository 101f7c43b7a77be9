"""A small program run layer after layer on the engine (amaranth.sim), its maps never
leaving the activation memory: every layer's output equals the golden executor's, and
every layer's cycles equal the cycle model's."""

import numpy as np

from hw.engine.layer_engine import LayerEngine
from sim.amaranth_engine import apply_writes, counters, read_map, run_layer, simulate
from sim.engine_loader import image_writes, input_writes, layer_registers
from sw.golden import executor
from sw.golden.cycle_model import program_cycles
from sw.golden.dual_scale import DualScaleParams
from sw.golden.engine_image import EngineImage
from sw.golden.hardware_layer import place_maps
from sw.program.ir import EngineLayer, HostOp, Program
from sw.spec import ActMode

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


def run_on_engine(image, x, lanes):
    dut = LayerEngine(lanes=lanes, lane_words=256, act_depth=1024)
    outputs, cycles = [], []

    async def testbench(ctx):
        await apply_writes(ctx, dut, image_writes(image) +
                           input_writes(image.layers[0]["hw"].in_base, x))
        for index, layer in enumerate(image.layers):
            seen = await run_layer(ctx, dut, *layer_registers(image, index))
            cycles.append((seen, counters(ctx, dut)["busy_cycles"]))
            hw = layer["hw"]
            outputs.append(await read_map(ctx, dut, hw.out_base, (hw.c_out, hw.out_h, hw.out_w)))

    simulate(dut, testbench)
    return outputs, cycles


def small_network(rng):
    """``(program, layers)``: :func:`small_program`'s layers after the quantize host op
    (unit scale, so int8 inputs go in as they are) that pads the input for conv1."""
    layers = small_program(rng)
    program = Program(input_shape=(1, 8, 10), ops=[
        HostOp("quantize", {"scale": 1.0, "map_shape": [1, 8, 10], "pad": [1, 1]}), *layers])
    return program, layers


def test_program_layer_after_layer():
    rng = np.random.default_rng(3)
    program, layers = small_network(rng)
    lanes = 3
    image = EngineImage.build(place_maps(layers, 1024), lanes, lane_words=256, act_depth=1024)
    x = rng.integers(-128, 128, (1, 8, 10))
    outputs, cycles = run_on_engine(image, x, lanes)

    value = np.pad(x, ((0, 0), (1, 1), (1, 1)))[None]
    model = program_cycles(program, lanes)
    for layer, got, (seen, counted), predicted in zip(layers, outputs, cycles, model):
        value = executor.run_layer(layer, value)
        c, h, w = layer.out_shape
        oh, ow = layer.out_pad
        np.testing.assert_array_equal(got, value[0, :, oh:oh + h, ow:ow + w], err_msg=layer.name)
        assert seen == counted == predicted["busy_cycles"], layer.name

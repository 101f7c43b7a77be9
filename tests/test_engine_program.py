"""A small program run layer after layer on the engine (amaranth.sim), its maps never
leaving the activation memory: every layer's output equals the golden executor's, and
every layer's cycles equal the cycle model's."""

import numpy as np
import pytest

from hw.engine.layer_engine import LayerEngine
from testsupport.amaranth_engine import apply_writes, counters, read_map, run_layer, simulate
from testsupport.engine_loader import image_writes, input_writes, layer_registers
from testsupport.networks import small_network
from sw.golden import executor
from sw.mapping.cycle_model import program_cycles
from sw.mapping.engine_image import EngineImage
from sw.mapping.hardware_layer import place_maps

def run_on_engine(image, x, lanes, width, block_words=512, act_block_words=2048):
    dut = LayerEngine(lanes=lanes, width=width, lane_words=256, act_depth=1024,
                      block_words=block_words, act_block_words=act_block_words)
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


# Blocks of 16 words split every lane's weights over several block RAMs (of 256 words,
# as the boards' 3,072 words are in blocks of 512), words and steps crossing blocks; and
# blocks of 32 or 8 bytes split every activation bank (of 1,024 or 256 bytes, as a
# V = 1 board's 6,144 are in blocks of 2,048), maps and host reads crossing blocks.
@pytest.mark.parametrize("width, block_words, act_block_words",
                         [(1, 512, 2048), (4, 512, 2048), (4, 16, 2048), (1, 512, 32),
                          (4, 16, 8)])
def test_program_layer_after_layer(width, block_words, act_block_words):
    rng = np.random.default_rng(3)
    program, layers = small_network(rng)
    lanes = 3
    image = EngineImage.build(place_maps(layers, 1024), lanes, width=width, lane_words=256,
                              act_depth=1024)
    x = rng.integers(-128, 128, (1, 8, 10))
    if block_words < 256:
        assert max(image.lane_words_used()) > 2 * block_words
    if act_block_words < 1024 // width:
        ends = [l["hw"].out_base + l["hw"].c_out * l["hw"].out_h * l["hw"].out_w
                for l in image.layers]
        assert max(ends) // width >= 4 * act_block_words
    outputs, cycles = run_on_engine(image, x, lanes, width, block_words, act_block_words)

    value = np.pad(x, ((0, 0), (1, 1), (1, 1)))[None]
    model = program_cycles(program, lanes, width)
    for layer, got, (seen, counted), predicted in zip(layers, outputs, cycles, model):
        value = executor.run_layer(layer, value)
        c, h, w = layer.out_shape
        oh, ow = layer.out_pad
        np.testing.assert_array_equal(got, value[0, :, oh:oh + h, ow:ow + w], err_msg=layer.name)
        assert seen == counted == predicted["busy_cycles"], layer.name

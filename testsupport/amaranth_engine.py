"""Driving a :class:`hw.engine.LayerEngine` from an ``amaranth.sim`` testbench."""

import numpy as np
from amaranth.sim import Simulator

from hw.engine.layer_engine import LayerEngine
from hw.engine.layouts import layer_config_layout
from testsupport.engine_loader import WRITE_ENABLES, layer_registers, layer_writes
from sw import spec

__all__ = ["apply_writes", "run_layer", "read_map", "counters", "simulate", "simulate_layer"]


def _port(dut, name):
    """The port of ``dut`` that the generated Verilog names ``name`` (``act_w__addr``)."""
    target = dut
    for part in name.split("__"):
        target = getattr(target, part)
    return target.as_value() if hasattr(target, "as_value") else target


async def apply_writes(ctx, dut, writes):
    """Apply each write (port name -> value) for one cycle, then drop the enables."""
    for w in writes:
        for port in WRITE_ENABLES:
            ctx.set(_port(dut, port), 0)
        for name, value in w.items():
            ctx.set(_port(dut, name), value)
        await ctx.tick()
    for port in WRITE_ENABLES:
        ctx.set(_port(dut, port), 0)


async def run_layer(ctx, dut, cfg, lane_cfg, stall=None, limit=500000):
    """Set the layer's registers, pulse ``start``; return the cycles ``busy`` stayed high.

    ``stall`` gives the ``stall`` input for each busy cycle (then low).
    """
    ctx.set(dut.cfg, layer_config_layout.const(cfg))
    ctx.set(dut.lane_cfg, dut.lane_cfg.shape().const(lane_cfg))
    ctx.set(dut.start, 1)
    await ctx.tick()
    ctx.set(dut.start, 0)
    cycles = 0
    while True:
        ctx.set(dut.stall, int(stall is not None and cycles < len(stall) and bool(stall[cycles])))
        if not ctx.get(dut.busy):
            break
        await ctx.tick()
        cycles += 1
        assert cycles < limit, "the engine never finished"
    ctx.set(dut.stall, 0)
    return cycles


async def read_map(ctx, dut, base, shape):
    """Read an int8 map of ``shape`` at ``base`` through the host read port."""
    out = []
    for a in range(int(np.prod(shape))):
        ctx.set(dut.act_r.addr, base + a)
        await ctx.tick().repeat(3)      # the banks' read, their bytes, the choice of bank
        out.append(ctx.get(dut.act_r.data))
    return np.array(out, dtype=np.int64).reshape(shape)


def counters(ctx, dut):
    return {name: ctx.get(getattr(dut.counters, name)) for name in spec.ENGINE_COUNTERS}


def simulate(dut, testbench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()


def simulate_layer(layer, x, lanes, *, width, skip_zeros=True, stall=None, lane_words=256,
                   act_depth=4096):
    """Run one hardware layer on a new engine: ``(result, image)``, ``result`` holding the
    engine's ``cycles``, ``counters`` and output map ``y``, ``image`` the engine image it
    was loaded with."""
    dut = LayerEngine(lanes=lanes, width=width, lane_words=lane_words, act_depth=act_depth)
    writes, image = layer_writes(layer, lanes, x, width=width, skip_zeros=skip_zeros)
    result = {}

    async def testbench(ctx):
        await apply_writes(ctx, dut, writes)
        result["cycles"] = await run_layer(ctx, dut, *layer_registers(image, 0), stall)
        result["counters"] = counters(ctx, dut)
        result["y"] = await read_map(ctx, dut, layer.out_base,
                                     (layer.c_out, layer.out_h, layer.out_w))

    simulate(dut, testbench)
    return result, image

"""cocotb bench: run prepared jobs (programs of engine layers) on the RTL engine.

``BENCH_OUT``, when set, names a pickle to write what the engine produced (each layer's
output map, busy cycles and counters, per job).

A job, prepared outside the simulator (sim/model_jobs.py, sim/engine_cases.py) and
pickled to ``BENCH_JOBS``, holds placed HardwareLayers, the input map, and what each layer
must give: its output (from the golden model or the plain-loop reference) and the cycle
model's busy cycles, weight words and stall cycles, and optionally a ``stall`` sequence
per layer (random back-pressure on the shared epilogue, which the cycle model is given
too). The engine runs the layers one after the other, its maps never leaving the
activation memory, and all of it is asserted.
"""

import os
import pickle

import cocotb
import numpy as np
from amaranth.lib import data
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge
from cocotb.utils import get_sim_time

from hw.engine.layouts import lane_config_layout, layer_config_layout
from sim.engine_loader import image_writes, input_writes, layer_registers
from sw import spec
from sw.golden.engine_image import EngineImage

WRITE_ENABLES = ("word_en", "chan_en", "param_en", "act_w_en")
PERIOD_NS = 10


def _const(layout, value):
    return layout.const(value).as_value().value


async def _apply(dut, writes):
    for w in writes:
        await FallingEdge(dut.clk)
        for name in WRITE_ENABLES:
            getattr(dut, name).value = 0
        for name, value in w.items():
            getattr(dut, name).value = value
    await FallingEdge(dut.clk)
    for name in WRITE_ENABLES:
        getattr(dut, name).value = 0


async def _read(dut, base, count):
    out = []
    for a in range(count + 1):
        await FallingEdge(dut.clk)
        if a:
            out.append(dut.act_r_data.value.to_signed())
        dut.act_r_addr.value = base + a
    return out


@cocotb.test()
async def jobs(dut):
    cocotb.start_soon(Clock(dut.clk, PERIOD_NS, unit="ns").start())
    dut.rst.value = 1
    dut.start.value = 0
    dut.stall.value = 0
    for name in WRITE_ENABLES:
        getattr(dut, name).value = 0
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0

    with open(os.environ["BENCH_JOBS"], "rb") as f:
        bench = pickle.load(f)
    lanes, lane_words = bench["lanes"], bench["lane_words"]
    lane_layout = data.ArrayLayout(lane_config_layout((lane_words - 1).bit_length()), lanes)
    summary, outputs = [], []
    for job in bench["jobs"]:
        outputs.append([])
        image = EngineImage.build(job["layers"], lanes, lane_words=lane_words)
        await _apply(dut, image_writes(image) + input_writes(job["layers"][0].in_base,
                                                              job["input"]))
        for index, layer in enumerate(job["layers"]):
            cfg, lane_cfg = layer_registers(image, index)
            dut.cfg.value = _const(layer_config_layout, cfg)
            dut.lane_cfg.value = _const(lane_layout, lane_cfg)
            dut.start.value = 1
            await FallingEdge(dut.clk)
            dut.start.value = 0
            stall = job.get("stall", [None] * len(job["layers"]))[index]
            if stall is None:
                began = get_sim_time("ns")
                await ReadOnly()
                while int(dut.busy.value):
                    await FallingEdge(dut.busy)
                    await ReadOnly()
                seen = round((get_sim_time("ns") - began) / PERIOD_NS)
            else:
                # Back-pressure: drive the stall input cycle by cycle.
                seen = 0
                while True:
                    dut.stall.value = int(seen < len(stall) and bool(stall[seen]))
                    await ReadOnly()
                    if not int(dut.busy.value):
                        break
                    await FallingEdge(dut.clk)
                    seen += 1
                await FallingEdge(dut.clk)
                dut.stall.value = 0
            counted = _counters(dut)["busy_cycles"]
            got = np.array(await _read(dut, layer.out_base, layer.out_size)).reshape(
                layer.c_out, layer.out_h, layer.out_w)
            outputs[-1].append({"output": got, "busy_cycles": counted,
                                "counters": _counters(dut)})
            what = f"{job['name']}, layer {index}"
            assert np.array_equal(got, job["expected"][index]), f"{what}: outputs differ from the golden model"
            model = job["model"][index]
            got_counters = outputs[-1][-1]["counters"]
            for key in ("busy_cycles", "weight_words", "lane_stall_cycles"):
                assert got_counters[key] == model[key], (
                    f"{what}: {key} {got_counters[key]}, the cycle model says {model[key]}")
            assert got_counters["act_writes"] == layer.out_size, f"{what}: act_writes"
            assert abs(seen - counted) <= 1, f"{what}: busy for {seen} cycles, counted {counted}"
            summary.append((what, counted))
    dut._log.info("jobs passed: %s", summary)
    if os.environ.get("BENCH_OUT"):
        with open(os.environ["BENCH_OUT"], "wb") as f:
            pickle.dump(outputs, f)


def _counters(dut):
    word = dut.counters.value.to_unsigned()
    return {name: (word >> (32 * k)) & 0xFFFFFFFF for k, name in enumerate(spec.ENGINE_COUNTERS)}

"""cocotb bench: run prepared jobs (programs of engine layers) on the RTL engine.

``BENCH_OUT``, when set, names a pickle to write what the engine produced (each layer's
output map, busy cycles and counters, per job).

A job, prepared outside the simulator (testsupport/model_jobs.py, testsupport/engine_cases.py) and
pickled to ``BENCH_JOBS``, holds placed HardwareLayers, the input map, and what each layer
must give: its output (from the golden model or the plain-loop reference) and the cycle
model's busy cycles, weight words and stall cycles, and optionally a ``stall`` sequence
per layer (random back-pressure on the shared epilogue, which the cycle model is given
too). The engine runs the layers one after the other, its maps never leaving the
activation memory, and all of it is asserted.

A job's layer may be a :class:`sw.mapping.tiling.TiledLayer`: the bench then does what the
host does for bands (for each band, its input rows or columns written at the band's
``in_base``, its register entry run, the output rows or columns it keeps read back) and the
map crosses the link before and after it. Cycles and stall sequences are per image entry (a
band each).
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
from testsupport.engine_loader import image_writes, input_writes, layer_registers
from sw import spec
from sw.mapping.engine_image import EngineImage

WRITE_ENABLES = ("weight_w__en", "chan_w__en", "param_w__en", "act_w__en")
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
    # The byte at an address comes three cycles after it (LayerEngine.act_r).
    for a in range(count + 3):
        await FallingEdge(dut.clk)
        if a >= 3:
            out.append(dut.act_r__data.value.to_signed())
        dut.act_r__addr.value = base + a
    return out


@cocotb.test()
async def jobs(dut):
    cocotb.start_soon(Clock(dut.clk, PERIOD_NS, unit="ns").start())
    dut.rst.value = 1
    dut.start.value = 0
    dut.stall.value = 0
    dut.act_r__en.value = 1
    for name in WRITE_ENABLES:
        getattr(dut, name).value = 0
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0

    with open(os.environ["BENCH_JOBS"], "rb") as f:
        bench = pickle.load(f)
    lanes, width, lane_words = bench["lanes"], bench["width"], bench["lane_words"]
    lane_layout = data.ArrayLayout(lane_config_layout((lane_words - 1).bit_length()), lanes)
    summary, outputs = [], []
    for job in bench["jobs"]:
        outputs.append([])
        image = EngineImage.build(job["layers"], lanes, width=width, lane_words=lane_words)
        first = job["layers"][0]
        await _apply(dut, image_writes(image) + (
            [] if _is_tiled(first) else input_writes(first.in_base, job["input"])))
        held = None     # the map the host holds when it crosses the link
        for index, layer in enumerate(job["layers"]):
            entries = image.groups[index]
            what = f"{job['name']}, layer {index}"
            if _is_tiled(layer):
                # Row bands: the host writes each band's input rows, runs the band's
                # register entry and reads back the output rows it keeps.
                source = job["input"] if index == 0 else held
                got = np.zeros(layer.out_shape, dtype=np.int64)
                bands = []
                for k, entry in enumerate(entries):
                    if layer.writes_input(k):
                        await _apply(dut, input_writes(layer.in_base, layer.band_input(k, source)))
                    seen, got_counters = await _run_entry(dut, image, entry, lane_layout,
                                                          _stall(job, entry))
                    _check_counters(f"{what}, band {k}", got_counters, job["model"][entry],
                                    layer.bands[k].out_size, seen)
                    for addr, count, where in layer.read_runs(k):
                        got[where] = np.reshape(await _read(dut, addr, count),
                                                got[where].shape)
                    bands.append(got_counters)
                    summary.append((f"{what}, band {k}", got_counters["busy_cycles"]))
                outputs[-1].append({"output": got, "bands": bands,
                                    "busy_cycles": sum(b["busy_cycles"] for b in bands)})
            else:
                if index > 0 and _is_tiled(job["layers"][index - 1]):
                    await _apply(dut, input_writes(layer.in_base, held))
                (entry,) = entries
                seen, got_counters = await _run_entry(dut, image, entry, lane_layout,
                                                      _stall(job, entry))
                got = np.array(await _read(dut, layer.out_base, layer.out_size)).reshape(
                    layer.c_out, layer.out_h, layer.out_w)
                outputs[-1].append({"output": got, "busy_cycles": got_counters["busy_cycles"],
                                    "counters": got_counters})
                _check_counters(what, got_counters, job["model"][entry], layer.out_size, seen)
                summary.append((what, got_counters["busy_cycles"]))
            assert np.array_equal(got, job["expected"][index]), f"{what}: outputs differ from the golden model"
            held = got
    dut._log.info("jobs passed: %s", summary)
    if os.environ.get("BENCH_OUT"):
        with open(os.environ["BENCH_OUT"], "wb") as f:
            pickle.dump(outputs, f)


def _is_tiled(layer):
    return getattr(layer, "bands", None) is not None


def _stall(job, entry):
    """The job's stall sequence for image entry ``entry`` (one a layer, or a band)."""
    stall = job.get("stall")
    return None if stall is None else stall[entry]


async def _run_entry(dut, image, entry, lane_layout, stall):
    """Set image entry ``entry``'s registers, pulse start, wait for the engine to finish
    (driving ``stall`` cycle by cycle when given); return ``(cycles seen, counters)``."""
    cfg, lane_cfg = layer_registers(image, entry)
    dut.cfg.value = _const(layer_config_layout, cfg)
    dut.lane_cfg.value = _const(lane_layout, lane_cfg)
    dut.start.value = 1
    await FallingEdge(dut.clk)
    dut.start.value = 0
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
    return seen, _counters(dut)


def _check_counters(what, got, model, out_size, seen):
    for key in ("busy_cycles", "weight_words", "lane_stall_cycles", "adds_plus",
                "adds_minus", "act_reads"):
        assert got[key] == model[key], (
            f"{what}: {key} {got[key]}, the cycle model and counts say {model[key]}")
    assert got["act_writes"] == out_size, f"{what}: act_writes"
    assert abs(seen - got["busy_cycles"]) <= 1, (
        f"{what}: busy for {seen} cycles, counted {got['busy_cycles']}")


def _counters(dut):
    word = dut.counters.value.to_unsigned()
    return {name: (word >> (32 * k)) & 0xFFFFFFFF for k, name in enumerate(spec.ENGINE_COUNTERS)}

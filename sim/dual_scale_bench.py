"""cocotb bench of the dual-scale unit (run through sim/test_dual_scale.py or the demo).

Every cycle the bench drives random valid and ready, and asserts the unit's ``i.ready``,
``o.valid`` and ``o.payload`` against the cycle model
(:class:`sw.mapping.cycle_model.ElasticPipeline`) and the golden integer reference
(:func:`sw.golden.dual_scale.dual_scale`). Settings come from the environment:
``BENCH_SEED``, ``BENCH_COUNT`` (random vectors after the corners), ``BENCH_SUMMARY``
(a JSON file to write the tallies to).
"""

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from testsupport.epilogue_vectors import expected, vectors
from sw import spec
from sw.mapping.cycle_model import ElasticPipeline

SEED = int(os.environ.get("BENCH_SEED", "1"))
COUNT = int(os.environ.get("BENCH_COUNT", "2000"))


async def reset(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.i__valid.value = 0
    dut.o__ready.value = 0
    dut.i__payload.value = 0
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0


async def stream(dut, vecs, in_valid_p, out_ready_p, rng, tally):
    """Drive ``vecs`` through the unit; assert every cycle; return the cycle count."""
    model = ElasticPipeline(spec.EPILOGUE_LATENCY)
    k = done = cycle = 0
    while done < len(vecs):
        await FallingEdge(dut.clk)
        in_valid = k < len(vecs) and rng.random() < in_valid_p
        out_ready = rng.random() < out_ready_p
        dut.i__valid.value = int(in_valid)
        dut.i__payload.value = spec.pack_fields(spec.EPILOGUE_FIELDS, vecs[k]) if in_valid else 0
        dut.o__ready.value = int(out_ready)
        await ReadOnly()
        want_ready, want_valid, item = model.outputs(out_ready)
        assert int(dut.i__ready.value) == want_ready, f"cycle {cycle}: i.ready != {want_ready}"
        assert int(dut.o__valid.value) == want_valid, f"cycle {cycle}: o.valid != {want_valid}"
        if want_valid:
            got = dut.o__payload.value.to_signed()
            want = expected(vecs[item])
            assert got == want, f"cycle {cycle}: vector {vecs[item]}: got {got}, want {want}"
            if out_ready:
                done += 1
                tally["results"] += 1
                tally["saturated"] += want in (spec.ACT_MIN, spec.ACT_MAX)
        tally["stall_cycles"] += int(want_valid and not out_ready)
        if in_valid and want_ready:
            k += 1
        model.step(in_valid and want_ready, k - 1, out_ready)
        cycle += 1
        assert cycle < 20 * len(vecs) + 100, "no progress: the unit hangs"
    tally["cycles"] += cycle
    return cycle


def _write_summary(tally):
    path = os.environ.get("BENCH_SUMMARY")
    if path:
        with open(path, "w") as f:
            json.dump(tally, f)


@cocotb.test()
async def random_and_corners_with_back_pressure(dut):
    """Corners and random vectors under random valid and ready, checked cycle by cycle."""
    await reset(dut)
    rng = random.Random(SEED)
    tally = {"results": 0, "saturated": 0, "stall_cycles": 0, "cycles": 0}
    vecs = vectors(SEED, COUNT)
    for in_p, out_p in ((1.0, 1.0), (0.8, 0.5), (0.3, 0.9)):
        await stream(dut, vecs, in_p, out_p, rng, tally)
    tally["vectors"] = len(vecs)
    _write_summary(tally)


@cocotb.test()
async def latency_and_throughput(dut):
    """With input always valid and output always ready: result k appears in cycle
    k + EPILOGUE_LATENCY."""
    await reset(dut)
    vecs = vectors(SEED + 1, 200)
    dut.o__ready.value = 1
    seen = []
    for cycle in range(len(vecs) + spec.EPILOGUE_LATENCY + 2):
        await FallingEdge(dut.clk)
        dut.i__valid.value = int(cycle < len(vecs))
        if cycle < len(vecs):
            dut.i__payload.value = spec.pack_fields(spec.EPILOGUE_FIELDS, vecs[cycle])
        await ReadOnly()
        if cycle < len(vecs):
            assert int(dut.i__ready.value) == 1, f"cycle {cycle}: input stalled"
        if int(dut.o__valid.value):
            seen.append((cycle, dut.o__payload.value.to_signed()))
    assert [c for c, _ in seen] == [k + spec.EPILOGUE_LATENCY for k in range(len(vecs))]
    assert [y for _, y in seen] == [expected(v) for v in vecs]

"""The dual-scale unit in amaranth.sim: values, latency, throughput, construction errors."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from hw.dual_scale import DualScaleUnit
from testsupport.epilogue_vectors import corner_vectors, expected, random_vectors
from sw import spec
from sw.mapping.cycle_model import ElasticPipeline
from testsupport.elaboratables import unused_warning_files


def run(dut, testbench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()


def drive(vecs, in_valid_p, out_ready_p, seed):
    """Push ``vecs`` with random valid/ready, checking every cycle against the cycle model."""
    dut = DualScaleUnit()
    rng = np.random.default_rng(seed)
    model = ElasticPipeline(spec.EPILOGUE_LATENCY)
    got = []

    async def testbench(ctx):
        k = 0
        cycles = 0
        while len(got) < len(vecs):
            in_valid = k < len(vecs) and rng.random() < in_valid_p
            out_ready = bool(rng.random() < out_ready_p)
            word = spec.pack_fields(spec.EPILOGUE_FIELDS, vecs[k]) if in_valid else 0
            ctx.set(dut.i.valid, in_valid)
            ctx.set(dut.i.payload.as_value(), word)
            ctx.set(dut.o.ready, out_ready)
            want_ready, want_valid, want_item = model.outputs(out_ready)
            assert ctx.get(dut.i.ready) == want_ready, f"cycle {cycles}: i.ready"
            assert ctx.get(dut.o.valid) == want_valid, f"cycle {cycles}: o.valid"
            if want_valid:
                assert ctx.get(dut.o.payload) == expected(vecs[want_item]), vecs[want_item]
                if out_ready:
                    got.append(want_item)
            model.step(in_valid and want_ready, k, out_ready)
            if in_valid and want_ready:
                k += 1
            await ctx.tick()
            cycles += 1
            assert cycles < 20 * len(vecs) + 100, "pipeline hung"

    run(dut, testbench)
    assert got == list(range(len(vecs)))


def test_corners_full_rate():
    drive(corner_vectors(), 1.0, 1.0, seed=0)


def test_random_with_back_pressure():
    drive(random_vectors(np.random.default_rng(3), 300), 0.7, 0.6, seed=4)


def test_latency_and_throughput():
    """One result a cycle while ready; the first LATENCY cycles after the first input."""
    dut = DualScaleUnit()
    vecs = random_vectors(np.random.default_rng(5), 20)
    seen = []

    async def testbench(ctx):
        ctx.set(dut.o.ready, 1)
        for cycle in range(len(vecs) + 6):
            if cycle < len(vecs):
                ctx.set(dut.i.valid, 1)
                ctx.set(dut.i.payload.as_value(), spec.pack_fields(spec.EPILOGUE_FIELDS, vecs[cycle]))
                assert ctx.get(dut.i.ready)
            else:
                ctx.set(dut.i.valid, 0)
            if ctx.get(dut.o.valid):
                seen.append((cycle, ctx.get(dut.o.payload)))
            await ctx.tick()

    run(dut, testbench)
    assert [c for c, _ in seen] == list(range(3, 3 + len(vecs)))
    assert [y for _, y in seen] == [expected(v) for v in vecs]


@pytest.mark.parametrize("kwargs, message", [
    (dict(acc_width=1), r"acc_width = 1 is out of range: allowed \[2, 48\] bits"),
    (dict(acc_width=49), r"acc_width = 49 is out of range"),
    (dict(mult_width=28), r"mult_width = 28 is out of range: allowed \[2, 27\] bits"),
    (dict(bias_width=0), r"bias_width = 0 is out of range: allowed \[1, 64\] bits"),
    (dict(shift_width=7), r"shift_width = 7 is out of range: allowed \[1, 6\] bits"),
    (dict(shift_width=2.5), r"shift_width must be an integer in \[1, 6\] bits"),
])
def test_bad_widths_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DualScaleUnit(**kwargs)


def test_unit_refused_leaves_no_unused_warning():
    assert unused_warning_files(lambda: DualScaleUnit(),
                                lambda: DualScaleUnit(shift_width=7)) == [__file__]


def test_payload_layout_matches_spec():
    from hw.dual_scale import epilogue_layout
    assert epilogue_layout().size == spec.fields_width(spec.EPILOGUE_FIELDS)

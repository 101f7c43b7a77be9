"""The dual-scale unit in amaranth.sim: values, latency, throughput, construction errors."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from hw.dual_scale import DualScaleUnit
from testsupport.epilogue_vectors import corner_vectors, expected, random_vectors
from sw import spec
from sw.spec import ActMode
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
        for cycle in range(len(vecs) + spec.EPILOGUE_LATENCY + 3):
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
    assert [c for c, _ in seen] == [k + spec.EPILOGUE_LATENCY for k in range(len(vecs))]
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


def _reference(vec, *, act_width=spec.ACT_WIDTH):
    """The contract of sw.spec written out with Python integers, for any field widths."""
    acc = vec["m_r"] * vec["p"] + vec["m_l"] * vec["n"] + vec["bias"]
    v = (acc + ((1 << vec["shift"]) >> 1)) >> vec["shift"]
    if vec["act"] == spec.ActMode.RELU:
        v = max(v, 0)
    elif vec["act"] == spec.ActMode.LEAKY and v < 0:
        lim = 1 << (spec.LEAKY_CLAMP_BITS - 1)
        v = (max(v, -lim) * vec["slope"] + (1 << (spec.SLOPE_FRAC_BITS - 1))) \
            >> spec.SLOPE_FRAC_BITS
    return min(max(v, spec.ACT_MIN), spec.ACT_MAX)


def _drive_fields(dut, vecs):
    """Push ``vecs`` (set field by field) at full rate; return the outputs in order."""
    got = []

    async def testbench(ctx):
        ctx.set(dut.o.ready, 1)
        for cycle in range(len(vecs) + dut.LATENCY + 1):
            if cycle < len(vecs):
                ctx.set(dut.i.valid, 1)
                for name, value in vecs[cycle].items():
                    ctx.set(getattr(dut.i.payload, name), value)
            else:
                ctx.set(dut.i.valid, 0)
            if ctx.get(dut.o.valid):
                got.append(ctx.get(dut.o.payload))
            await ctx.tick()

    run(dut, testbench)
    return got


@pytest.mark.parametrize("widths", [
    dict(acc_width=48, mult_width=27, bias_width=64, shift_width=6),
    dict(acc_width=2, mult_width=2, bias_width=1, shift_width=1),
    dict(acc_width=17, mult_width=18, bias_width=20, shift_width=3),
    dict(acc_width=18, mult_width=5, bias_width=40, shift_width=4),
])
def test_other_widths_against_the_contract(widths):
    """The split of P and N into 17-bit limbs, the carry-save sum and the shift hold for
    every width the constructor takes, not only the defaults."""
    rng = np.random.default_rng(sum(widths.values()))

    def field(width):
        return int(rng.integers(-(1 << (width - 1)), (1 << (width - 1)), endpoint=False))

    def extreme(width, k):
        return (-(1 << (width - 1)), (1 << (width - 1)) - 1, -1, 0)[k % 4]

    vecs = []
    for k in range(400):
        pick = (lambda w: extreme(w, k + rng.integers(4))) if k % 3 == 0 else field
        vecs.append({"p": pick(widths["acc_width"]), "n": pick(widths["acc_width"]),
                     "m_r": pick(widths["mult_width"]), "m_l": pick(widths["mult_width"]),
                     "bias": pick(widths["bias_width"]),
                     "shift": int(rng.integers(0, 1 << widths["shift_width"])),
                     "act": int(rng.integers(0, 4)),
                     "slope": int(rng.integers(spec.SLOPE_MIN, spec.SLOPE_MAX + 1))})
    got = _drive_fields(DualScaleUnit(**widths), vecs)
    assert got == [_reference(v) for v in vecs]


def test_leaky_around_saturation_and_clamp():
    """LeakyReLU where its rounding decides between -128 and -127, around the clamp of v to
    LEAKY_CLAMP_BITS (past it the unit answers -128, or 0 for slope 0, without a multiply),
    and at the extreme slopes."""
    rng = np.random.default_rng(7)
    lim = 1 << (spec.LEAKY_CLAMP_BITS - 1)
    vecs = []
    slopes = [0, 1, 2, 3, 255, 256, 1 << 15, spec.SLOPE_MAX] + \
        [int(s) for s in rng.integers(1, spec.SLOPE_MAX + 1, 24)]
    for slope in slopes:
        targets = [-lim - 2, -lim - 1, -lim, -lim + 1, -1, -2]
        if slope:
            # v with v * A / 2**16 next to -128.5 and -127.5 (the rounding edges).
            for edge in (-128.5, -127.5, -0.5):
                centre = int(edge * (1 << spec.SLOPE_FRAC_BITS) / slope)
                targets += [t for t in range(centre - 2, centre + 3) if -lim - 4 < t < 0]
        for v in targets:
            # v = bias >> 0 with P = N = 0.
            vecs.append({"p": 0, "n": 0, "m_r": 0, "m_l": 0, "bias": v, "shift": 0,
                         "act": int(ActMode.LEAKY), "slope": slope})
    got = _drive_fields(DualScaleUnit(), vecs)
    want = [expected(v) for v in vecs]
    assert got == want
    assert want.count(-128) > 10 and want.count(-127) > 5 and want.count(0) > 5

"""PowerMeter in amaranth.sim: hand-computed sums for scripted busy patterns, saturation,
and the XADC model feeding it, checked against a plain-Python reading of the spec."""

import pytest
from amaranth.hdl import Fragment
from amaranth.sim import Simulator

from hw.power.power_meter import PowerMeter
from hw.power.xadc_model import XADCModel
from sw import spec
from testsupport.elaboratables import unused_warning_files

CH = spec.POWER_CHANNELS
FIELDS = [name for name, _ in spec.POWER_FIELDS]


def run_script(meter, script):
    """Drive ``script`` (per cycle: (busy, (channel, code) or None)) and return the outputs,
    plus the outputs seen just before the last falling edge of busy."""
    result = {}

    async def testbench(ctx):
        for busy, sample in script:
            ctx.set(meter.busy, busy)
            ctx.set(meter.sample.valid, sample is not None)
            if sample is not None:
                ctx.set(meter.sample.payload.channel, sample[0])
                ctx.set(meter.sample.payload.code, sample[1])
            assert ctx.get(meter.sample.ready) == 1
            await ctx.tick()
        ctx.set(meter.sample.valid, 0)
        await ctx.tick()
        for name in FIELDS:
            result[name] = ctx.get(getattr(meter, name))

    sim = Simulator(meter)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    return result


def sample_set(busy, codes, order=None):
    order = range(len(CH)) if order is None else order
    return [(busy, (ch, codes[ch])) for ch in order]


def test_field_widths_follow_spec():
    meter = PowerMeter(100_000_000)
    Fragment.get(meter, None)
    for name, n in spec.POWER_FIELDS:
        assert len(getattr(meter, name)) == 8 * n, name


def test_scripted_run_and_idle_sums():
    assert len(CH) == 5
    a = [160, 320, 480, 640, 800]
    b = [176, 336, 496, 656, 816]
    script = []
    script += sample_set(0, a)
    script += sample_set(0, b, order=(4, 3, 2, 1, 0))   # any channel order makes a set
    script += [(0, None)] * 2
    script += [(0, (0, 1600)), (0, (1, 3200))]          # a set that straddles the rising edge
    script += [(1, (2, 4800)), (1, (3, 6400)), (1, (4, 8000))]   # ... completes while busy
    script += sample_set(1, [80, 96, 112, 128, 144])
    script += [(1, None)] * 3
    script += [(0, (0, 16000))] + [(0, (c, 16)) for c in (1, 2, 3, 4)]   # idle after the run
    script += [(0, None)] * 2
    out = run_script(PowerMeter(100_000_000), script)
    # Busy cycles: 3 (straddling set) + 5 (second set) + 3 empty = 11.
    assert out["run_cycles"] == 11
    assert out["run_samples"] == 2
    assert out["idle_samples"] == 2
    # Hand sums: idle = a + b; run = straddling set + second set.
    assert [out[f"idle_{c}"] for c in CH] == [336, 656, 976, 1296, 1616]
    assert [out[f"run_{c}"] for c in CH] == [1680, 3296, 4912, 6528, 8144]


def test_second_run_replaces_first():
    s1 = [16, 32, 48, 64, 80]
    script = sample_set(0, s1) + sample_set(1, s1) * 3 + [(1, None)] * 5
    script += sample_set(0, [1600] * 5) * 2                  # idle before run 2
    script += sample_set(1, [32] * 5) + [(0, None)]          # run 2: 5 cycles, 1 set
    out = run_script(PowerMeter(50_000_000), script)
    assert out["run_cycles"] == 5
    assert out["run_samples"] == 1
    assert [out[f"run_{c}"] for c in CH] == [32] * 5
    assert out["idle_samples"] == 2
    assert [out[f"idle_{c}"] for c in CH] == [3200] * 5


def test_outputs_latched_only_at_edges():
    script = sample_set(0, [16] * 5) + sample_set(1, [32] * 5)
    # Still busy at the end: the run has not ended, so the run outputs keep their reset 0.
    out = run_script(PowerMeter(100_000_000), script + [(1, None)])
    assert out["idle_samples"] == 1 and out["idle_vccint"] == 16
    assert out["run_samples"] == 0 and out["run_cycles"] == 0 and out["run_vccint"] == 0


def test_saturates_instead_of_wrapping():
    top = 0xFFF0
    script = sample_set(0, [top] * 5) * 5                    # 5 idle sets into 2-bit counts
    script += [(1, None)] * 6 + [(0, None)]                  # 6 busy cycles into 2 bits
    out = run_script(PowerMeter(100_000_000, count_width=2, sum_width=17), script)
    assert out["idle_samples"] == 3                          # 2**2 - 1, not 5 % 4
    assert [out[f"idle_{c}"] for c in CH] == [(1 << 17) - 1] * 5   # 5 * 0xFFF0 > 2**17 - 1
    assert out["run_cycles"] == 3
    assert out["run_samples"] == 0


@pytest.mark.parametrize("bad", [0, -5, 1.5])
def test_rejects_bad_clock(bad):
    with pytest.raises(ValueError, match="clk_hz"):
        PowerMeter(bad)


def test_meter_refused_leaves_no_unused_warning():
    assert unused_warning_files(lambda: PowerMeter(100_000_000),
                                lambda: PowerMeter(100_000_000, sum_width=8)) == [__file__]


def reference_meter(events):
    """The spec's POWER semantics in plain Python over per-cycle (busy, sample) events."""
    out = dict.fromkeys(FIELDS, 0)
    n_ch = len(CH)
    idle = {"n": 0, "sums": [0] * n_ch}
    run = {"n": 0, "sums": [0] * n_ch, "cycles": 0}
    pending = {}
    prev = 0
    for busy, sample in events:
        complete = None
        if sample is not None:
            pending[sample[0]] = sample[1]
            if len(pending) == n_ch:
                complete, pending = [pending[i] for i in range(n_ch)], {}
        if busy and not prev:
            out["idle_samples"] = idle["n"]
            for i, c in enumerate(CH):
                out[f"idle_{c}"] = idle["sums"][i]
            idle = {"n": 0, "sums": [0] * n_ch}
            run = {"n": 0, "sums": [0] * n_ch, "cycles": 0}
        if prev and not busy:
            out["run_cycles"], out["run_samples"] = run["cycles"], run["n"]
            for i, c in enumerate(CH):
                out[f"run_{c}"] = run["sums"][i]
        window = run if busy else idle
        if busy:
            run["cycles"] += 1
        if complete is not None:
            window["n"] += 1
            window["sums"] = [s + x for s, x in zip(window["sums"], complete)]
        prev = busy
    return out


def test_model_feeding_meter_matches_reference_and_formula():
    from amaranth.hdl import Module
    model = XADCModel(max_activity=4, divider=2, conversion_adcclk=3)    # a sample every 6
    meter = PowerMeter(100_000_000)
    m = Module()
    m.submodules.model = model
    m.submodules.meter = meter
    m.d.comb += [meter.sample.valid.eq(model.sample.valid),
                 meter.sample.payload.eq(model.sample.payload),
                 model.sample.ready.eq(meter.sample.ready)]
    # (busy, activity) phases: idle, run at 3 lanes, idle, run at 1 lane, idle.
    phases = [(0, 0, 97), (1, 3, 151), (0, 0, 60), (1, 1, 75), (0, 0, 13)]
    events = []
    result = {}

    async def testbench(ctx):
        for busy, activity, cycles in phases:
            for _ in range(cycles):
                ctx.set(meter.busy, busy)
                ctx.set(model.activity, activity)
                sample = None
                if ctx.get(model.sample.valid):
                    sample = (ctx.get(model.sample.payload.channel),
                              ctx.get(model.sample.payload.code))
                events.append((busy, sample))
                await ctx.tick()
        for name in FIELDS:
            result[name] = ctx.get(getattr(meter, name))

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    assert result == reference_meter(events)
    assert result["run_cycles"] == 75
    # The second run: every set that completed in it was converted at 1 lane, except at
    # most the first set, whose conversions may have started before the run.
    n = result["run_samples"]
    assert n >= 75 // (6 * len(CH)) - 1
    for i, c in enumerate(CH):
        lo = model.expected_code(i, 0)
        hi = model.expected_code(i, 1)
        assert (n - 1) * hi + lo <= result[f"run_{c}"] <= n * hi

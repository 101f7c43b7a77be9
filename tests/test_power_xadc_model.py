"""XADCModel in amaranth.sim: cadence, channel order, track-and-hold, codes and clamping."""

import pytest
from amaranth.hdl import Fragment
from amaranth.sim import Simulator

from hw.power.xadc_model import XADCModel
from sw import spec
from testsupport.elaboratables import unused_warning_files


def collect(model, activity_at, cycles, ready=lambda cycle: True):
    """Run ``cycles`` cycles with ``activity_at(cycle)``; return [(cycle, channel, code)] of
    the samples taken."""
    taken = []

    async def testbench(ctx):
        for cycle in range(cycles):
            ctx.set(model.activity, activity_at(cycle))
            r = ready(cycle)
            ctx.set(model.sample.ready, r)
            if r and ctx.get(model.sample.valid):
                taken.append((cycle, ctx.get(model.sample.payload.channel),
                              ctx.get(model.sample.payload.code)))
            await ctx.tick()

    sim = Simulator(model)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    return taken


def test_cadence_is_26_adcclk_per_conversion():
    # Divider 4 at 100 MHz: ADCCLK 25 MHz, 26 ADCCLK = 104 clock cycles a conversion.
    model = XADCModel(max_activity=8)
    assert model.period == 104
    taken = collect(model, lambda c: 0, 104 * 11 + 2)
    cycles = [c for c, _, _ in taken]
    # The first conversion ends after a whole period; the code is offered the cycle after.
    assert cycles == [104 * k for k in range(1, 12)]
    assert [ch for _, ch, _ in taken] == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0]


def test_idle_codes_and_activity_increment():
    idle = (1000 << 4, 100 << 4, 2000 << 4, 50 << 4, 2500 << 4)
    step = (0, 7 << 4, 0, 3 << 4, 1 << 4)
    model = XADCModel(max_activity=8, idle_codes=idle, codes_per_activity=step, divider=2,
                      conversion_adcclk=5)
    period = 10
    taken = collect(model, lambda c: 0 if c < 5 * period else 5, 15 * period + 1)
    codes = [code for _, _, code in taken]
    # First five conversions at activity 0, then activity 5 held:
    # 100*16 + 5*7*16 = 2160, 50*16 + 5*3*16 = 1040, 2500*16 + 5*16 = 40080.
    assert codes[:5] == [16000, 1600, 32000, 800, 40000]
    assert codes[5:10] == [16000, 2160, 32000, 1040, 40080]
    assert codes[10:15] == [16000, 2160, 32000, 1040, 40080]
    for code in codes:
        assert code % 16 == 0               # 12-bit result, MSB-justified


def test_activity_is_held_from_conversion_start():
    model = XADCModel(max_activity=8, idle_codes=(0,) * 5,
                      codes_per_activity=(16,) * 5, divider=2, conversion_adcclk=5)
    # Conversion k runs over cycles [10k, 10k + 9]. Activity changes mid-conversion 1.
    taken = collect(model, lambda c: 2 if c < 15 else 6, 41)
    assert [code for _, _, code in taken] == [32, 32, 96, 96]


def test_clamps_at_full_scale():
    model = XADCModel(max_activity=15, idle_codes=(0xFF00, 0, 0, 0, 0),
                      codes_per_activity=(0x100, 0, 0, 0, 0), divider=2, conversion_adcclk=2)
    taken = collect(model, lambda c: 15, 5)
    assert taken[0][2] == 0xFFF0            # 0xFF00 + 15 * 0x100 overflows: clamped
    assert model.expected_code(0, 15) == 0xFFF0


def test_sample_not_taken_is_replaced():
    model = XADCModel(max_activity=1, idle_codes=(16, 32, 48, 64, 80), codes_per_activity=(0,) * 5,
                      divider=2, conversion_adcclk=2)
    # Period 4: codes are offered at cycles 4, 8, 12. Not ready until cycle 10: conversion
    # 0's code (channel 0) is replaced by conversion 1's before anyone takes it.
    taken = collect(model, lambda c: 0, 11, ready=lambda c: c >= 10)
    assert taken == [(10, 1, 32)]


@pytest.mark.parametrize("kwargs, match", [
    (dict(idle_codes=(1, 0, 0, 0, 0)), "multiple of 16"),
    (dict(idle_codes=(0, 0, 0, 0)), "one code per channel"),
    (dict(codes_per_activity=(0x10000, 0, 0, 0, 0)), "codes_per_activity"),
    (dict(divider=1), "divider"),
    (dict(max_activity=0), "max_activity"),
])
def test_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        XADCModel(**kwargs)


def test_model_refused_leaves_no_unused_warning():
    assert unused_warning_files(lambda: XADCModel(), lambda: XADCModel(divider=1)) == [__file__]


def test_channel_count_matches_spec():
    model = XADCModel()
    Fragment.get(model, None)
    assert len(model.idle_codes) == len(spec.POWER_CHANNELS)
    assert len(model.activity) == 4         # range(9)

"""A behavioural stand-in for the XADC: deterministic codes that follow the engine's activity.

This is a model, not a measurement. Its codes have the XADC's format (12-bit results
MSB-justified in 16 bits) and its cadence (one conversion per 26 ADCCLK cycles, ADCCLK =
DCLK / divider, UG480 Chapter 2 "Analog-to-Digital Converter"), and their values are an
idle level plus an increment proportional to ``activity``: enough for the virtual board to
exercise the POWER path end to end, nothing about the energy of a real device.
"""

from amaranth.hdl import Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from sw import spec

from .sample import CODE_WIDTH, sample_signature

__all__ = ["XADCModel", "DEFAULT_IDLE_CODES", "DEFAULT_CODES_PER_ACTIVITY"]

#: Largest 12-bit result, MSB-justified.
MAX_CODE = 0xFFF0

# Default levels, per sw.spec.POWER_CHANNELS, as 12-bit results << 4. They were picked to
# look like a lightly loaded Arty (VCCINT 0.95 V on the 3 V supply-sensor scale; sense
# outputs a tenth of the 1 V auxiliary range) and are not measured values.
#: vccint 0.95 V (1297 * 3 V / 4096), isns0v95 0.1 V, vsns5v0 0.5 V, isns5v0 0.1 V, the
#: die at 40.0 C (2545 * 503.975 C / 4096 - 273.15 C, UG480 Eq. 2-1).
DEFAULT_IDLE_CODES = (1297 << 4, 410 << 4, 2048 << 4, 410 << 4, 2545 << 4)
#: Per unit of ``activity``: VCCINT sags by nothing, the currents rise, 5 V stays put, the
#: die does not warm within a model's run.
DEFAULT_CODES_PER_ACTIVITY = (0, 20 << 4, 0, 8 << 4, 0)


def _check_codes(name, codes):
    if len(codes) != len(spec.POWER_CHANNELS):
        raise ValueError(f"{name} needs one code per channel {spec.POWER_CHANNELS}, "
                         f"not {len(codes)}")
    for channel, code in zip(spec.POWER_CHANNELS, codes):
        spec.check_int(f"{name}[{channel}]", code, 0, MAX_CODE)
        if code % 16:
            raise ValueError(f"{name}[{channel}] = {code} is not a 12-bit result "
                             f"MSB-justified in 16 bits (a multiple of 16)")


class XADCModel(wiring.Component):
    """Simulation model of :class:`hw.power.xadc.XADC`: the same ``sample`` stream.

    Conversions run back to back, one every ``divider * conversion_adcclk`` clock cycles,
    through :data:`sw.spec.POWER_CHANNELS` in order. ``activity`` is sampled when a
    conversion starts (the XADC's track-and-hold) and its code is offered when the
    conversion ends::

        code = min(idle_codes[ch] + activity * codes_per_activity[ch], 0xFFF0)

    As in the XADC reader, a sample not taken before the next one ends is replaced.

    Parameters
    ----------
    max_activity : int
        Largest ``activity`` value (e.g. the number of engine lanes), >= 1.
    idle_codes, codes_per_activity : sequence of int
        One per channel, multiples of 16 in ``[0, 0xFFF0]``.
    divider : int
        Clock cycles per ADCCLK cycle, >= 2 (the XADC's DCLK divider; 4 gives 25 MHz
        ADCCLK at the Arty's 100 MHz).
    conversion_adcclk : int
        ADCCLK cycles per conversion; 26 for the XADC.

    Attributes
    ----------
    sample : Out(stream.Signature(sample_layout()))
    activity : In(range(max_activity + 1))
    period : int
        Clock cycles between two samples.
    """

    def __new__(cls, *, max_activity=8, idle_codes=DEFAULT_IDLE_CODES,
                codes_per_activity=DEFAULT_CODES_PER_ACTIVITY, divider=4,
                conversion_adcclk=26):
        # Checked here, before the object exists: Amaranth reports an elaboratable that is
        # created and never elaborated (UnusedElaboratable), refused ones included.
        spec.check_int("max_activity", max_activity, 1, 1 << 16)
        _check_codes("idle_codes", idle_codes)
        _check_codes("codes_per_activity", codes_per_activity)
        spec.check_int("divider", divider, 2, 255)
        spec.check_int("conversion_adcclk", conversion_adcclk, 1, 1 << 10)
        return super().__new__(cls, src_loc_at=1)

    def __init__(self, *, max_activity=8, idle_codes=DEFAULT_IDLE_CODES,
                 codes_per_activity=DEFAULT_CODES_PER_ACTIVITY, divider=4,
                 conversion_adcclk=26):
        self.max_activity = max_activity
        self.idle_codes = tuple(idle_codes)
        self.codes_per_activity = tuple(codes_per_activity)
        self.period = divider * conversion_adcclk
        super().__init__({
            "sample": Out(sample_signature()),
            "activity": In(range(max_activity + 1)),
        })

    def expected_code(self, channel, activity):
        """The code the model emits for ``channel`` (index) at ``activity`` (for tests)."""
        code = self.idle_codes[channel] + activity * self.codes_per_activity[channel]
        return min(code, MAX_CODE)

    def elaborate(self, platform):
        m = Module()
        n_channels = len(spec.POWER_CHANNELS)
        timer = Signal(range(self.period))
        channel = Signal(range(n_channels))
        held = Signal.like(self.activity)

        with m.If(timer == self.period - 1):
            m.d.sync += timer.eq(0)
            m.d.sync += channel.eq(Mux(channel == n_channels - 1, 0, channel + 1))
        with m.Else():
            m.d.sync += timer.eq(timer + 1)
        with m.If(timer == 0):
            m.d.sync += held.eq(self.activity)

        width = CODE_WIDTH + len(held) + 1
        raw = Signal(width)
        with m.Switch(channel):
            for ch in range(n_channels):
                with m.Case(ch):
                    m.d.comb += raw.eq(self.idle_codes[ch]
                                       + held * Const(self.codes_per_activity[ch], CODE_WIDTH))
        code = Mux(raw > MAX_CODE, MAX_CODE, raw[:CODE_WIDTH])

        with m.If(self.sample.ready):
            m.d.sync += self.sample.valid.eq(0)
        with m.If(timer == self.period - 1):
            m.d.sync += [self.sample.valid.eq(1),
                         self.sample.payload.channel.eq(channel),
                         self.sample.payload.code.eq(code)]
        return m

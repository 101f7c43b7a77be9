"""Sums of XADC codes over the last RUN and over the idle time before it (sw.spec.POWER_FIELDS)."""

from amaranth.hdl import Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from sw import spec

from .sample import CODE_WIDTH, sample_signature

__all__ = ["PowerMeter"]


def _field_widths():
    return {name: 8 * n for name, n in spec.POWER_FIELDS}


class PowerMeter(wiring.Component):
    """Accumulates XADC samples into run and idle sums, latched at the edges of ``busy``.

    A *sample* is one complete set of conversions, one code of each of
    :data:`sw.spec.POWER_CHANNELS`: codes are buffered per channel and the set is
    committed when its last channel arrives, so every channel's sum has ``*_samples``
    terms and ``sum / samples`` is that channel's exact mean. A set counts as run or idle
    according to ``busy`` in the cycle it completes.

    * At a rising edge of ``busy`` the idle sums and count are latched to the ``idle_*``
      outputs and cleared, and the run sums, count and cycle counter start afresh.
    * While ``busy`` is high ``run_cycles`` counts its cycles.
    * At the falling edge the run sums, count and ``run_cycles`` are latched to the
      ``run_*`` outputs; idle accumulation resumes from zero.

    So after a RUN the outputs describe that run and the idle time between the previous
    run (or reset) and it. Every accumulator saturates at its largest value instead of
    wrapping; :func:`sw.power.energy.power_report` rejects a saturated field.

    Parameters
    ----------
    clk_hz : int
        The clock's frequency; ``max_run_s`` is how long a run can be before
        ``run_cycles`` saturates.
    count_width, sum_width : int or None
        Override the widths of the counts and sums (default: :data:`sw.spec.POWER_FIELDS`);
        only for tests of saturation.

    Attributes
    ----------
    sample : In(stream.Signature(sample_layout()))
        Always ready.
    busy : In(1)
        High while the engine runs a RUN.
    run_cycles, run_samples, idle_samples : Out(32)
    run_<channel>, idle_<channel> : Out(48)
        One per :data:`sw.spec.POWER_CHANNELS`.
    """

    def __new__(cls, clk_hz, *, count_width=None, sum_width=None):
        # Checked here, before the object exists: Amaranth reports an elaboratable that is
        # created and never elaborated (UnusedElaboratable), refused ones included.
        spec.check_int("clk_hz", clk_hz, 1, 10**10)
        if count_width is not None:
            spec.check_int("count_width", count_width, 1, 64)
        if sum_width is not None:
            spec.check_int("sum_width", sum_width, CODE_WIDTH, 96)
        return super().__new__(cls, src_loc_at=1)

    def __init__(self, clk_hz, *, count_width=None, sum_width=None):
        widths = _field_widths()
        if count_width is not None:
            widths.update({k: count_width for k in ("run_cycles", "run_samples",
                                                     "idle_samples")})
        if sum_width is not None:
            widths.update({f"{p}_{c}": sum_width for p in ("run", "idle")
                           for c in spec.POWER_CHANNELS})
        self.clk_hz = clk_hz
        self.widths = widths
        self.max_run_s = ((1 << widths["run_cycles"]) - 1) / clk_hz
        members = {"sample": In(sample_signature()), "busy": In(1)}
        members.update({name: Out(width) for name, width in widths.items()})
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        channels = spec.POWER_CHANNELS
        n = len(channels)

        def sat_add(acc, inc):
            total = acc + inc
            return Mux(total > (1 << len(acc)) - 1, (1 << len(acc)) - 1, total[:len(acc)])

        # Collect one code per channel into a set.
        buf = [Signal(CODE_WIDTH, name=f"buf_{c}") for c in channels]
        seen = Signal(n)
        codes = [Signal(CODE_WIDTH, name=f"set_{c}") for c in channels]
        commit = Signal()
        take = self.sample.valid
        ch = self.sample.payload.channel
        code = self.sample.payload.code
        m.d.comb += self.sample.ready.eq(1)
        now_seen = Signal(n)
        m.d.comb += now_seen.eq(seen | Mux(take, Const(1, n) << ch, 0))
        for i in range(n):
            m.d.comb += codes[i].eq(Mux(take & (ch == i), code, buf[i]))
        m.d.comb += commit.eq(take & (now_seen == (1 << n) - 1))
        with m.If(take):
            for i in range(n):
                with m.If(ch == i):
                    m.d.sync += buf[i].eq(code)
            m.d.sync += seen.eq(Mux(commit, 0, now_seen))

        # Accumulators.
        w = self.widths
        run_cycles = Signal(w["run_cycles"])
        run_samples = Signal(w["run_samples"])
        idle_samples = Signal(w["idle_samples"])
        run_sum = [Signal(w[f"run_{c}"], name=f"run_sum_{c}") for c in channels]
        idle_sum = [Signal(w[f"idle_{c}"], name=f"idle_sum_{c}") for c in channels]

        busy = self.busy
        was_busy = Signal()
        m.d.sync += was_busy.eq(busy)

        with m.If(busy & ~was_busy):
            # Rising edge: publish the idle window, start the run window.
            m.d.sync += [self.idle_samples.eq(idle_samples), idle_samples.eq(0),
                         run_cycles.eq(1), run_samples.eq(commit)]
            for i, c in enumerate(channels):
                m.d.sync += [getattr(self, f"idle_{c}").eq(idle_sum[i]), idle_sum[i].eq(0),
                             run_sum[i].eq(Mux(commit, codes[i], 0))]
        with m.Elif(busy):
            m.d.sync += run_cycles.eq(sat_add(run_cycles, 1))
            with m.If(commit):
                m.d.sync += run_samples.eq(sat_add(run_samples, 1))
                for i in range(n):
                    m.d.sync += run_sum[i].eq(sat_add(run_sum[i], codes[i]))
        with m.Else():
            with m.If(was_busy):
                # Falling edge: publish the run window.
                m.d.sync += [self.run_cycles.eq(run_cycles), self.run_samples.eq(run_samples)]
                for i, c in enumerate(channels):
                    m.d.sync += getattr(self, f"run_{c}").eq(run_sum[i])
            with m.If(commit):
                m.d.sync += idle_samples.eq(sat_add(idle_samples, 1))
                for i in range(n):
                    m.d.sync += idle_sum[i].eq(sat_add(idle_sum[i], codes[i]))
        return m

"""The dual-scale unit: the engine's epilogue from accumulators to int8 activations."""

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from sw import spec
from sw.spec import ActMode

__all__ = ["DualScaleUnit", "epilogue_layout"]


def _check_width(name, value, lo, hi):
    spec.check_int(name, value, lo, hi, what=" bits")


def epilogue_layout(*, acc_width=spec.ACC_WIDTH, mult_width=spec.MULT_WIDTH,
                    bias_width=spec.BIAS_WIDTH, shift_width=spec.SHIFT_WIDTH):
    """The input payload of :class:`DualScaleUnit`, field order from :data:`sw.spec.EPILOGUE_FIELDS`.

    With the default widths its bit layout is exactly the one the benches pack.
    """
    widths = {"p": acc_width, "n": acc_width, "m_r": mult_width, "m_l": mult_width,
              "bias": bias_width, "shift": shift_width}
    fields = {}
    for name, width, is_signed in spec.EPILOGUE_FIELDS:
        width = widths.get(name, width)
        if name == "act":
            fields[name] = unsigned(width)
        else:
            fields[name] = signed(width) if is_signed else unsigned(width)
    return data.StructLayout(fields)


class DualScaleUnit(wiring.Component):
    """Dual-scale epilogue: ``y = sat8(act((M_r P + M_l N + B + 2**(s-1)) >> s))``.

    A three-stage pipeline (products; sum, rounding and shift; activation and
    saturation). Each stage holds its value while the stage after it is full and stalled,
    and takes a new one otherwise, so a bubble never blocks the pipe: one result per
    cycle while the output is ready, and a result offered :data:`~sw.spec.EPILOGUE_LATENCY`
    cycles after its input was accepted.

    Parameters
    ----------
    acc_width : int
        Width of P and N, in ``[2, 48]``.
    mult_width : int
        Width of M_r and M_l, in ``[2, 27]``.
    bias_width : int
        Width of B, in ``[1, 64]``.
    shift_width : int
        Width of the shift field, in ``[1, 6]``; every code is a legal shift.

    Raises
    ------
    ValueError
        If a width is out of its range.

    Attributes
    ----------
    i : In(stream.Signature(epilogue_layout(...)))
        P, N and the channel's parameters (see :data:`sw.spec.EPILOGUE_FIELDS`); an ``act``
        code that is not an :class:`~sw.spec.ActMode` is treated as ``NONE`` (the program
        encoder never emits one).
    o : Out(stream.Signature(signed(8)))
        The int8 result.
    """

    LATENCY = spec.EPILOGUE_LATENCY

    def __new__(cls, *, acc_width=spec.ACC_WIDTH, mult_width=spec.MULT_WIDTH,
                bias_width=spec.BIAS_WIDTH, shift_width=spec.SHIFT_WIDTH):
        # Checked here, before the object exists: Amaranth reports an elaboratable that is
        # created and never elaborated (UnusedElaboratable), refused ones included.
        _check_width("acc_width", acc_width, 2, 48)
        _check_width("mult_width", mult_width, 2, 27)
        _check_width("bias_width", bias_width, 1, 64)
        _check_width("shift_width", shift_width, 1, 6)
        return super().__new__(cls, src_loc_at=1)

    def __init__(self, *, acc_width=spec.ACC_WIDTH, mult_width=spec.MULT_WIDTH,
                 bias_width=spec.BIAS_WIDTH, shift_width=spec.SHIFT_WIDTH):
        self.acc_width = acc_width
        self.mult_width = mult_width
        self.bias_width = bias_width
        self.shift_width = shift_width
        self.layout = epilogue_layout(acc_width=acc_width, mult_width=mult_width,
                                      bias_width=bias_width, shift_width=shift_width)
        super().__init__({
            "i": In(stream.Signature(self.layout)),
            "o": Out(stream.Signature(signed(spec.ACT_WIDTH))),
        })

    def elaborate(self, platform):
        m = Module()

        prod_width = self.mult_width + self.acc_width
        max_shift = (1 << self.shift_width) - 1
        # Room for two products, the bias and the rounding term 2**(max_shift - 1).
        sum_width = max(prod_width, self.bias_width, max_shift) + 2

        # Stage 1: the two products (one DSP cascade each on Xilinx parts).
        s1_valid = Signal()
        s1_prod_r = Signal(signed(prod_width))
        s1_prod_l = Signal(signed(prod_width))
        s1_bias = Signal(signed(self.bias_width))
        s1_shift = Signal(unsigned(self.shift_width))
        s1_act = Signal(unsigned(spec.ACT_MODE_WIDTH))
        s1_slope = Signal(unsigned(spec.SLOPE_WIDTH))

        # Stage 2: the rounded, shifted value v.
        s2_valid = Signal()
        s2_v = Signal(signed(sum_width))
        s2_act = Signal.like(s1_act)
        s2_slope = Signal.like(s1_slope)

        # Stage 3 is the output register.
        o_valid = Signal()
        o_data = Signal(signed(spec.ACT_WIDTH))
        m.d.comb += [self.o.valid.eq(o_valid), self.o.payload.eq(o_data)]

        s3_ready = ~o_valid | self.o.ready
        s2_ready = ~s2_valid | s3_ready
        s1_ready = ~s1_valid | s2_ready
        m.d.comb += self.i.ready.eq(s1_ready)

        inp = self.i.payload
        with m.If(s1_ready):
            m.d.sync += [
                s1_valid.eq(self.i.valid),
                s1_prod_r.eq(inp.m_r * inp.p),
                s1_prod_l.eq(inp.m_l * inp.n),
                s1_bias.eq(inp.bias),
                s1_shift.eq(inp.shift),
                s1_act.eq(inp.act),
                s1_slope.eq(inp.slope),
            ]

        total = Signal(signed(sum_width))
        rounding = Signal(unsigned(sum_width))
        m.d.comb += [
            rounding.eq((Const(1, sum_width) << s1_shift) >> 1),
            total.eq(s1_prod_r + s1_prod_l + s1_bias + rounding),
        ]
        with m.If(s2_ready):
            m.d.sync += [
                s2_valid.eq(s1_valid),
                s2_v.eq(total >> s1_shift),
                s2_act.eq(s1_act),
                s2_slope.eq(s1_slope),
            ]

        # Stage 3: activation, then saturation to int8.
        lim = 1 << (spec.LEAKY_CLAMP_BITS - 1)
        clamped = Signal(signed(spec.LEAKY_CLAMP_BITS))
        m.d.comb += clamped.eq(Mux(s2_v < -lim, -lim, Mux(s2_v > lim - 1, lim - 1, s2_v)))
        leaky = Signal(signed(spec.LEAKY_CLAMP_BITS + spec.SLOPE_WIDTH + 1))
        m.d.comb += leaky.eq((clamped * s2_slope + (1 << (spec.SLOPE_FRAC_BITS - 1)))
                             >> spec.SLOPE_FRAC_BITS)
        activated = Signal(signed(sum_width))
        with m.Switch(s2_act):
            with m.Case(ActMode.RELU):
                m.d.comb += activated.eq(Mux(s2_v < 0, 0, s2_v))
            with m.Case(ActMode.LEAKY):
                m.d.comb += activated.eq(Mux(s2_v < 0, leaky, s2_v))
            with m.Default():
                m.d.comb += activated.eq(s2_v)
        saturated = Mux(activated < spec.ACT_MIN, spec.ACT_MIN,
                        Mux(activated > spec.ACT_MAX, spec.ACT_MAX, activated))
        with m.If(s3_ready):
            m.d.sync += [
                o_valid.eq(s2_valid),
                o_data.eq(saturated),
            ]

        return m

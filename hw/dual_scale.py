"""The dual-scale unit: the engine's epilogue from accumulators to int8 activations."""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed, unsigned
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


#: Unsigned bits of an operand that an 18 x 18 signed multiplier (the ECP5's MULT18X18D, a
#: DSP48E1 input) takes whole: a wider accumulator or clamped value is split here.
_LIMB_BITS = 17


def _fits(value, width):
    """Whether a signed ``value`` fits ``width`` signed bits: its bits from ``width - 1``
    up are all equal (an AND/NOR tree, no carry chain)."""
    top = value[width - 1:]
    return top.all() | ~top.any()


def _saturate(value, width=spec.ACT_WIDTH):
    """``value`` saturated to ``width`` signed bits."""
    lo, hi = spec.signed_range(width)
    return Mux(_fits(value, width), value[:width], Mux(value[-1], lo, hi))


def _carry_save(a, b, c):
    """Three addends to two, ``sum + carry == a + b + c`` modulo ``2**len(a)``: one LUT a
    bit, no carry chain."""
    carry = (a & b) | (a & c) | (b & c)
    return a ^ b ^ c, Cat(Const(0, 1), carry[:len(a) - 1])


class DualScaleUnit(wiring.Component):
    """Dual-scale epilogue: ``y = sat8(act((M_r P + M_l N + B + 2**(s-1)) >> s))``.

    A pipeline of :data:`~sw.spec.EPILOGUE_LATENCY` = 8 stages, each with at most one
    multiplier or one carry chain in front of its registers (so that it closes 100 MHz on
    an ECP5 -6):

    0. the input payload, registered (whatever drives the unit sees only flip-flops);
    1. four partial products: P and N split into 17 low bits (unsigned) and the rest, each
       times M_r or M_l (one 18 x 18 multiplier each at the default widths); and the
       rounding term ``2**(s-1)``;
    2. the partial products, the bias and the rounding term carry-saved to two addends;
    3. their sum (one carry chain);
    4. the shift: ``v``;
    5. for LeakyReLU, ``v`` (its low 25 bits) times the slope in two partial products; and
       the result of every other case (``sat8(v)``, ReLU's 0, and LeakyReLU's result for
       ``v`` below the clamp: -128, or 0 for slope 0; see :mod:`sw.spec`);
    6. LeakyReLU's sum of partial products and rounding term, shifted;
    7. the output: LeakyReLU's value saturated, or the case of stage 5.

    Each stage holds its value while the stage after it is full and stalled, and takes a
    new one otherwise, so a bubble never blocks the pipe: one result per cycle while the
    output is ready, and a result offered :data:`~sw.spec.EPILOGUE_LATENCY` cycles after
    its input was accepted.

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

    Widths above the defaults (:mod:`sw.spec`) compute the same contract, with partial
    products wider than one 18 x 18 multiplier.

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

        # --- Control: stage k loads when it is empty or stage k + 1 loads (the last: when
        # the output is taken), so the stages move together and bubbles fill up.
        depth = self.LATENCY
        valid = [Signal(name=f"s{k}_valid") for k in range(depth)]
        load = [Signal(name=f"s{k}_load") for k in range(depth)]
        for k in range(depth):
            m.d.comb += load[k].eq(~valid[k] | (load[k + 1] if k + 1 < depth else self.o.ready))
            with m.If(load[k]):
                m.d.sync += valid[k].eq(valid[k - 1] if k else self.i.valid)
        m.d.comb += [self.i.ready.eq(load[0]), self.o.valid.eq(valid[-1])]

        def reg(k, name, value, shape=None):
            """A register of stage ``k`` that takes ``value`` when the stage loads."""
            value = Value.cast(value)
            r = Signal(value.shape() if shape is None else shape, name=f"s{k}_{name}")
            with m.If(load[k]):
                m.d.sync += r.eq(value)
            return r

        def comb(name, value, shape):
            """``value`` as a combinational signal of ``shape`` (extended by its own sign)."""
            s = Signal(shape, name=name)
            m.d.comb += s.eq(value)
            return s

        max_shift = (1 << self.shift_width) - 1
        # Room for two products, the bias and the rounding term 2**(max_shift - 1).
        sum_width = max(self.mult_width + self.acc_width, self.bias_width, max_shift) + 2

        # --- 0: the input.
        s0 = reg(0, "in", self.i.payload, shape=self.layout)

        # --- 1: partial products, rounding term.
        lo_bits = min(_LIMB_BITS, self.acc_width - 1)
        s1_part = {}
        for m_name, a_name in (("m_r", "p"), ("m_l", "n")):
            mult, acc = getattr(s0, m_name), getattr(s0, a_name)
            s1_part[a_name, "lo"] = reg(1, f"{a_name}_lo", mult * acc[:lo_bits])
            s1_part[a_name, "hi"] = reg(1, f"{a_name}_hi", mult * acc[lo_bits:].as_signed())
        s1_round = reg(1, "round", (Const(1, max_shift + 1) << s0.shift) >> 1,
                       shape=unsigned(max(max_shift, 1)))
        s1_bias, s1_shift = reg(1, "bias", s0.bias), reg(1, "shift", s0.shift)
        s1_act, s1_slope = reg(1, "act", s0.act), reg(1, "slope", s0.slope)

        # --- 2: six addends carry-saved to two (three levels of full adders).
        terms = [comb(f"s2_term{k}", value, sum_width) for k, value in enumerate((
            s1_part["p", "hi"] << lo_bits, s1_part["p", "lo"],
            s1_part["n", "hi"] << lo_bits, s1_part["n", "lo"], s1_bias, s1_round))]
        a, b = _carry_save(*terms[0:3])
        c, d = _carry_save(*terms[3:6])
        a, b = _carry_save(a, b, c)
        a, b = _carry_save(a, b, d)
        s2_sum, s2_carry = reg(2, "sum", a), reg(2, "carry", b)
        s2_shift, s2_act, s2_slope = reg(2, "shift", s1_shift), reg(2, "act", s1_act), \
            reg(2, "slope", s1_slope)

        # --- 3: the sum, modulo 2**sum_width (it fits; see sw.spec).
        s3_total = reg(3, "total", s2_sum + s2_carry, shape=signed(sum_width))
        s3_shift, s3_act, s3_slope = reg(3, "shift", s2_shift), reg(3, "act", s2_act), \
            reg(3, "slope", s2_slope)

        # --- 4: the shift.
        s4_v = reg(4, "v", s3_total >> s3_shift)
        s4_act, s4_slope = reg(4, "act", s3_act), reg(4, "slope", s3_slope)

        # --- 5: LeakyReLU's partial products of v's low LEAKY_CLAMP_BITS (used only when v
        # fits them), and what every other case needs: v's low byte, whether v fits a byte,
        # its sign.
        clamp_bits = spec.LEAKY_CLAMP_BITS
        v = comb("s5_v", s4_v, signed(max(sum_width, clamp_bits)))
        negative, in_clamp = v[-1], _fits(v, clamp_bits)
        s5_lk_lo = reg(5, "lk_lo", v[:_LIMB_BITS] * s4_slope)
        s5_lk_hi = reg(5, "lk_hi", v[_LIMB_BITS:clamp_bits].as_signed() * s4_slope)
        s5_byte = reg(5, "byte", v[:spec.ACT_WIDTH].as_signed())
        s5_fits = reg(5, "fits", _fits(v, spec.ACT_WIDTH))
        s5_negative = reg(5, "negative", negative)
        s5_act, s5_flat = reg(5, "act", s4_act), reg(5, "flat", s4_slope == 0)
        s5_leaky = reg(5, "use_leaky", (s4_act == ActMode.LEAKY) & negative & in_clamp)

        # --- 6: LeakyReLU's (v * A + 2**(SLOPE_FRAC_BITS - 1)) >> SLOPE_FRAC_BITS, and the
        # result of every other case.
        lo, hi = spec.signed_range(spec.ACT_WIDTH)
        saturated = Mux(s5_fits, s5_byte, Mux(s5_negative, lo, hi))
        other = Signal(signed(spec.ACT_WIDTH))
        with m.Switch(s5_act):
            with m.Case(ActMode.RELU):
                m.d.comb += other.eq(Mux(s5_negative, 0, saturated))
            with m.Case(ActMode.LEAKY):
                # Below the clamp: v * A / 2**16 <= -256 for A >= 1, 0 for A = 0.
                m.d.comb += other.eq(Mux(s5_negative, Mux(s5_flat, 0, spec.ACT_MIN), saturated))
            with m.Default():
                m.d.comb += other.eq(saturated)

        leaky_width = clamp_bits + spec.SLOPE_WIDTH + 1
        a, b = _carry_save(comb("s6_lk_hi", s5_lk_hi << _LIMB_BITS, leaky_width),
                           comb("s6_lk_lo", s5_lk_lo, leaky_width),
                           Const(1 << (spec.SLOPE_FRAC_BITS - 1), leaky_width))
        s6_lk = reg(6, "lk", (a + b)[spec.SLOPE_FRAC_BITS:leaky_width].as_signed())
        s6_other, s6_leaky = reg(6, "other", other), reg(6, "use_leaky", s5_leaky)

        # --- 7: the output.
        s7_y = reg(7, "y", Mux(s6_leaky, _saturate(s6_lk), s6_other),
                   shape=signed(spec.ACT_WIDTH))
        m.d.comb += self.o.payload.eq(s7_y)
        assert depth == 8, "sw.spec.EPILOGUE_LATENCY: one per stage above"

        return m

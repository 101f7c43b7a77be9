"""What the hardware, the host software and the benches must agree on.

This module is imported by ``hw``, ``sw`` and ``sim`` alike, so it imports nothing heavy
(no torch, no amaranth, no numpy). Every number width, range and encoding of the integer
contract (``ARCHITECTURE.md``, "The integer contract") is defined here once.

The dual-scale epilogue computes, for one output value,

    acc = M_r * P + M_l * N + B
    v   = (acc + 2**(s - 1)) >> s              (arithmetic shift; no rounding term when s = 0)
    y   = sat8(act(v))

with ``act`` one of :class:`ActMode`; LeakyReLU is ``v`` for ``v >= 0`` and
``(v * A + 2**(SLOPE_FRAC_BITS - 1)) >> SLOPE_FRAC_BITS`` otherwise, ``A`` the slope in
unsigned fixed point with :data:`SLOPE_FRAC_BITS` fraction bits.

Width proofs
------------
* Activations are int8, so ``|x| <= 128``. A sum over at most :data:`MAX_FAN_IN` terms
  therefore satisfies ``|P|, |N| <= 128 * 65536 = 2**23`` for ternary layers, and for the
  int8 dense mode (``P = sum w * x``, ``|w * x| <= 2**14``) ``|P| <= 2**30``. Both fit a
  signed :data:`ACC_WIDTH` = 32-bit accumulator.
* ``|M * P| <= 2**15 * 2**31 = 2**46`` fits 47 signed bits (``MULT_WIDTH + ACC_WIDTH - 1``
  plus sign), the sum of two products and a 48-bit bias fits :data:`SUM_WIDTH` = 50 bits,
  and the rounding term ``2**30`` (``SHIFT_MAX = 31``) cannot overflow it.
* LeakyReLU multiplies ``v`` by ``A < 2**16``. Any ``v < -2**24`` gives
  ``v * A / 2**16 <= -2**24 / 2**16 = -256`` for every ``A >= 1`` (saturating to -128), and 0
  for ``A = 0``, so clamping ``v`` to :data:`LEAKY_CLAMP_BITS` = 25 signed bits before the
  multiply changes no result and keeps the multiplier 25 x 17 bits.
"""

from enum import IntEnum

__all__ = [
    "FORMAT_VERSION",
    "ACT_WIDTH", "ACT_MIN", "ACT_MAX",
    "MAX_FAN_IN", "ACC_WIDTH", "ACC_MIN", "ACC_MAX",
    "MULT_WIDTH", "MULT_MIN", "MULT_MAX",
    "BIAS_WIDTH", "BIAS_MIN", "BIAS_MAX",
    "SHIFT_WIDTH", "SHIFT_MIN", "SHIFT_MAX",
    "SLOPE_WIDTH", "SLOPE_FRAC_BITS", "SLOPE_MIN", "SLOPE_MAX",
    "SUM_WIDTH", "LEAKY_CLAMP_BITS",
    "ActMode", "ACT_MODE_WIDTH",
    "EPILOGUE_FIELDS", "EPILOGUE_LATENCY",
    "signed_range", "check_int", "fields_width", "pack_fields", "unpack_fields",
    "LayerMode", "ACT_ADDR_WIDTH", "DIM_WIDTH", "KERNEL_WIDTH", "CHAN_WIDTH", "MAX_CHANNELS", "PARAM_ADDR_WIDTH",
    "WEIGHT_WORD_FIELDS", "PARAM_WORD_FIELDS", "CHUNKS_WIDTH", "LANE_FIFO_DEPTH", "ENGINE_COUNTERS",
]

#: Version of the integer contract and of every format derived from it (programs, frames).
#: Bump it whenever anything in this module changes meaning.
FORMAT_VERSION = 1


def signed_range(width):
    """Return ``(min, max)`` of a two's complement integer of ``width`` bits."""
    return -(1 << (width - 1)), (1 << (width - 1)) - 1


#: Activations: int8.
ACT_WIDTH = 8
ACT_MIN, ACT_MAX = signed_range(ACT_WIDTH)

#: Largest number of terms in one output's sum (ternary or dense); see the width proofs.
MAX_FAN_IN = 1 << 16
#: Width of the P and N accumulators (and of the dense-mode accumulator).
ACC_WIDTH = 32
ACC_MIN, ACC_MAX = signed_range(ACC_WIDTH)

#: Signed fixed-point multipliers M_r, M_l.
MULT_WIDTH = 16
MULT_MIN, MULT_MAX = signed_range(MULT_WIDTH)

#: Bias B, already scaled by 2**s.
BIAS_WIDTH = 48
BIAS_MIN, BIAS_MAX = signed_range(BIAS_WIDTH)

#: Right shift s: every code of the field is a legal shift, so hardware cannot be handed
#: an out-of-range one.
SHIFT_WIDTH = 5
SHIFT_MIN, SHIFT_MAX = 0, (1 << SHIFT_WIDTH) - 1

#: LeakyReLU slope A (unsigned, A / 2**SLOPE_FRAC_BITS), in [0, 1).
SLOPE_WIDTH = 16
SLOPE_FRAC_BITS = 16
SLOPE_MIN, SLOPE_MAX = 0, (1 << SLOPE_WIDTH) - 1

#: Width of M_r*P + M_l*N + B + rounding term.
SUM_WIDTH = MULT_WIDTH + ACC_WIDTH + 2
#: Signed width ``v`` is clamped to before the LeakyReLU multiply (25; see the proofs).
LEAKY_CLAMP_BITS = ACT_WIDTH + SLOPE_FRAC_BITS + 1


class ActMode(IntEnum):
    """Activation applied by the epilogue after the shift."""
    NONE = 0
    RELU = 1
    LEAKY = 2


ACT_MODE_WIDTH = 2

#: Fields of one epilogue input, in order from the least significant bit of the packed
#: word: ``(name, width, signed)``. The hardware builds its stream payload layout from this
#: table and the benches pack their stimuli with it.
EPILOGUE_FIELDS = (
    ("p", ACC_WIDTH, True),
    ("n", ACC_WIDTH, True),
    ("m_r", MULT_WIDTH, True),
    ("m_l", MULT_WIDTH, True),
    ("bias", BIAS_WIDTH, True),
    ("shift", SHIFT_WIDTH, False),
    ("act", ACT_MODE_WIDTH, False),
    ("slope", SLOPE_WIDTH, False),
)

#: Cycles from an input being accepted to its result being offered at the output, when the
#: output is ready (product, sum-and-shift, activation-and-saturation registers).
EPILOGUE_LATENCY = 3


def check_int(name, value, lo, hi, *, what=""):
    """Raise :class:`ValueError` naming ``name`` unless ``lo <= value <= hi`` (an int).

    Returns ``value`` unchanged, so it can be used inline.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            import numbers
            if not isinstance(value, numbers.Integral):
                raise TypeError
            value = int(value)
        except TypeError:
            raise ValueError(f"{name} must be an integer in [{lo}, {hi}]{what}, "
                             f"not {value!r}") from None
    if not lo <= value <= hi:
        raise ValueError(f"{name} = {value} is out of range: allowed [{lo}, {hi}]{what}")
    return value


def fields_width(fields):
    """Total width of a field table such as :data:`EPILOGUE_FIELDS`."""
    return sum(width for _, width, _ in fields)


def pack_fields(fields, values):
    """Pack ``values`` (a mapping of field name to int) into one int, first field lowest.

    Signed fields take two's complement; a value that does not fit raises ValueError.
    """
    word, offset = 0, 0
    for name, width, is_signed in fields:
        value = values[name]
        lo, hi = signed_range(width) if is_signed else (0, (1 << width) - 1)
        check_int(name, value, lo, hi)
        word |= (int(value) & ((1 << width) - 1)) << offset
        offset += width
    return word


def unpack_fields(fields, word):
    """Inverse of :func:`pack_fields`."""
    values, offset = {}, 0
    for name, width, is_signed in fields:
        value = (word >> offset) & ((1 << width) - 1)
        if is_signed and value >> (width - 1):
            value -= 1 << width
        values[name] = value
        offset += width
    return values


# ---------------------------------------------------------------------------------------
# The engine (hw/engine): how a layer is laid out in its memories.
#
# Activation maps are stored unpadded and channel-major, address = base + c*H*W + y*W + x.
# Each lane walks a list of weight words, one a cycle; a word names one nonzero weight by
# its offset into the unpadded input map, ci*H*W + ky*W + kx, plus (ky, kx) so the lane can
# tell a read that falls in the zero padding (which it then skips: x = 0, no memory read).
# ---------------------------------------------------------------------------------------


class LayerMode(IntEnum):
    """How a lane accumulates: ternary (x into P or N by the weight's sign) or dense int8."""
    TERNARY = 0
    DENSE = 1


#: Address width of the activation memory (int8 words).
ACT_ADDR_WIDTH = 16
#: Width of a map dimension (H, W of inputs; pooled output rows and columns).
DIM_WIDTH = 8
#: Width of a kernel coordinate ky, kx (kernels up to 16 x 16; linear layers use 0, 0).
KERNEL_WIDTH = 4
#: Width of a channel number.
CHAN_WIDTH = 8
MAX_CHANNELS = 1 << CHAN_WIDTH
#: Address width of the epilogue parameter memory, which holds every layer's channels.
PARAM_ADDR_WIDTH = 10

#: One weight word. ``w`` is the int8 weight in dense mode and +1 / -1 in ternary mode;
#: ``last`` ends the words of one output channel. A channel with no nonzero weight is one
#: word with ``w = 0`` (so that its constant output is still produced).
WEIGHT_WORD_FIELDS = (
    ("off", ACT_ADDR_WIDTH, False),
    ("ky", KERNEL_WIDTH, False),
    ("kx", KERNEL_WIDTH, False),
    ("w", ACT_WIDTH, True),
    ("last", 1, False),
)

#: Width of a channel's chunk count: how many lanes share one output value's words.
CHUNKS_WIDTH = 7

#: One output channel's epilogue parameters, as stored in the engine's parameter memory.
#: ``chunks`` > 1: the channel's words are split among that many lanes (single-position
#: layers), whose partial sums the engine adds before the epilogue; 0 and 1 mean whole.
PARAM_WORD_FIELDS = (
    ("m_r", MULT_WIDTH, True),
    ("m_l", MULT_WIDTH, True),
    ("bias", BIAS_WIDTH, True),
    ("shift", SHIFT_WIDTH, False),
    ("chunks", CHUNKS_WIDTH, False),
)

#: Results each lane can hold while waiting for the shared epilogue. A lane issues a word
#: only while its queue plus the words in its two pipeline stages leave room for a result.
LANE_FIFO_DEPTH = 4

#: The engine's performance counters, in the order the device reports them.
ENGINE_COUNTERS = (
    "busy_cycles",      # cycles from start to the last output written
    "adds_plus",        # ternary: activations added into P (dense: mult-adds)
    "adds_minus",       # ternary: activations added into N
    "weight_words",     # weight words read by all lanes
    "act_reads",        # activation words read (reads in the zero padding are skipped)
    "act_writes",       # output words written
    "lane_stall_cycles",  # lane-cycles a lane with work waited for room in its queue
)

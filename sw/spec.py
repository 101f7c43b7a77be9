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
    "FORMAT_VERSION", "PROGRAM_FILE_VERSION",
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
    "LayerMode", "ACT_ADDR_WIDTH", "DIM_WIDTH", "KERNEL_WIDTH", "CHAN_WIDTH", "MAX_CHANNELS",
    "PARAM_ADDR_WIDTH",
    "WEIGHT_WORD_FIELDS", "PARAM_WORD_FIELDS", "CHUNKS_WIDTH", "LANE_FIFO_DEPTH", "LANE_STAGES",
    "ENGINE_WIDTHS", "ENGINE_EPILOGUE_STAGES", "ENGINE_COUNTERS", "layer_is_wide",
    "LAYER_CONFIG_FIELDS", "lane_config_fields", "CONFIG_WORD_WIDTH", "config_words_per_layer",
    "pack_layer_config",
    "LINK_VERSION", "LINK_SYNC", "LINK_HEADER_BYTES", "LINK_CRC_BYTES", "LINK_MAX_PAYLOAD",
    "LINK_TIMEOUT_BYTES", "LINK_MAGIC", "Op", "Status", "Mem", "MEM_WORD_BYTES", "Board",
    "Capability", "HELLO_FIELDS", "SEQUENCER_LAYER_OVERHEAD", "RUN_RESULT_FIELDS",
    "POWER_CHANNELS", "POWER_FIELDS",
    "field_bytes", "pack_bytes", "unpack_bytes",
]

#: Version of the integer contract (the meaning of every number in this module, and of the
#: memory images and frames derived from it). The device reports it in HELLO
#: (``format_version``) and the driver checks it. Bump it whenever anything in this module
#: changes meaning.
FORMAT_VERSION = 2

#: Version of the program file (``.attq``, docs/program-format.md), apart from the integer
#: contract: a change to the file alone (version 2: the model's input transform in
#: ``meta.input_transform``) bumps this and leaves the device's ``FORMAT_VERSION`` as it is.
PROGRAM_FILE_VERSION = 2


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
#: output is ready: the dual-scale unit's pipeline stages (input; partial products;
#: carry-save; sum; shift; LeakyReLU's partial products; their sum; saturation), each with at
#: most one multiplier or one carry chain, for 100 MHz on an ECP5 -6 (hw.dual_scale).
EPILOGUE_LATENCY = 8


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

#: Widths V the engine can be built with: output positions one weight word serves, read
#: from V consecutive bytes of the activation memory (V banks, one byte each).
ENGINE_WIDTHS = (1, 2, 4, 8)

#: Pipeline registers of a lane after the issue of a word: the word as fetched (beside its
#: block RAM), the word, its activation address, the bank read, the bytes held beside
#: their block RAMs, the bytes as they reach the lane, the bytes in column order, the
#: selected terms, the accumulators (which push a channel's result). A block RAM's output
#: is registered beside it before any route or logic (ECP5 block RAMs take 5.8 ns from
#: clock to data and lie in rows across the die), and chosen among blocks after that.
LANE_STAGES = 9

#: Results each lane can hold while waiting for the shared epilogue. A lane issues a word
#: only while its queue plus the words in its LANE_STAGES pipeline stages leave room for a
#: result.
LANE_FIFO_DEPTH = 16

#: Registers from the arbiter's grant to the write-back, besides the dual-scale unit's
#: EPILOGUE_LATENCY: the granted result, the parameter read, the parameters as read, the
#: chunk sum, the pooled columns, the pooled columns again (beside the running maximum),
#: the write.
ENGINE_EPILOGUE_STAGES = 7


def layer_is_wide(width, stride_w, pool_w):
    """Whether a layer runs ``width`` positions per word on an engine of that width.

    Its V positions are V consecutive output columns read from V consecutive input bytes,
    so the stride along a row must be 1 and a pooling window must not straddle two words
    (``pool_w`` divides ``width``); any other layer runs one position per word (``narrow``).
    """
    return width > 1 and stride_w == 1 and width % pool_w == 0


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


#: The layer registers every lane and the epilogue read (hw/engine/layouts.py builds its
#: ``layer_config_layout`` from this table; the host packs it into configuration words).
LAYER_CONFIG_FIELDS = (
    ("mode", 1, False),                     # LayerMode
    ("h", DIM_WIDTH, False),                # input map height and width (unpadded)
    ("w", DIM_WIDTH, False),
    ("stride_h", KERNEL_WIDTH, False),
    ("stride_w", KERNEL_WIDTH, False),
    ("pad_h", KERNEL_WIDTH, False),
    ("pad_w", KERNEL_WIDTH, False),
    ("row_step", ACT_ADDR_WIDTH, False),    # stride_h * w
    ("pool_h", 1, False),                   # 1: 2-row max pooling window
    ("pool_w", 1, False),                   # 1: 2-column max pooling window
    ("narrow", 1, False),                   # 1: one position per word (layer_is_wide)
    ("out_h", DIM_WIDTH, False),            # output rows and columns after pooling
    ("out_w", DIM_WIDTH, False),
    ("in_base", ACT_ADDR_WIDTH, False),
    ("out_base", ACT_ADDR_WIDTH, False),
    ("param_base", PARAM_ADDR_WIDTH, False),  # the layer's channel 0 in the parameter memory
    ("act", ACT_MODE_WIDTH, False),
    ("slope", SLOPE_WIDTH, False),
)


def lane_config_fields(word_addr_width):
    """One lane's registers: its words (per step) and channels, and the run of column groups
    it computes them for, from the group at pooled output ``(i0, j0)`` in row-major order.

    A layer's pooled outputs are cut, row by row, into groups of ``Wg`` consecutive columns
    (``Wg = V / (1+pool_w)`` for a wide layer, 1 for a narrow one, :func:`layer_is_wide`); a
    group's steps run over its rows ``dy`` and, narrow, its columns ``dx`` of the pooling
    window, and each step computes V consecutive output columns (wide) or one.
    ``y0``, ``x0`` and ``row`` are the first step's top-left input pixel and its row
    address: ``y0 = i0*(1+pool_h)*stride_h - pad_h``, ``x0 = j0*(1+pool_w)*stride_w - pad_w``,
    ``row = y0*w``. ``groups = 0``: the lane sits the layer out.
    """
    return (
        ("word_base", word_addr_width, False),
        ("n_words", word_addr_width + 1, False),
        ("chan_base", CHAN_WIDTH, False),
        ("i0", DIM_WIDTH, False),
        ("j0", DIM_WIDTH, False),
        ("groups", 2 * DIM_WIDTH, False),
        ("y0", DIM_WIDTH + KERNEL_WIDTH + 2, True),
        ("x0", DIM_WIDTH + KERNEL_WIDTH + 2, True),
        ("row", ACT_ADDR_WIDTH + 2, True),
    )


#: The device keeps every layer's registers in a configuration memory of 32-bit words; a
#: layer's image is its LAYER_CONFIG_FIELDS then each lane's fields, first field lowest,
#: padded to whole words.
CONFIG_WORD_WIDTH = 32


def config_words_per_layer(lanes, word_addr_width):
    """Configuration words one layer's register image takes."""
    bits = fields_width(LAYER_CONFIG_FIELDS) + lanes * fields_width(
        lane_config_fields(word_addr_width))
    return -(-bits // CONFIG_WORD_WIDTH)


def pack_layer_config(cfg, lane_cfgs, word_addr_width):
    """A layer's register image as a list of :data:`CONFIG_WORD_WIDTH`-bit words."""
    lane_fields = lane_config_fields(word_addr_width)
    image = pack_fields(LAYER_CONFIG_FIELDS, cfg)
    offset = fields_width(LAYER_CONFIG_FIELDS)
    for lane in lane_cfgs:
        image |= pack_fields(lane_fields, lane) << offset
        offset += fields_width(lane_fields)
    n = config_words_per_layer(len(lane_cfgs), word_addr_width)
    mask = (1 << CONFIG_WORD_WIDTH) - 1
    return [(image >> (CONFIG_WORD_WIDTH * k)) & mask for k in range(n)]


# ---------------------------------------------------------------------------------------
# The link (hw/link, sw/link): frames over a UART, both directions the same shape:
#
#   SYNC | length (2, LE) | seq (1) | code (1) | payload (length bytes) | CRC-32 (4, LE)
#
# ``code`` is an :class:`Op` in a request and a :class:`Status` in a response; a response
# echoes its request's ``seq``. The CRC is CRC-32/ISO-HDLC (``zlib.crc32``; Amaranth's
# ``amaranth.lib.crc.catalog.CRC32_ISO_HDLC``) over length, seq, code and payload. Multi-byte
# numbers are little-endian. A receiver hunts for SYNC, drops a frame whose length exceeds
# LINK_MAX_PAYLOAD, and drops a partial frame LINK_TIMEOUT_BYTES byte times after the last
# byte it took (taken in its stop bit), so that no garbage can wedge it. A request with a bad CRC is answered with
# Status.CRC_ERROR (the NAK) and the request's seq as received; the host resends.
# A request whose seq and code equal the last one executed is a resend whose response was
# lost: RUN is then not executed again (its cached result is sent), so a retried run never
# reads an input map that the first run overwrote; every other op is idempotent.
# ---------------------------------------------------------------------------------------

#: Version of the link protocol (frame layout, ops, payloads). 2: the POWER reply carries
#: the die temperature too.
LINK_VERSION = 2
LINK_SYNC = 0xA5
#: SYNC, length, seq, code.
LINK_HEADER_BYTES = 5
LINK_CRC_BYTES = 4
#: Largest payload in either direction.
LINK_MAX_PAYLOAD = 1024
LINK_TIMEOUT_BYTES = 32
LINK_MAGIC = b"ATTQ"


class Op(IntEnum):
    """Request codes."""
    HELLO = 0x01        # -> HELLO_FIELDS
    WRITE = 0x02        # mem (1), lane (1), addr (2), words (MEM_WORD_BYTES[mem] each)
    READ = 0x03         # mem (1), lane (1), addr (2), count (2) -> the words
    RUN = 0x04          # first layer (1), layer count (1) -> RUN_RESULT_FIELDS
    COUNTERS = 0x05     # -> ENGINE_COUNTERS, 4 bytes each, summed over the last RUN
    POWER = 0x06        # -> POWER_FIELDS, of the last RUN and the idle time before it


class Status(IntEnum):
    """Response codes."""
    OK = 0x00
    CRC_ERROR = 0x01    # the request's CRC did not match: resend it
    BAD_OP = 0x02       # unknown op
    BAD_ARGS = 0x03     # memory, lane, address range, count or layer range not valid
    BAD_LENGTH = 0x04   # payload length does not fit the op


class Mem(IntEnum):
    """Memories a WRITE or READ addresses (READ: ACT only)."""
    ACT = 0             # activation maps, int8
    WEIGHT = 1          # one lane's weight words (``lane`` picks it)
    CHAN = 2            # one lane's channel table
    PARAM = 3           # epilogue parameters
    CONFIG = 4          # layer register images (config_words_per_layer words a layer)


#: Bytes one word of each memory takes in a WRITE or READ payload.
MEM_WORD_BYTES = {
    Mem.ACT: 1,
    Mem.WEIGHT: -(-fields_width(WEIGHT_WORD_FIELDS) // 8),
    Mem.CHAN: 1,
    Mem.PARAM: -(-fields_width(PARAM_WORD_FIELDS) // 8),
    Mem.CONFIG: CONFIG_WORD_WIDTH // 8,
}


class Board(IntEnum):
    """The ``board`` a device names in its HELLO."""
    VIRTUAL = 0         # the verilated top behind a TCP socket
    ARTY_A7_35T = 1
    ARTY_A7_100T = 2
    ULX3S_85F = 3
    GOLDEN = 4          # the host-side golden model speaking the protocol


class Capability(IntEnum):
    """Bits of the HELLO ``caps`` field."""
    TERNARY = 1 << 0
    DENSE = 1 << 1
    MAX_POOL = 1 << 2
    LEAKY_RELU = 1 << 3
    POWER = 1 << 4      # an XADC power meter answers POWER with real samples
    POWER_MODEL = 1 << 5  # POWER answers from a model (simulation)


#: HELLO response payload, byte fields (name, bytes), in order.
HELLO_FIELDS = (
    ("magic", 4),           # LINK_MAGIC
    ("link_version", 1),
    ("format_version", 1),  # FORMAT_VERSION
    ("board", 1),           # Board
    ("caps", 2),            # Capability bits
    ("lanes", 1),
    ("width", 1),           # positions per weight word, V (ENGINE_WIDTHS)
    ("lane_words", 2),      # weight words per lane
    ("act_depth", 2),       # activation bytes
    ("chan_depth", 2),      # channel-table entries per lane
    ("param_depth", 2),     # parameter words
    ("config_depth", 2),    # configuration words
    ("config_words", 1),    # configuration words per layer
    ("max_payload", 2),     # LINK_MAX_PAYLOAD
    ("clk_hz", 4),
    ("baud", 4),
)

#: Cycles a layer costs the device's layer sequencer beyond the engine's busy cycles and
#: the layer's configuration words (two to read the first word, through the configuration
#: memory and the register after it, one to pulse start, one to see busy fall): a RUN takes
#: sum(busy_cycles + config_words + SEQUENCER_LAYER_OVERHEAD).
SEQUENCER_LAYER_OVERHEAD = 4

#: RUN response payload.
RUN_RESULT_FIELDS = (
    ("cycles", 4),          # clock cycles from the first layer's start to the last's end
    ("layers", 1),          # layers run
)

#: XADC channels the power meter samples (ARCHITECTURE.md "Board and link"), and the die
#: temperature sensor, which ``board check`` reads (docs/power.md).
POWER_CHANNELS = ("vccint", "isns0v95", "vsns5v0", "isns5v0", "temperature")

#: POWER response payload: 16-bit XADC codes summed over the samples taken while the last
#: RUN was busy and over the idle time before it. A sample is one complete set of
#: conversions, one code of each of POWER_CHANNELS, so ``run_<channel> / run_samples`` is
#: that channel's exact mean code.
POWER_FIELDS = (
    ("run_cycles", 4),
    ("run_samples", 4),
    ("idle_samples", 4),
) + tuple((f"run_{c}", 6) for c in POWER_CHANNELS) + tuple(
    (f"idle_{c}", 6) for c in POWER_CHANNELS)


def field_bytes(fields):
    """Total bytes of a byte-field table such as :data:`HELLO_FIELDS`."""
    return sum(n for _, n in fields)


def pack_bytes(fields, values):
    """Pack a mapping into little-endian byte fields (raises ValueError if one does not fit)."""
    out = bytearray()
    for name, n in fields:
        value = values[name]
        if isinstance(value, (bytes, bytearray)):
            if len(value) != n:
                raise ValueError(f"{name} must be {n} bytes, not {len(value)}")
            out += value
        else:
            check_int(name, value, 0, (1 << (8 * n)) - 1)
            out += int(value).to_bytes(n, "little")
    return bytes(out)


def unpack_bytes(fields, payload):
    """Inverse of :func:`pack_bytes` (``magic`` stays bytes); ValueError on a wrong length."""
    if len(payload) != field_bytes(fields):
        raise ValueError(f"payload is {len(payload)} bytes, expected {field_bytes(fields)}")
    values, offset = {}, 0
    for name, n in fields:
        chunk = bytes(payload[offset:offset + n])
        values[name] = chunk if name == "magic" else int.from_bytes(chunk, "little")
        offset += n
    return values

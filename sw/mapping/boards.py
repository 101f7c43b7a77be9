"""The board configurations: what each device build holds (engine sizes, clock, baud,
power measurement, block RAM). The hardware (hw.board, hw.virtual, hw.build) builds from
this table and the host (device plan, driver, compile's fit check, model budgets) reads it,
so a size is written once.

The Arty A7's FT2232H makes 12 MBd / n exactly, and 100 MHz / 4 MBd = 25 clock cycles a
bit, so 4 MBd is exact at both ends. The ULX3S's FT231X makes 3 MBd / n: 1 MBd is exact
there and 100 cycles of its 100 MHz clock (the PLL's, from the board's 25 MHz oscillator).
"""

import dataclasses

from .. import spec
from ..spec import Board

__all__ = ["BoardConfig", "BOARDS", "board_config", "board_variant", "DEFAULT_BOARD"]


@dataclasses.dataclass(frozen=True)
class BoardConfig:
    """One device build.

    Attributes
    ----------
    name : str
    board : sw.spec.Board
        What the device names itself in its HELLO.
    clk_hz, baud : int
        ``clk_hz`` must be a whole multiple of ``baud``.
    lanes, width, lane_words, act_depth : int
        The engine's size (:class:`hw.engine.layer_engine.LayerEngine`): P lanes, each
        computing V = ``width`` output positions per weight word.
    config_depth : int
        Configuration words (every layer's register image, ``sw.spec.config_words_per_layer``
        words each).
    power : str or None
        ``"xadc"`` (the Arty's XADC), ``"model"`` (simulation stand-in) or None.
    bram_bytes : int
        Block RAM of the FPGA, in bytes: the budget a model's weights, parameters and maps
        are sized against (:func:`sw.models.budget.engine_budget`).
    """
    name: str
    board: Board
    clk_hz: int
    baud: int
    lanes: int = 8
    width: int = 4
    lane_words: int = 3072
    act_depth: int = 6144
    config_depth: int = 1024
    power: str = None
    bram_bytes: int = 0

    def __post_init__(self):
        if self.width not in spec.ENGINE_WIDTHS or self.act_depth % self.width:
            raise ValueError(f"{self.name}: width {self.width} must be one of "
                             f"{spec.ENGINE_WIDTHS} and divide act_depth {self.act_depth}")
        if self.clk_hz % self.baud:
            raise ValueError(f"{self.name}: clk_hz {self.clk_hz} is not a whole multiple of "
                             f"baud {self.baud}")

    @property
    def divisor(self):
        """Clock cycles per UART bit."""
        return self.clk_hz // self.baud

    @property
    def word_addr_width(self):
        return (self.lane_words - 1).bit_length()

    @property
    def config_words(self):
        return spec.config_words_per_layer(self.lanes, self.word_addr_width)

    @property
    def max_layers(self):
        return self.config_depth // self.config_words

    @property
    def caps(self):
        caps = (spec.Capability.TERNARY | spec.Capability.DENSE | spec.Capability.MAX_POOL
                | spec.Capability.LEAKY_RELU)
        if self.power == "xadc":
            caps |= spec.Capability.POWER
        elif self.power == "model":
            caps |= spec.Capability.POWER_MODEL
        return int(caps)

    def hello(self):
        """The HELLO payload's values (``sw.spec.HELLO_FIELDS``)."""
        return {
            "magic": spec.LINK_MAGIC, "link_version": spec.LINK_VERSION,
            "format_version": spec.FORMAT_VERSION, "board": int(self.board),
            "caps": self.caps, "lanes": self.lanes, "width": self.width,
            "lane_words": self.lane_words,
            "act_depth": self.act_depth, "chan_depth": spec.MAX_CHANNELS,
            "param_depth": 1 << spec.PARAM_ADDR_WIDTH, "config_depth": self.config_depth,
            "config_words": self.config_words, "max_payload": spec.LINK_MAX_PAYLOAD,
            "clk_hz": self.clk_hz, "baud": self.baud,
        }

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


_ARTY = dict(clk_hz=100_000_000, baud=4_000_000, lanes=8, width=4, lane_words=3072,
             act_depth=6144)

#: Block RAM (Xilinx DS180; Lattice FPGA-DS-02012): XC7A35T 50 RAMB36, XC7A100T 135 RAMB36
#: (36 Kb each); LFE5U-85F 208 DP16KD (18 Kb each).
_XC7A35T_BRAM = 50 * 36 * 1024 // 8
_XC7A100T_BRAM = 135 * 36 * 1024 // 8
_LFE5U85_BRAM = 208 * 18 * 1024 // 8

BOARDS = {
    "arty_a7_35t": BoardConfig("arty_a7_35t", Board.ARTY_A7_35T, power="xadc",
                                bram_bytes=_XC7A35T_BRAM, **_ARTY),
    # The 100T has 135 RAMB36 against the 35T's 50: room for 16 lanes with the same
    # memories (results/engine_synth.md: 76 RAMB36 at P = 16).
    "arty_a7_100t": BoardConfig("arty_a7_100t", Board.ARTY_A7_100T, power="xadc",
                                bram_bytes=_XC7A100T_BRAM, **{**_ARTY, "lanes": 16}),
    # 100 MHz from the ECP5's PLL (hw.boards.ulx3s), the board's oscillator being 25 MHz.
    "ulx3s_85f": BoardConfig("ulx3s_85f", Board.ULX3S_85F, clk_hz=100_000_000,
                             baud=1_000_000, lanes=8, width=4, lane_words=3072, act_depth=6144,
                             bram_bytes=_LFE5U85_BRAM),
    # The virtual board is the 35T build, verilated, with the XADC's simulation model.
    "virtual": BoardConfig("virtual", Board.VIRTUAL, power="model",
                            bram_bytes=_XC7A35T_BRAM, **_ARTY),
}


#: The board the host assumes when none is named (the golden device's sizes, model budgets).
DEFAULT_BOARD = "arty_a7_35t"


def board_config(name=DEFAULT_BOARD):
    """The :class:`BoardConfig` called ``name``; ValueError listing the known ones."""
    try:
        return BOARDS[name]
    except KeyError:
        raise ValueError(f"unknown board {name!r}: known boards are "
                         f"{', '.join(sorted(BOARDS))}") from None


def board_variant(board, variant=None):
    """The :class:`BoardConfig` a command line's ``--board`` and ``--variant`` name, as
    ``python -m hw.build`` takes them: ``arty_a7`` and ``100t`` name ``arty_a7_100t``; a
    board without a variant is its first (``arty_a7``: the 35T); a whole name
    (``ulx3s_85f``, ``virtual``) is taken as it is.

    Raises
    ------
    sw.errors.InputError
        For a board or variant no build makes, listing the known ones.
    """
    from ..errors import InputError
    variants = {}
    for name in BOARDS:
        base, _, var = name.rpartition("_")
        if base and var[0].isdigit():
            variants.setdefault(base, []).append(var)
    known = ", ".join([f"{b} ({', '.join(v)})" for b, v in variants.items()]
                      + [n for n in BOARDS if n.rpartition("_")[0] not in variants])
    if board in BOARDS:
        if variant is not None:
            raise InputError(f"--variant: {board} is one build and takes none; the boards "
                             f"are {known}")
        return BOARDS[board]
    if board not in variants:
        raise InputError(f"--board: unknown board {board!r}; expected one of {known}")
    if variant is None:
        variant = variants[board][0]
    if variant.lower() not in variants[board]:
        raise InputError(f"--variant: {board} has no variant {variant!r}; expected one of "
                         f"{', '.join(variants[board])}")
    return BOARDS[f"{board}_{variant.lower()}"]

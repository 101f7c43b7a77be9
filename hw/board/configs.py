"""What each device build holds: engine sizes, clock, baud, power measurement.

The Arty A7's FT2232H makes 12 MBd / n exactly, and 100 MHz / 4 MBd = 25 clock cycles a
bit, so 4 MBd is exact at both ends. The ULX3S's FT231X makes 3 MBd / n: 1 MBd is exact
there and 25 cycles of its 25 MHz clock.
"""

import dataclasses

from sw import spec
from sw.spec import Board

__all__ = ["BoardConfig", "BOARDS", "board_config"]


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
    lanes, lane_words, act_depth : int
        The engine's size (:class:`hw.engine.layer_engine.LayerEngine`).
    config_depth : int
        Configuration words (every layer's register image, ``sw.spec.config_words_per_layer``
        words each).
    power : str or None
        ``"xadc"`` (the Arty's XADC), ``"model"`` (simulation stand-in) or None.
    """
    name: str
    board: Board
    clk_hz: int
    baud: int
    lanes: int = 8
    lane_words: int = 3072
    act_depth: int = 6144
    config_depth: int = 1024
    power: str = None

    def __post_init__(self):
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
            "caps": self.caps, "lanes": self.lanes, "lane_words": self.lane_words,
            "act_depth": self.act_depth, "chan_depth": spec.MAX_CHANNELS,
            "param_depth": 1 << spec.PARAM_ADDR_WIDTH, "config_depth": self.config_depth,
            "config_words": self.config_words, "max_payload": spec.LINK_MAX_PAYLOAD,
            "clk_hz": self.clk_hz, "baud": self.baud,
        }

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


_ARTY = dict(clk_hz=100_000_000, baud=4_000_000, lanes=8, lane_words=3072, act_depth=6144)

BOARDS = {
    "arty_a7_35t": BoardConfig("arty_a7_35t", Board.ARTY_A7_35T, power="xadc", **_ARTY),
    # The 100T has 135 RAMB36 against the 35T's 50: room for 16 lanes with the same
    # memories (results/engine_synth.md: 76 RAMB36 at P = 16).
    "arty_a7_100t": BoardConfig("arty_a7_100t", Board.ARTY_A7_100T, power="xadc",
                                **{**_ARTY, "lanes": 16}),
    "ulx3s_85f": BoardConfig("ulx3s_85f", Board.ULX3S_85F, clk_hz=25_000_000,
                             baud=1_000_000, lanes=8, lane_words=3072, act_depth=6144),
    # The virtual board is the 35T build, verilated, with the XADC's simulation model.
    "virtual": BoardConfig("virtual", Board.VIRTUAL, power="model", **_ARTY),
}


def board_config(name):
    """The :class:`BoardConfig` called ``name``; ValueError listing the known ones."""
    try:
        return BOARDS[name]
    except KeyError:
        raise ValueError(f"unknown board {name!r}: known boards are "
                         f"{', '.join(sorted(BOARDS))}") from None

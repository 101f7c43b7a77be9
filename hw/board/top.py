"""Board tops: the :class:`~hw.board.system.System` on a board's pins."""

from amaranth.hdl import Elaboratable, Module
from amaranth.lib import io

from sw.mapping.boards import board_config
from .system import System

__all__ = ["BoardTop", "board_platform", "PLATFORMS"]

#: Board name -> the amaranth platform it builds for.
PLATFORMS = {
    "arty_a7_35t": ("hw.boards.arty_a7", "ArtyA7_35Platform"),
    "arty_a7_100t": ("hw.boards.arty_a7", "ArtyA7_100Platform"),
    "ulx3s_85f": ("hw.boards.ulx3s", "ULX3S_85F_Platform"),
}


def board_platform(name):
    """A new platform object for board ``name`` (a key of :data:`PLATFORMS`)."""
    import importlib
    try:
        module, cls = PLATFORMS[name]
    except KeyError:
        raise ValueError(f"no platform for board {name!r}: known boards are "
                         f"{', '.join(sorted(PLATFORMS))}") from None
    return getattr(importlib.import_module(module), cls)()


class BoardTop(Elaboratable):
    """The device on a board: UART to the host's USB serial bridge, the first four LEDs.

    The clock and reset are the platform's ``sync`` domain: the Arty's 100 MHz oscillator and
    its RESET button; on the ULX3S, 100 MHz from the ECP5's PLL, held in reset until it locks
    (:mod:`hw.boards.ulx3s`).

    Parameters
    ----------
    board : str or sw.mapping.boards.BoardConfig
        ``"arty_a7_35t"``, ``"arty_a7_100t"`` or ``"ulx3s_85f"`` (``sw.mapping.boards.BOARDS``).
    """

    def __init__(self, board):
        self.config = board_config(board) if isinstance(board, str) else board

    def elaborate(self, platform):
        m = Module()
        if platform is not None and platform.default_clk_frequency != self.config.clk_hz:
            raise ValueError(f"{self.config.name} expects a {self.config.clk_hz} Hz clock; "
                             f"the platform's is {platform.default_clk_frequency} Hz")
        m.submodules.system = system = System(self.config)
        uart = platform.request("uart", 0, dir="-")
        m.submodules.uart_rx = rx = io.Buffer("i", uart.rx)
        m.submodules.uart_tx = tx = io.Buffer("o", uart.tx)
        m.d.comb += [system.rx.eq(rx.i), tx.o.eq(system.tx)]
        for k in range(4):
            m.submodules[f"led{k}"] = led = io.Buffer("o", platform.request("led", k, dir="-"))
            m.d.comb += led.o.eq(system.leds[k])
        return m

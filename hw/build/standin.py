"""A stand-in board top used until ``hw.board.top.BoardTop`` exists (temporary)."""

from amaranth.hdl import Elaboratable, Module
from amaranth.lib import io

from ..board.configs import BOARDS
from ..board.system import System

__all__ = ["StandInTop"]


class StandInTop(Elaboratable):
    """:class:`~hw.board.system.System` for ``name`` (a key of ``BOARDS``) on the board's
    default clock, UART and first four LEDs."""

    def __init__(self, name):
        self.config = BOARDS[name]

    def elaborate(self, platform):
        m = Module()
        m.submodules.system = system = System(self.config)
        uart = platform.request("uart", 0, dir={"tx": "-", "rx": "-"})
        m.submodules.tx = tx = io.Buffer("o", uart.tx)
        m.submodules.rx = rx = io.Buffer("i", uart.rx)
        m.d.comb += [system.rx.eq(rx.i), tx.o.eq(system.tx)]
        for k in range(4):
            m.submodules[f"led{k}"] = led = io.Buffer("o", platform.request("led", k, dir="-"))
            m.d.comb += led.o.eq(system.leds[k])
        return m

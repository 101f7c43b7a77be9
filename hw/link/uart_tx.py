"""UART transmitter (8N1) for the link."""

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from sw import spec

__all__ = ["UARTTransmitter"]


class UARTTransmitter(wiring.Component):
    """8N1 UART transmitter; bytes taken back to back leave with no idle time between them.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit, at least 2.

    Attributes
    ----------
    i : In(stream.Signature(8))
        Bytes to send; one is taken in the last cycle of the previous stop bit (or at once
        when idle).
    tx : Out(1)
        The pin: a register, high at reset and when idle.
    """

    i: In(stream.Signature(8))
    tx: Out(1, init=1)

    def __new__(cls, divisor):
        # Checked here, before the object exists: Amaranth reports an elaboratable that is
        # created and never elaborated (UnusedElaboratable), refused ones included.
        spec.check_int("divisor", divisor, 2, 1 << 16)
        return super().__new__(cls, src_loc_at=1)

    def __init__(self, divisor):
        self.divisor = int(divisor)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        d = self.divisor
        timer = Signal(range(d))
        bits_left = Signal(range(10))
        shreg = Signal(9)   # the data bits, then the stop bit

        # ready: idle, or the last cycle of a stop bit (the line is high either way); a
        # register, worked out a cycle ahead, so that the sender's logic starts from one.
        ready = Signal(init=1)
        m.d.comb += self.i.ready.eq(ready)
        with m.If(timer != 0):
            m.d.sync += [timer.eq(timer - 1), ready.eq((timer == 1) & (bits_left == 0))]
        with m.Elif(bits_left != 0):
            m.d.sync += [self.tx.eq(shreg[0]), shreg.eq(shreg >> 1),
                         bits_left.eq(bits_left - 1), timer.eq(d - 1), ready.eq(0)]
        with m.Else():
            with m.If(self.i.valid):
                m.d.sync += [self.tx.eq(0), shreg.eq(Cat(self.i.payload, Const(1, 1))),
                             bits_left.eq(9), timer.eq(d - 1), ready.eq(0)]
        return m

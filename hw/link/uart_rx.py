"""UART receiver (8N1) for the link."""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

from sw import spec

__all__ = ["UARTReceiver"]


class UARTReceiver(wiring.Component):
    """8N1 UART receiver sampling each bit in its middle.

    A falling edge on the idle line starts a byte; the line is sampled again half a bit
    later, and a start bit no longer high by then is taken, while one that is high again
    was a glitch and is ignored. Data bits are sampled a whole bit apart from there, LSB
    first, then the stop bit: a low stop bit drops the byte, pulses ``frame_error`` and
    waits for the line to go high again (a break is not a stream of zero bytes).

    A UART cannot be paused, so ``o`` has no real back-pressure: a received byte waits in
    a one-byte register with ``o.valid`` high until it is taken; a byte that completes
    while the register is still full is dropped and ``overrun`` pulses.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit, at least 2 (100 MHz / 4 Mbaud = 25).

    Attributes
    ----------
    rx : In(1)
        The pin, idle high; it goes through a :class:`~amaranth.lib.cdc.FFSynchronizer`.
    o : Out(stream.Signature(8))
        Received bytes.
    frame_error : Out(1)
        One-cycle pulse: a byte's stop bit was low.
    overrun : Out(1)
        One-cycle pulse: a byte was dropped because the previous one was not yet taken.
    """

    rx: In(1, init=1)
    o: Out(stream.Signature(8))
    frame_error: Out(1)
    overrun: Out(1)

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
        rx = Signal(init=1)
        m.submodules.sync_rx = FFSynchronizer(self.rx, rx, init=1)

        timer = Signal(range(d))
        bits = Signal(range(9))
        shreg = Signal(8)
        done = Signal()

        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(done):
            # A byte still unread (and not being read now) keeps its place: drop the new one.
            with m.If(self.o.valid & ~self.o.ready):
                m.d.comb += self.overrun.eq(1)
            with m.Else():
                m.d.sync += [self.o.payload.eq(shreg), self.o.valid.eq(1)]

        with m.If(timer != 0):
            m.d.sync += timer.eq(timer - 1)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx):
                    # Sample half a bit after the edge: the middle of the start bit.
                    m.d.sync += timer.eq(d // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(timer == 0):
                    with m.If(rx):
                        m.next = "IDLE"     # shorter than half a bit: a glitch
                    with m.Else():
                        m.d.sync += [timer.eq(d - 1), bits.eq(0)]
                        m.next = "DATA"
            with m.State("DATA"):
                with m.If(timer == 0):
                    m.d.sync += [shreg.eq(Cat(shreg[1:], rx)),
                                 timer.eq(d - 1), bits.eq(bits + 1)]
                    with m.If(bits == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                with m.If(timer == 0):
                    with m.If(rx):
                        m.d.comb += done.eq(1)
                        # Back to IDLE mid-stop-bit, so a sender slightly faster than us
                        # still has its next start edge seen.
                        m.next = "IDLE"
                    with m.Else():
                        m.d.comb += self.frame_error.eq(1)
                        m.next = "BREAK"
            with m.State("BREAK"):
                with m.If(rx):
                    m.next = "IDLE"
        return m

"""Link echo: the whole link (UART, frames, CRC) around a trivial responder."""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.link.frame_receiver import FrameReceiver
from hw.link.frame_transmitter import FrameTransmitter
from hw.link.uart_rx import UARTReceiver
from hw.link.uart_tx import UARTTransmitter
from sw import spec

__all__ = ["LinkEcho"]


class LinkEcho(wiring.Component):
    """UART pins in and out; each good frame answered with its payload reversed.

    ``UARTReceiver -> FrameReceiver -> responder -> FrameTransmitter -> UARTTransmitter``.
    The responder answers a frame with a good CRC with ``Status.OK``, the request's seq and
    the payload in reverse order, and one with a bad CRC with ``Status.CRC_ERROR`` (the
    NAK), the seq as received and no payload. It is the link benches' device, and a first
    bitstream to try a board's link with.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit.
    max_payload : int
        Largest payload taken.
    timeout_bytes : int
        Byte times of silence after which a partial frame is dropped.

    Attributes
    ----------
    rx : In(1)
        UART pin from the host, idle high.
    tx : Out(1)
        UART pin to the host, idle high.
    frame_error, overrun : Out(1)
        The UART receiver's pulses.
    frames_ok, frames_bad : Out(16)
        Frames answered with OK and with a NAK since reset (wrapping).
    """

    rx: In(1, init=1)
    tx: Out(1, init=1)
    frame_error: Out(1)
    overrun: Out(1)
    frames_ok: Out(16)
    frames_bad: Out(16)

    def __init__(self, divisor, *, max_payload=spec.LINK_MAX_PAYLOAD,
                 timeout_bytes=spec.LINK_TIMEOUT_BYTES):
        self.divisor = divisor
        self.max_payload = max_payload
        self.timeout_cycles = timeout_bytes * 10 * divisor
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.urx = urx = UARTReceiver(self.divisor)
        m.submodules.frx = frx = FrameReceiver(self.max_payload, self.timeout_cycles)
        m.submodules.ftx = ftx = FrameTransmitter()
        m.submodules.utx = utx = UARTTransmitter(self.divisor)
        m.d.comb += [urx.rx.eq(self.rx), self.tx.eq(utx.tx),
                     self.frame_error.eq(urx.frame_error), self.overrun.eq(urx.overrun)]
        wiring.connect(m, urx.o, frx.i)
        wiring.connect(m, ftx.o, utx.i)

        info = frx.frame.payload
        k = Signal(16)   # payload bytes sent
        m.d.comb += frx.buf_addr.eq(info.length - 1 - k)

        with m.FSM():
            with m.State("WAIT"):
                m.d.comb += [ftx.header.valid.eq(frx.frame.valid),
                             ftx.header.payload.seq.eq(info.seq)]
                with m.If(info.crc_ok):
                    m.d.comb += [ftx.header.payload.code.eq(spec.Status.OK),
                                 ftx.header.payload.length.eq(info.length)]
                with m.Else():
                    m.d.comb += ftx.header.payload.code.eq(spec.Status.CRC_ERROR)
                with m.If(frx.frame.valid & ftx.header.ready):
                    m.d.sync += k.eq(0)
                    with m.If(info.crc_ok):
                        m.d.sync += self.frames_ok.eq(self.frames_ok + 1)
                        with m.If(info.length == 0):
                            m.next = "DONE"
                        with m.Else():
                            m.next = "READ"
                    with m.Else():
                        m.d.sync += self.frames_bad.eq(self.frames_bad + 1)
                        m.next = "DONE"
            with m.State("READ"):
                # The buffer's read port answers a cycle after the address.
                m.next = "OFFER"
            with m.State("OFFER"):
                m.d.comb += [ftx.payload.valid.eq(1), ftx.payload.payload.eq(frx.buf_data)]
                with m.If(ftx.payload.ready):
                    m.d.sync += k.eq(k + 1)
                    with m.If(k == info.length - 1):
                        m.next = "DONE"
                    with m.Else():
                        m.next = "READ"
            with m.State("DONE"):
                m.d.comb += frx.frame.ready.eq(1)
                m.next = "WAIT"
        return m

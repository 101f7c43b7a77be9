"""Frame transmitter: a header and its payload bytes in, a framed byte stream out."""

from amaranth.hdl import Module, Signal
from amaranth.lib import crc, stream, wiring
from amaranth.lib.wiring import In, Out

from hw.link.layouts import frame_header_layout
from sw import spec

__all__ = ["FrameTransmitter"]


class FrameTransmitter(wiring.Component):
    """Send frames (:mod:`sw.spec`, "The link") as bytes.

    On a header it sends SYNC, length (LE), seq and code, then exactly ``length`` bytes
    taken from ``payload``, then the CRC-32/ISO-HDLC (:mod:`amaranth.lib.crc`) of length,
    seq, code and payload (LE), and only then takes the next header. Payload bytes are
    taken only while a frame's payload is being sent, so a producer may offer the next
    frame's bytes early.

    Attributes
    ----------
    header : In(stream.Signature(frame_header_layout))
        ``seq``, ``code`` and ``length`` of the next frame.
    payload : In(stream.Signature(8))
        The frame's payload bytes, in order.
    o : Out(stream.Signature(8))
        The frame's bytes (to :class:`~hw.link.uart_tx.UARTTransmitter`).
    """

    header: In(stream.Signature(frame_header_layout))
    payload: In(stream.Signature(8))
    o: Out(stream.Signature(8))

    def elaborate(self, platform):
        m = Module()
        hdr = Signal(frame_header_layout)
        count = Signal(range(spec.LINK_CRC_BYTES))     # CRC bytes sent
        # Payload bytes still to send after this one: the end is a zero test on a register,
        # not a comparison with length - 1.
        left = Signal(16)

        # The CRC takes each checked byte a cycle after it is sent, from registers: the
        # byte multiplexer and the CRC's XOR network are then in different cycles.
        m.submodules.crc = gen = crc.catalog.CRC32_ISO_HDLC().create()
        sent = Signal()
        checked_sent = Signal()
        m.d.comb += sent.eq(self.o.valid & self.o.ready)
        m.d.sync += [gen.data.eq(self.o.payload), gen.valid.eq(checked_sent)]

        def send(value, then, *, checked=True):
            m.d.comb += [self.o.valid.eq(1), self.o.payload.eq(value)]
            if checked:
                m.d.comb += checked_sent.eq(sent)
            with m.If(sent):
                m.next = then

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.header.ready.eq(1)
                with m.If(self.header.valid):
                    m.d.sync += [hdr.eq(self.header.payload), count.eq(0),
                                 left.eq(self.header.payload.length - 1)]
                    m.d.comb += gen.start.eq(1)
                    m.next = "SYNC"
            with m.State("SYNC"):
                send(spec.LINK_SYNC, "LEN_LO", checked=False)
            with m.State("LEN_LO"):
                send(hdr.length[:8], "LEN_HI")
            with m.State("LEN_HI"):
                send(hdr.length[8:], "SEQ")
            with m.State("SEQ"):
                send(hdr.seq, "CODE")
            with m.State("CODE"):
                send(hdr.code, "CRC_LAST")
                with m.If(sent & (hdr.length != 0)):
                    m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                m.d.comb += [self.o.valid.eq(self.payload.valid),
                             self.o.payload.eq(self.payload.payload),
                             self.payload.ready.eq(self.o.ready), checked_sent.eq(sent)]
                with m.If(sent):
                    m.d.sync += left.eq(left - 1)
                    with m.If(left == 0):
                        m.next = "CRC_LAST"
            with m.State("CRC_LAST"):
                m.next = "CRC"                  # the CRC takes the last checked byte
            with m.State("CRC"):
                m.d.comb += [self.o.valid.eq(1), self.o.payload.eq(gen.crc.word_select(
                    count, 8))]
                with m.If(sent):
                    m.d.sync += count.eq(count + 1)
                    with m.If(count == spec.LINK_CRC_BYTES - 1):
                        m.next = "IDLE"
        return m

"""Frame receiver: bytes from the UART in, checked frames and their payload buffer out."""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import crc, stream, wiring
from amaranth.lib.wiring import In, Out

from hw.block_ram import block_ram, registered_read
from hw.link.layouts import frame_info_layout
from sw import spec

__all__ = ["FrameReceiver"]


class FrameReceiver(wiring.Component):
    """Parse frames (:mod:`sw.spec`, "The link") out of a byte stream.

    It hunts for SYNC, reads the length (one over ``max_payload`` drops the frame and
    hunting resumes with the next byte), seq, code, the payload into a buffer memory and
    the four CRC bytes, checks the CRC-32/ISO-HDLC (:mod:`amaranth.lib.crc`) over length,
    seq, code and payload, and presents the frame on ``frame`` with ``crc_ok``. A bad CRC
    is presented too (the responder NAKs it with the seq as received).

    While a frame is presented its payload is held for the consumer, which reads it
    through ``buf_addr``/``buf_data`` and asserts ``frame.ready`` when done. A UART cannot
    wait, so ``i.ready`` stays high throughout and bytes arriving meanwhile are dropped.
    A partial frame is dropped after ``timeout_cycles`` cycles without a byte, so neither
    garbage, a truncated frame nor a wrong length can wedge it.

    Parameters
    ----------
    max_payload : int
        Largest payload taken, and the buffer's depth, in ``[1, 65535]``.
    timeout_cycles : int
        Cycles without a byte after which a partial frame is dropped, at least 1: a board
        top passes ``LINK_TIMEOUT_BYTES * 10 * divisor``; the default is that for the
        Arty's divisor 25 (100 MHz, 4 Mbaud).

    Attributes
    ----------
    i : In(stream.Signature(8))
        Received bytes (from :class:`~hw.link.uart_rx.UARTReceiver`); always ready.
    frame : Out(stream.Signature(frame_info_layout))
        ``seq``, ``code``, ``length`` and ``crc_ok`` of a received frame.
    buf_addr : In(range(max_payload))
        Payload byte to read while a frame is presented.
    buf_data : Out(8)
        That byte, one cycle after the address (a synchronous read port).
    """

    def __new__(cls, max_payload=spec.LINK_MAX_PAYLOAD,
                timeout_cycles=spec.LINK_TIMEOUT_BYTES * 10 * 25):
        # Checked here, before the object exists: Amaranth reports an elaboratable that is
        # created and never elaborated (UnusedElaboratable), refused ones included.
        spec.check_int("max_payload", max_payload, 1, 0xFFFF)
        spec.check_int("timeout_cycles", timeout_cycles, 1, 1 << 32)
        return super().__new__(cls, src_loc_at=1)

    def __init__(self, max_payload=spec.LINK_MAX_PAYLOAD,
                 timeout_cycles=spec.LINK_TIMEOUT_BYTES * 10 * 25):
        self.max_payload = int(max_payload)
        self.timeout_cycles = int(timeout_cycles)
        super().__init__({
            "i": In(stream.Signature(8)),
            "frame": Out(stream.Signature(frame_info_layout)),
            "buf_addr": In(range(self.max_payload)),
            "buf_data": Out(8),
        })

    def elaborate(self, platform):
        m = Module()
        info = self.frame.payload

        m.submodules.buf = buf = block_ram(shape=8, depth=self.max_payload)
        wr = buf.write_port()
        m.d.comb += self.buf_data.eq(registered_read(m, buf, self.buf_addr, name="buf_read"))

        m.submodules.crc = chk = crc.catalog.CRC32_ISO_HDLC().create()
        m.d.comb += chk.data.eq(self.i.payload)

        # The stream never pushes back; what is done with a byte depends on the state.
        m.d.comb += self.i.ready.eq(1)
        got = Signal()
        m.d.comb += got.eq(self.i.valid)

        count = Signal(16)      # payload bytes stored, then CRC bytes seen
        left = Signal(16)       # payload bytes still to come after this one (a down-counter:
                                # the end of the payload is a zero test, not a subtraction)
        idle = Signal(range(self.timeout_cycles + 1))
        length_lo = Signal(8)
        in_frame = Signal()

        # A frame times out after timeout_cycles without a byte; whether the next such cycle
        # is the last is worked out a cycle ahead (at_limit: idle will be timeout - 1).
        timed_out = Signal()
        at_limit = Signal()
        silent = in_frame & ~got
        with m.If(silent):
            m.d.sync += idle.eq(idle + 1)
        with m.Else():
            m.d.sync += idle.eq(0)
        if self.timeout_cycles >= 2:
            m.d.sync += at_limit.eq(silent & (idle == self.timeout_cycles - 2))
            m.d.comb += timed_out.eq(silent & at_limit)
        else:
            m.d.comb += timed_out.eq(silent)
        # Whether the length exceeds max_payload: its low byte's part is decided as it
        # arrives, so that the high byte meets only a short comparison.
        limit_hi, limit_lo = self.max_payload >> 8, self.max_payload & 0xff
        lo_over = Signal()

        # in_frame: between a frame's SYNC and its last CRC byte. A register, set and
        # cleared with the state, so that the CRC's enable and the time-out start from one.
        m.d.comb += chk.valid.eq(got & in_frame)

        def abandon():
            m.d.sync += in_frame.eq(0)
            m.next = "HUNT"

        with m.FSM():
            with m.State("HUNT"):
                with m.If(got & (self.i.payload == spec.LINK_SYNC)):
                    m.d.comb += chk.start.eq(1)
                    m.d.sync += in_frame.eq(1)
                    m.next = "LEN_LO"
            with m.State("LEN_LO"):
                with m.If(got):
                    m.d.sync += [length_lo.eq(self.i.payload),
                                 lo_over.eq(self.i.payload > limit_lo)]
                    m.next = "LEN_HI"
                with m.Elif(timed_out):
                    abandon()           # a partial frame, then silence
            with m.State("LEN_HI"):
                with m.If(got):
                    length_hi = self.i.payload
                    m.d.sync += info.length.eq(Cat(length_lo, length_hi))
                    with m.If((length_hi > limit_hi) | ((length_hi == limit_hi) & lo_over)):
                        abandon()
                    with m.Else():
                        m.next = "SEQ"
                with m.Elif(timed_out):
                    abandon()
            with m.State("SEQ"):
                with m.If(got):
                    m.d.sync += info.seq.eq(self.i.payload)
                    m.next = "CODE"
                with m.Elif(timed_out):
                    abandon()
            with m.State("CODE"):
                with m.If(got):
                    m.d.sync += [info.code.eq(self.i.payload), count.eq(0),
                                 left.eq(info.length - 1)]
                    with m.If(info.length == 0):
                        m.next = "CRC"
                    with m.Else():
                        m.next = "PAYLOAD"
                with m.Elif(timed_out):
                    abandon()
            with m.State("PAYLOAD"):
                m.d.comb += [wr.addr.eq(count), wr.data.eq(self.i.payload), wr.en.eq(got)]
                with m.If(got):
                    m.d.sync += left.eq(left - 1)
                    with m.If(left == 0):
                        m.d.sync += count.eq(0)
                        m.next = "CRC"
                    with m.Else():
                        m.d.sync += count.eq(count + 1)
                with m.Elif(timed_out):
                    abandon()
            with m.State("CRC"):
                with m.If(got):
                    m.d.sync += count.eq(count + 1)
                    with m.If(count == spec.LINK_CRC_BYTES - 1):
                        m.d.sync += in_frame.eq(0)
                        m.next = "PRESENT"
                with m.Elif(timed_out):
                    abandon()
            with m.State("PRESENT"):
                # The CRC register took the last byte a cycle ago and holds it: a frame
                # followed by its own CRC leaves the algorithm's residue there.
                m.d.comb += [self.frame.valid.eq(1), info.crc_ok.eq(chk.match_detected)]
                with m.If(self.frame.ready):
                    m.next = "HUNT"
        return m

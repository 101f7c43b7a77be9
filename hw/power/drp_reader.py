"""Reads each XADC conversion result over the DRP at its end of conversion."""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from sw import spec

from .sample import CODE_WIDTH, sample_signature

__all__ = ["DRPReader", "XADC_CHANNEL_ADDR"]

#: Status-register address (and CHANNEL code) of each of sw.spec.POWER_CHANNELS (UG480,
#: Chapter 3 "Status Registers": temperature 00h, VCCINT 01h, VAUX[n] 10h + n): VCCINT's
#: supply sensor, the Arty's sense nets on auxiliary inputs 10, 1 and 9
#: (hw.boards.arty_a7.XADC_AUX_PINS) and the die temperature sensor.
XADC_CHANNEL_ADDR = {
    "vccint": 0x01,
    "isns0v95": 0x10 + 10,
    "vsns5v0": 0x10 + 1,
    "isns5v0": 0x10 + 9,
    "temperature": 0x00,
}


class DRPReader(wiring.Component):
    """On each EOC, reads the converted channel's status register and offers it as a sample.

    The XADC raises EOC for one DCLK cycle with CHANNEL naming the channel just converted
    (UG480, Chapter 4, continuous sequence mode). The reader then presents that address on
    DADDR with DEN for one cycle and takes DO when DRDY rises (UG480, Chapter 5 "DRP
    timing"). Results of channels that are not :data:`sw.spec.POWER_CHANNELS` (the
    calibration channel) are read and dropped. An EOC that arrives during a read is missed
    (conversions are 26 ADCCLK apart, a read a few DCLK); a sample not taken before the
    next one arrives is replaced by it.

    Attributes
    ----------
    eoc, channel, do, drdy : In
        From the XADC primitive.
    den, daddr : Out
        To the XADC primitive (DWE stays low: reads only).
    sample : Out(stream.Signature(sample_layout()))
    """

    eoc: In(1)
    channel: In(5)
    do: In(16)
    drdy: In(1)
    den: Out(1)
    daddr: Out(7)
    sample: Out(sample_signature())

    def elaborate(self, platform):
        m = Module()
        reading = Signal()
        wanted = Signal()
        index = Signal(range(len(spec.POWER_CHANNELS)))

        m.d.sync += self.den.eq(0)
        with m.If(~reading & self.eoc):
            m.d.sync += [self.den.eq(1), self.daddr.eq(self.channel), reading.eq(1),
                         wanted.eq(0)]
            for i, name in enumerate(spec.POWER_CHANNELS):
                with m.If(self.channel == XADC_CHANNEL_ADDR[name]):
                    m.d.sync += [index.eq(i), wanted.eq(1)]

        with m.If(self.sample.ready):
            m.d.sync += self.sample.valid.eq(0)
        with m.If(reading & self.drdy):
            m.d.sync += reading.eq(0)
            with m.If(wanted):
                m.d.sync += [self.sample.valid.eq(1),
                             self.sample.payload.channel.eq(index),
                             self.sample.payload.code.eq(self.do[:CODE_WIDTH])]
        return m

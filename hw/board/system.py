"""The whole device, platform-independent: UART pins in and out, LEDs."""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import fifo, wiring
from amaranth.lib.wiring import In, Out

from sw import spec

from ..link import FrameReceiver, FrameTransmitter, UARTReceiver, UARTTransmitter
from .device_core import DeviceCore

__all__ = ["System"]


class System(wiring.Component):
    """UART, frame receiver and transmitter, and the :class:`DeviceCore` behind them.

    This is what a board top instantiates and what the virtual board verilates. The
    power meter follows ``config.power``: ``"xadc"`` samples the Arty's XADC
    (:class:`hw.power.xadc.XADC`, which needs the board's platform), ``"model"`` its simulation
    model driven by the engine's activity (:class:`hw.power.xadc_model.XADCModel`), None none.

    Parameters
    ----------
    config : sw.mapping.boards.BoardConfig
    divisor : int, optional
        Clock cycles per UART bit; ``config.divisor`` unless given (the virtual board and
        the benches use a smaller one to simulate faster; the HELLO then reports the baud
        it gives).

    Attributes
    ----------
    rx : In(1)
        UART receive pin (idle high).
    tx : Out(1)
        UART transmit pin.
    leds : Out(4)
        0: heartbeat (about 1.5 Hz at 100 MHz); 1: a RUN is in progress; 2: a frame was
        received (held about 40 ms); 3: a frame with a bad CRC or a UART framing error
        (held about 40 ms).
    busy : Out(1)
        A RUN is in progress.
    idle : Out(1)
        No request is being executed or answered (the virtual board sleeps only then).
    """

    rx: In(1, init=1)
    tx: Out(1, init=1)
    leds: Out(4)
    busy: Out(1)
    idle: Out(1)

    def __init__(self, config, *, divisor=None):
        self.divisor = config.divisor if divisor is None else divisor
        self.config = config.replace(baud=config.clk_hz // self.divisor)
        if config.power not in (None, "xadc", "model"):
            raise ValueError(f"{config.name}: power = {config.power!r}: expected 'xadc', "
                             f"'model' or None")
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.urx = urx = UARTReceiver(self.divisor)
        m.submodules.frx = frx = FrameReceiver(
            spec.LINK_MAX_PAYLOAD, spec.LINK_TIMEOUT_BYTES * 10 * self.divisor)
        meter = None
        if self.config.power is not None:
            from ..power.power_meter import PowerMeter
            from ..power.xadc import XADC
            from ..power.xadc_model import XADCModel
            meter = PowerMeter(self.config.clk_hz)
            if self.config.power == "xadc":
                m.submodules.xadc = source = XADC()
            else:
                m.submodules.xadc = source = XADCModel(max_activity=self.config.lanes)
            wiring.connect(m, source.sample, meter.sample)
        m.submodules.core = core = DeviceCore(self.config, power=meter)
        if self.config.power == "model":
            # The model's activity: every lane while a RUN is in progress.
            m.d.comb += source.activity.eq(Mux(core.busy, self.config.lanes, 0))
        m.submodules.ftx = ftx = FrameTransmitter()
        m.submodules.utx = utx = UARTTransmitter(self.divisor)

        m.d.comb += [urx.rx.eq(self.rx), self.tx.eq(utx.tx)]
        wiring.connect(m, urx.o, frx.i)
        wiring.connect(m, frx.frame, core.frame)
        m.d.comb += [frx.buf_addr.eq(core.buf_addr), core.buf_data.eq(frx.buf_data)]
        wiring.connect(m, core.tx_header, ftx.header)
        wiring.connect(m, core.tx_payload, ftx.payload)
        # A two-byte FIFO between the frame transmitter and the UART, so that neither's
        # handshake logic runs into the other's in one cycle (the UART takes a byte in
        # ten bit times; the FIFO keeps it fed back to back).
        m.submodules.tx_fifo = tx_fifo = fifo.SyncFIFOBuffered(width=8, depth=2)
        wiring.connect(m, ftx.o, tx_fifo.w_stream)
        wiring.connect(m, tx_fifo.r_stream, utx.i)

        m.d.comb += [self.busy.eq(core.busy), self.idle.eq(~core.active & ~frx.frame.valid)]

        heartbeat = Signal(26)
        m.d.sync += heartbeat.eq(heartbeat + 1)
        hold = 1 << 22      # about 40 ms at 100 MHz: long enough to see

        def stretched(event):
            # The event is registered first: nothing the LEDs show is on a critical path.
            seen = Signal()
            m.d.sync += seen.eq(event)
            left = Signal(range(hold + 1))
            with m.If(seen):
                m.d.sync += left.eq(hold)
            with m.Elif(left != 0):
                m.d.sync += left.eq(left - 1)
            return left != 0

        got_frame = frx.frame.valid & frx.frame.ready
        bad = (got_frame & ~frx.frame.payload.crc_ok) | urx.frame_error
        # The LED pins are driven from a register, so that no logic is placed by the pins.
        m.d.sync += self.leds.eq(Cat(heartbeat[-1], core.busy, stretched(got_frame),
                                     stretched(bad)))
        return m


"""The device behind the link: command decoder, layer sequencer, engine, power meter."""

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from sw import spec

from ..engine.layer_engine import LayerEngine
from ..link.layouts import frame_header_layout, frame_info_layout
from .command_decoder import CommandDecoder
from .layer_sequencer import LayerSequencer

__all__ = ["DeviceCore"]


class DeviceCore(wiring.Component):
    """Everything of a device between the frame receiver and the frame transmitter.

    Parameters
    ----------
    config : sw.mapping.boards.BoardConfig
    power : hw.power.power_meter.PowerMeter or None
        The power meter, fed by the XADC or its model (the caller connects its ``sample``);
        its ``busy`` is driven here. None answers POWER with zeros.

    Attributes
    ----------
    frame, buf_addr, buf_data : from the frame receiver.
    tx_header, tx_payload : to the frame transmitter.
    busy : Out(1)
        A RUN is in progress (for a status LED and the power meter).
    active : Out(1)
        A request is being executed or answered.
    """

    def __init__(self, config, *, power=None):
        self.config = config
        self.power_meter = power
        self.engine = LayerEngine(lanes=config.lanes, width=config.width,
                                  lane_words=config.lane_words,
                                  act_depth=config.act_depth)
        self.sequencer = LayerSequencer(lanes=config.lanes,
                                        word_addr_width=config.word_addr_width,
                                        config_depth=config.config_depth)
        self.decoder = CommandDecoder(config)
        super().__init__({
            "frame": In(stream.Signature(frame_info_layout)),
            "buf_addr": Out(self.decoder.buf_addr.shape()),
            "buf_data": In(8),
            "tx_header": Out(stream.Signature(frame_header_layout)),
            "tx_payload": Out(stream.Signature(8)),
            "busy": Out(1),
            "active": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.engine = engine = self.engine
        m.submodules.sequencer = seq = self.sequencer
        m.submodules.decoder = dec = self.decoder

        wiring.connect(m, wiring.flipped(self.frame), dec.frame)
        wiring.connect(m, dec.tx_header, wiring.flipped(self.tx_header))
        wiring.connect(m, dec.tx_payload, wiring.flipped(self.tx_payload))
        m.d.comb += [self.buf_addr.eq(dec.buf_addr), dec.buf_data.eq(self.buf_data)]

        # The engine's and the sequencer's memories, written (and read) by the decoder.
        wiring.connect(m, dec.weight_w, engine.weight_w)
        wiring.connect(m, dec.chan_w, engine.chan_w)
        wiring.connect(m, dec.param_w, engine.param_w)
        wiring.connect(m, dec.act_w, engine.act_w)
        wiring.connect(m, dec.act_r, engine.act_r)
        wiring.connect(m, dec.cfg_w, seq.cfg_w)

        m.d.comb += [
            seq.run.eq(dec.run), seq.first.eq(dec.first), seq.count.eq(dec.count),
            dec.seq_busy.eq(seq.busy), dec.cycles.eq(seq.cycles), dec.layers.eq(seq.layers),
            dec.totals.eq(seq.totals),
            engine.cfg.eq(seq.e_cfg), engine.lane_cfg.eq(seq.e_lane_cfg),
            engine.start.eq(seq.e_start), engine.stall.eq(0),
            seq.e_busy.eq(engine.busy), seq.e_counters.eq(engine.counters),
            self.busy.eq(seq.busy), self.active.eq(dec.active),
        ]
        if self.power_meter is not None:
            m.submodules.power_meter = pm = self.power_meter
            m.d.comb += pm.busy.eq(seq.busy)
            for name, _ in spec.POWER_FIELDS:
                m.d.comb += getattr(dec.power, name).eq(getattr(pm, name))
        return m

"""The on-chip layer sequencer: runs a range of layers from the configuration memory."""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.memory import WritePort
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from sw import spec

from ..block_ram import block_ram, registered_read
from ..engine.layouts import lane_config_layout, layer_config_layout

__all__ = ["LayerSequencer"]


class LayerSequencer(wiring.Component):
    """Runs layers ``first .. first + count - 1`` one after the other on a
    :class:`~hw.engine.LayerEngine`.

    Every layer's register image (:func:`sw.spec.pack_layer_config`, ``config_words``
    words of :data:`~sw.spec.CONFIG_WORD_WIDTH` bits) sits in the configuration memory at
    ``layer * config_words``. For each layer the sequencer copies the image into the
    registers that drive the engine's ``cfg`` and ``lane_cfg``, pulses ``start``, waits
    for ``busy`` to fall and adds the engine's counters to the run's totals. The engine's
    maps stay in its activation memory between layers, so a whole network runs with no
    host in the loop.

    Parameters
    ----------
    lanes : int
    word_addr_width : int
        Address width of a lane's weight memory.
    config_depth : int
        Configuration words.

    Attributes
    ----------
    cfg_w : Out(WritePort.Signature(addr_width=ceil_log2(config_depth), shape=CONFIG_WORD_WIDTH))
        Write port of the configuration memory (host side).
    run : In(1)
        Starts a run of ``count`` layers from ``first`` (both sampled with ``run``); ignored
        while ``busy``. ``count = 0`` runs nothing.
    busy : Out(1)
    cycles : Out(32)
        Cycles of the last run (:data:`sw.spec.SEQUENCER_LAYER_OVERHEAD`).
    layers : Out(8)
        Layers the last run ran.
    totals : Out(counter layout)
        The engine's counters summed over the last run's layers.
    e_cfg, e_lane_cfg, e_start, e_busy, e_counters : the engine's side.
    """

    def __init__(self, *, lanes, word_addr_width, config_depth):
        self.lanes = lanes
        self.word_addr_width = word_addr_width
        self.config_words = spec.config_words_per_layer(lanes, word_addr_width)
        self.config_depth = config_depth
        if config_depth < self.config_words:
            raise ValueError(f"config_depth = {config_depth} holds no layer of "
                             f"{self.config_words} words")
        self.counter_layout = data.StructLayout({name: 32 for name in spec.ENGINE_COUNTERS})
        super().__init__({
            "cfg_w": Out(WritePort.Signature(addr_width=ceil_log2(config_depth),
                                             shape=spec.CONFIG_WORD_WIDTH)),
            "run": In(1),
            "first": In(8),
            "count": In(8),
            "busy": Out(1),
            "cycles": Out(32),
            "layers": Out(8),
            "totals": Out(self.counter_layout),
            "e_cfg": Out(layer_config_layout),
            "e_lane_cfg": Out(data.ArrayLayout(lane_config_layout(word_addr_width), lanes)),
            "e_start": Out(1),
            "e_busy": In(1),
            "e_counters": In(self.counter_layout),
        })

    def elaborate(self, platform):
        m = Module()
        n_words = self.config_words
        ww = spec.CONFIG_WORD_WIDTH

        m.submodules.mem = mem = block_ram(shape=ww, depth=self.config_depth)
        wiring.connect(m, wiring.flipped(self.cfg_w), mem.write_port())

        # The register image the engine sees: one word written a cycle while loading.
        shadow = Signal(n_words * ww)
        cfg_bits = spec.fields_width(spec.LAYER_CONFIG_FIELDS)
        lane_bits = spec.fields_width(spec.lane_config_fields(self.word_addr_width))
        m.d.comb += [
            self.e_cfg.as_value().eq(shadow[:cfg_bits]),
            self.e_lane_cfg.as_value().eq(shadow[cfg_bits:cfg_bits + self.lanes * lane_bits]),
        ]

        base = Signal(range(self.config_depth + n_words))    # this layer's first word
        k = Signal(range(n_words + 2))
        remaining = Signal(8)
        read = registered_read(m, mem, base + k, name="read")
        # The word read, registered next to the block RAM (whose output comes late in a
        # cycle) before it fans out to the register image.
        word = Signal(ww)
        m.d.sync += word.eq(read)

        # ``busy`` (high in every state but IDLE) and ``e_start`` (high in START) are
        # registers, set on the transitions into those states, so that what they fan out to
        # (the decoder, the engine) starts from a flip-flop.
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.run & (self.count != 0)):
                    m.d.sync += [
                        base.eq(self.first * n_words), k.eq(0), remaining.eq(self.count),
                        self.cycles.eq(0), self.layers.eq(0),
                        self.totals.as_value().eq(0), self.busy.eq(1),
                    ]
                    m.next = "LOAD"
                with m.Elif(self.run):
                    m.d.sync += [self.cycles.eq(0), self.layers.eq(0),
                                 self.totals.as_value().eq(0)]
            with m.State("LOAD"):
                m.d.sync += [self.cycles.eq(self.cycles + 1), k.eq(k + 1)]
                # The read port answers a cycle late and ``word`` holds its answer a cycle
                # later: word k - 2 is in ``word`` while word k is read.
                with m.Switch(k):
                    for j in range(2, n_words + 2):
                        with m.Case(j):
                            m.d.sync += shadow.word_select(j - 2, ww).eq(word)
                with m.If(k == n_words + 1):
                    m.d.sync += self.e_start.eq(1)
                    m.next = "START"
            with m.State("START"):
                m.d.sync += [self.cycles.eq(self.cycles + 1), self.e_start.eq(0)]
                m.next = "WAIT"
            with m.State("WAIT"):
                m.d.sync += self.cycles.eq(self.cycles + 1)
                with m.If(~self.e_busy):
                    for name in spec.ENGINE_COUNTERS:
                        total = getattr(self.totals, name)
                        m.d.sync += total.eq(total + getattr(self.e_counters, name))
                    m.d.sync += [self.layers.eq(self.layers + 1),
                                 remaining.eq(remaining - 1),
                                 base.eq(base + n_words), k.eq(0)]
                    with m.If(remaining == 1):
                        m.d.sync += self.busy.eq(0)
                        m.next = "IDLE"
                    with m.Else():
                        m.next = "LOAD"
        return m

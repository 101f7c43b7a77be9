"""The layer engine: P lanes, one shared dual-scale epilogue, pooling and write-back."""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory, ReadPort, WritePort
from amaranth.lib.wiring import In, Out

from sw import spec
from sw.mapping.boards import board_config

from ..dual_scale import DualScaleUnit
from .lane import Lane
from .layouts import (lane_config_layout, layer_config_layout, param_word_layout,
                      weight_word_layout)
from .ports import LaneWriteSignature

__all__ = ["LayerEngine"]

COUNTER_WIDTH = 32

#: Sizes when none are given: the default board's (``sw.mapping.boards``; the Arty A7-35T's
#: 8 lanes of 3,072 weight words and 6 KB of activations, docs/engine.md).
_DEFAULT = board_config()


class LayerEngine(wiring.Component):
    """Runs one layer of an integer program with ``lanes`` lanes.

    The input map lives in the activation memory (unpadded, channel-major, at
    ``cfg.in_base``); the output map is written there too, at ``cfg.out_base``, so a
    network runs layer after layer with its maps never leaving the chip. Each lane walks
    the words of the output channels it was given (:class:`Lane`); a round-robin arbiter
    takes one finished result a cycle from the lanes' queues, reads the channel's
    epilogue parameters, adds up the chunks of a channel split among lanes, and sends the
    sum through the :class:`~hw.dual_scale.DualScaleUnit`; max pooling keeps a running
    maximum per lane and channel in a small LUT RAM and writes the window's result when
    its last position arrives.

    Parameters
    ----------
    lanes : int
        Number of lanes ``P``, in ``[1, 64]``.
    lane_words : int
        Weight words per lane (block RAM holds 1024 words of 33 bits per RAMB36).
    act_depth : int
        Activation memory size in int8 words, at most 2**ACT_ADDR_WIDTH (one copy per lane).

    Attributes
    ----------
    cfg : In(layer_config_layout)
    lane_cfg : In(ArrayLayout(lane_config_layout, lanes))
        Both stable from ``start`` until ``busy`` falls.
    start : In(1)
    stall : In(1)
        Back-pressure on the shared epilogue: while high, no lane's result is taken (the
        lanes keep working until their queues fill). Tie low when unused.
    busy : Out(1)
        High from the cycle after ``start`` until the layer's last output is written.
    act_w : Out(WritePort.Signature(addr_width=ACT_ADDR_WIDTH, shape=signed(8)))
        Host write port of the activation memory (all lanes' copies), only while not busy.
    act_r : Out(ReadPort.Signature(addr_width=ACT_ADDR_WIDTH, shape=signed(8)))
        Host read port of the activation memory, only while not busy: data the cycle after
        ``addr`` while ``en`` is high (as it is unless driven).
    weight_w : Out(LaneWriteSignature(lanes=lanes, addr_width=W, shape=weight_word_layout))
        Write port of the lanes' weight memories, ``lane`` selecting the lane
        (``W = (lane_words - 1).bit_length()``).
    chan_w : Out(LaneWriteSignature(lanes=lanes, addr_width=CHAN_WIDTH, shape=CHAN_WIDTH))
        The same for the lanes' channel tables.
    param_w : Out(WritePort.Signature(addr_width=PARAM_ADDR_WIDTH, shape=param_word_layout))
        Write port of the epilogue parameter memory.
    counters : Out(StructLayout of sw.spec.ENGINE_COUNTERS, 32 bits each)
        Cleared by ``start``.
    """

    def __init__(self, *, lanes=_DEFAULT.lanes, lane_words=_DEFAULT.lane_words,
                 act_depth=_DEFAULT.act_depth):
        spec.check_int("lanes", lanes, 1, 64)
        for name, value, hi in (("lane_words", lane_words, 1 << 16),
                                ("act_depth", act_depth, 1 << spec.ACT_ADDR_WIDTH)):
            spec.check_int(name, value, 2, hi)
        self.lanes = lanes
        self.lane_words = lane_words
        self.act_depth = act_depth
        self.word_addr_width = (lane_words - 1).bit_length()
        self.counter_layout = data.StructLayout(
            {name: unsigned(COUNTER_WIDTH) for name in spec.ENGINE_COUNTERS})
        super().__init__({
            "cfg": In(layer_config_layout),
            "lane_cfg": In(data.ArrayLayout(lane_config_layout(self.word_addr_width), lanes)),
            "start": In(1),
            "stall": In(1),
            "busy": Out(1),
            "act_w": Out(WritePort.Signature(addr_width=spec.ACT_ADDR_WIDTH,
                                             shape=signed(spec.ACT_WIDTH))),
            "act_r": Out(ReadPort.Signature(addr_width=spec.ACT_ADDR_WIDTH,
                                            shape=signed(spec.ACT_WIDTH))),
            "weight_w": Out(LaneWriteSignature(lanes=lanes, addr_width=self.word_addr_width,
                                               shape=weight_word_layout)),
            "chan_w": Out(LaneWriteSignature(lanes=lanes, addr_width=spec.CHAN_WIDTH,
                                             shape=spec.CHAN_WIDTH)),
            "param_w": Out(WritePort.Signature(addr_width=spec.PARAM_ADDR_WIDTH,
                                               shape=param_word_layout)),
            "counters": Out(self.counter_layout),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        addr_bits = (self.act_depth - 1).bit_length()

        running = Signal()

        # Activation memory: one copy per lane, each a simple dual-port block RAM (one
        # write port shared by all copies, one read port for its lane), so every lane reads
        # every cycle without conflicts. The host reads through lane 0's copy while the
        # engine is idle.
        wr_en = Signal()
        wr_addr = Signal(addr_bits)
        wr_data = Signal(signed(spec.ACT_WIDTH))

        lanes = []
        for k in range(self.lanes):
            lane = Lane(words=self.lane_words)
            m.submodules[f"lane{k}"] = lane
            lanes.append(lane)
            copy = Memory(shape=signed(spec.ACT_WIDTH), depth=self.act_depth, init=[])
            m.submodules[f"act{k}"] = copy
            wp = copy.write_port()
            rd = copy.read_port()
            m.d.comb += [wp.en.eq(wr_en), wp.addr.eq(wr_addr), wp.data.eq(wr_data)]
            if k == 0:
                m.d.comb += [
                    rd.addr.eq(Mux(running, lane.act_addr, self.act_r.addr)),
                    rd.en.eq(Mux(running, lane.act_en, self.act_r.en)),
                    self.act_r.data.eq(rd.data),
                ]
            else:
                m.d.comb += [rd.addr.eq(lane.act_addr), rd.en.eq(lane.act_en)]
            m.d.comb += [
                lane.cfg.eq(cfg),
                lane.lane_cfg.eq(self.lane_cfg[k]),
                lane.start.eq(self.start),
                lane.act_data.eq(rd.data),
                lane.word_addr.eq(self.weight_w.addr),
                lane.word_data.eq(self.weight_w.data),
                lane.word_en.eq(self.weight_w.en & (self.weight_w.lane == k)),
                lane.chan_addr.eq(self.chan_w.addr),
                lane.chan_data.eq(self.chan_w.data),
                lane.chan_en.eq(self.chan_w.en & (self.chan_w.lane == k)),
            ]

        m.submodules.params = params = Memory(shape=param_word_layout,
                                              depth=1 << spec.PARAM_ADDR_WIDTH, init=[])
        wiring.connect(m, wiring.flipped(self.param_w), params.write_port())
        prd = params.read_port()

        # --- Round-robin arbiter: the first lane with a result after the last granted. --
        last = Signal(range(self.lanes), init=self.lanes - 1)
        grant = Signal(range(self.lanes))
        waiting = Signal()    # some lane has a result
        granted = Signal()
        with m.Switch(last):
            for prev in range(self.lanes):
                with m.Case(prev):
                    order = [(prev + 1 + d) % self.lanes for d in range(self.lanes)]
                    with m.If(lanes[order[0]].o.valid):
                        m.d.comb += [grant.eq(order[0]), waiting.eq(1)]
                    for k in order[1:]:
                        with m.Elif(lanes[k].o.valid):
                            m.d.comb += [grant.eq(k), waiting.eq(1)]
        m.d.comb += granted.eq(waiting & ~self.stall)
        for k, lane in enumerate(lanes):
            m.d.comb += lane.o.ready.eq(granted & (grant == k))
        with m.If(self.start):     # every layer starts from the same arbiter state
            m.d.sync += last.eq(self.lanes - 1)
        with m.Elif(granted):
            m.d.sync += last.eq(grant)
        chosen = Signal.like(lanes[0].o.payload)
        with m.Switch(grant):
            for k, lane in enumerate(lanes):
                with m.Case(k):
                    m.d.comb += chosen.eq(lane.o.payload)
        m.d.comb += prd.addr.eq(cfg.param_base + chosen.chan)

        # --- Epilogue: parameters arrive a cycle after the grant. ----------------------
        e1_valid = Signal()
        e1 = Signal.like(chosen)
        e1_lane = Signal.like(grant)
        m.d.sync += e1_valid.eq(granted)
        with m.If(granted):   # an idle queue's output is whatever its memory holds
            m.d.sync += [e1.eq(chosen), e1_lane.eq(grant)]
        # A channel whose words are split among lanes (single-position layers) arrives in
        # chunks: add them up here and send the sum on with the last one to arrive.
        part_layout = data.StructLayout({"p": signed(spec.ACC_WIDTH),
                                         "n": signed(spec.ACC_WIDTH),
                                         "seen": unsigned(spec.CHUNKS_WIDTH)})
        m.submodules.partial = partial = Memory(shape=part_layout, depth=spec.MAX_CHANNELS,
                                                init=[])
        part_rd = partial.read_port(domain="comb")
        part_wr = partial.write_port()
        final = Signal()
        sum_p = Signal(signed(spec.ACC_WIDTH))
        sum_n = Signal(signed(spec.ACC_WIDTH))
        m.d.comb += [
            part_rd.addr.eq(e1.chan),
            final.eq(part_rd.data.seen + 1 >= prd.data.chunks),
            sum_p.eq(part_rd.data.p + e1.p),
            sum_n.eq(part_rd.data.n + e1.n),
            part_wr.addr.eq(e1.chan),
            part_wr.en.eq(e1_valid),
            part_wr.data.p.eq(Mux(final, 0, sum_p)),
            part_wr.data.n.eq(Mux(final, 0, sum_n)),
            part_wr.data.seen.eq(Mux(final, 0, part_rd.data.seen + 1)),
        ]

        m.submodules.epilogue = epi = DualScaleUnit()
        m.d.comb += [
            epi.i.valid.eq(e1_valid & final),
            epi.i.payload.p.eq(sum_p),
            epi.i.payload.n.eq(sum_n),
            epi.i.payload.m_r.eq(prd.data.m_r),
            epi.i.payload.m_l.eq(prd.data.m_l),
            epi.i.payload.bias.eq(prd.data.bias),
            epi.i.payload.shift.eq(prd.data.shift),
            epi.i.payload.act.eq(cfg.act),
            epi.i.payload.slope.eq(cfg.slope),
            epi.o.ready.eq(1),
        ]
        # The unit never stalls (its output is always taken), so the result's channel and
        # position keep pace with it in a plain delay line.
        meta_valid, meta, meta_lane = e1_valid & final, e1, e1_lane
        in_flight = [e1_valid]
        for k in range(DualScaleUnit.LATENCY):
            nv = Signal(name=f"d{k}_valid")
            nm = Signal.like(e1, name=f"d{k}")
            nl = Signal.like(e1_lane, name=f"d{k}_lane")
            m.d.sync += [nv.eq(meta_valid), nm.eq(meta), nl.eq(meta_lane)]
            meta_valid, meta, meta_lane = nv, nm, nl
            in_flight.append(nv)
        wb_valid, wb, wb_lane = meta_valid, meta, meta_lane

        # --- Pooling and write-back. --------------------------------------------------
        # A running maximum per lane and channel: lanes may share a channel (each with its
        # own run of windows), but one lane finishes a window before starting the next.
        m.submodules.pool = pool = Memory(shape=signed(spec.ACT_WIDTH),
                                          depth=spec.MAX_CHANNELS * self.lanes, init=[])
        pool_wr = pool.write_port()
        pool_rd = pool.read_port(domain="comb")
        y = epi.o.payload
        best = Signal(signed(spec.ACT_WIDTH))
        m.d.comb += [
            pool_rd.addr.eq(Cat(wb.chan, wb_lane)),
            best.eq(Mux(wb.first | (y > pool_rd.data), y, pool_rd.data)),
            pool_wr.addr.eq(Cat(wb.chan, wb_lane)),
            pool_wr.data.eq(best),
            pool_wr.en.eq(wb_valid),
        ]
        plane = Signal(2 * spec.DIM_WIDTH)
        out_addr = Signal(spec.ACT_ADDR_WIDTH)
        m.d.comb += [
            plane.eq(cfg.out_h * cfg.out_w),
            out_addr.eq(cfg.out_base + wb.chan * plane + wb.i * cfg.out_w + wb.j),
        ]
        wb_write = wb_valid & wb.last
        m.d.comb += [
            wr_en.eq(wb_write | self.act_w.en),
            wr_addr.eq(Mux(wb_write, out_addr, self.act_w.addr)[:addr_bits]),
            wr_data.eq(Mux(wb_write, best, self.act_w.data)),
        ]

        # --- Busy and counters. -------------------------------------------------------
        pending = Cat(*(lane.busy | lane.o.valid for lane in lanes)).any()
        drained = ~pending & ~Cat(*in_flight).any()
        with m.If(self.start):
            m.d.sync += running.eq(1)
        with m.Elif(running & drained):
            m.d.sync += running.eq(0)
        m.d.comb += self.busy.eq(running)

        strobes = {
            "busy_cycles": running,
            "adds_plus": _popcount([lane.count_add_plus for lane in lanes]),
            "adds_minus": _popcount([lane.count_add_minus for lane in lanes]),
            "weight_words": _popcount([lane.count_word for lane in lanes]),
            "act_reads": _popcount([lane.count_act_read for lane in lanes]),
            "act_writes": wb_write,
            "lane_stall_cycles": _popcount([lane.count_stall for lane in lanes]),
        }
        for name in spec.ENGINE_COUNTERS:
            counter = getattr(self.counters, name)
            with m.If(self.start):
                m.d.sync += counter.eq(0)
            with m.Else():
                m.d.sync += counter.eq(counter + strobes[name])
        return m


def _popcount(bits):
    total = Const(0, 1)
    for b in bits:
        total = total + b
    return total

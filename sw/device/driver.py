"""The host driver: one code path for the board, the virtual board and the golden device.

:class:`Driver` speaks the link protocol of :mod:`sw.spec` ("The link") over any object
with pyserial's interface (``write``, ``read``, ``in_waiting``, ``timeout``,
``reset_input_buffer``, ``close``): a ``serial.Serial`` on the board's UART, pyserial's
``socket://`` URL to the virtual board, or a :class:`~sw.golden.device.GoldenDevice`.

Reliability (docs/driver.md):

* every request waits for its response at most a time-out: the frames' transfer time at
  the device's baud, plus ``timeout`` seconds of margin, plus for a RUN ``run_margin`` (2)
  times the expected engine time (the plan's cycle count at the device's clock);
* a response with a bad CRC, a time-out, or a NAK (``CRC_ERROR``) makes the driver send
  the same request again with the same seq, up to ``retries`` times; before resending
  after a time-out or garbage it resynchronises: it stays silent for twice
  :data:`~sw.spec.LINK_TIMEOUT_BYTES` byte times (so the device's receiver drops any
  partial frame) and drops whatever it has received;
* a valid response with another seq (a late answer to an earlier try) is ignored; a NAK is
  honoured whatever its seq (the seq byte itself may be what was corrupted);
* WRITE and READ are split to fit a frame, and a failed WRITE or READ halves the size of
  the frames that follow (down to ``min_chunk`` bytes; it grows back after a run of
  successes), so a noisy link still gets its data through;
* a refusal (``BAD_OP``, ``BAD_ARGS``, ``BAD_LENGTH``) or a well-formed response of the
  wrong size is not retried: :class:`~sw.device.errors.DeviceError` says which request, what
  the device answered and after how many tries.

The device's rule that a resent RUN (same seq and code as the last request it executed) is
answered from its cache, not run again, makes retrying a RUN safe; the driver always writes
a RUN's input before it, so two RUNs never follow each other with the same seq.
"""

import time

import numpy as np

from .. import spec
from ..link.frame import FrameParser, encode_frame
from ..spec import Capability, Mem, Op, Status
from .errors import DeviceError, IncompatibleDevice
from ..mapping.plan import DevicePlan, HostStep, ProgramDoesNotFit, RunStep
from .requests import MEM_HEADER_BYTES, encode_words, read_payload, write_payload

__all__ = ["Driver", "InferenceResult", "required_caps"]

#: Bytes a frame adds to its payload.
_OVERHEAD = spec.LINK_HEADER_BYTES + spec.LINK_CRC_BYTES


class InferenceResult(tuple):
    """``(output, int_output, cycles, counters)`` of :meth:`Driver.infer`."""

    def __new__(cls, output, int_output, cycles, counters):
        return super().__new__(cls, (output, int_output, cycles, counters))

    output = property(lambda self: self[0])
    int_output = property(lambda self: self[1])
    cycles = property(lambda self: self[2])
    counters = property(lambda self: self[3])


def required_caps(program):
    """``{Capability: first layer needing it}`` for the program's engine layers."""
    need = {}
    for layer in program.engine_layers:
        bits = [Capability.TERNARY if layer.mode == "ternary" else Capability.DENSE]
        if tuple(layer.pool) != (1, 1):
            bits.append(Capability.MAX_POOL)
        if layer.epilogue.act is spec.ActMode.LEAKY:
            bits.append(Capability.LEAKY_RELU)
        for bit in bits:
            need.setdefault(bit, layer.name)
    return need


class Driver:
    """Host side of the link.

    Parameters
    ----------
    port : pyserial-like object
        ``serial.Serial``, ``serial.serial_for_url("socket://...")`` or a GoldenDevice.
    timeout : float
        Seconds of margin each request waits on top of its frames' transfer time (and a
        RUN's expected engine time).
    retries : int
        Resends of a request before giving up with DeviceError.
    baud, clk_hz : int
        Used for time-outs until the HELLO says better.
    min_chunk : int
        Smallest WRITE / READ data size a failure can shrink frames to (bytes).
    poll : float
        Read time-out of one poll of the port (set once on the port).
    run_margin : float
        A RUN waits ``run_margin`` times its expected engine time (cycles at the HELLO's
        clock) on top of ``timeout``: raise it for a device slower than its clock says
        (a simulation).

    Attributes
    ----------
    stats : dict
        Counts since the driver was made: ``requests``, ``frames`` (sent), ``retries``,
        ``timeouts``, ``bad_crc`` (responses with a bad CRC), ``naks``, ``stale``
        (valid responses with another seq), ``resyncs``, ``bytes_out`` and ``bytes_in``
        (bytes written to and read from the port).
    """

    def __init__(self, port, *, timeout=0.5, retries=12, baud=4_000_000, clk_hz=100_000_000,
                 min_chunk=16, poll=0.005, run_margin=2.0):
        self.port = port
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.baud, self.clk_hz = int(baud), int(clk_hz)
        self.min_chunk = int(min_chunk)
        self.run_margin = float(run_margin)
        self.max_payload = spec.LINK_MAX_PAYLOAD
        self._chunk = self.max_payload - MEM_HEADER_BYTES
        self._streak = 0
        self._seq = 0
        self._parser = FrameParser(self.max_payload)
        self.stats = dict.fromkeys(("requests", "frames", "retries", "timeouts", "bad_crc",
                                    "naks", "stale", "resyncs", "bytes_out", "bytes_in"), 0)
        try:
            if getattr(port, "timeout", None) != poll:
                port.timeout = poll
        except (AttributeError, ValueError):
            pass
        self._poll = poll
        #: Called by :meth:`close` after the port is closed (e.g. stopping a simulation).
        self.on_close = []

    # -- the exchange -------------------------------------------------------------------
    def _transfer_s(self, nbytes):
        return nbytes * 10 / self.baud

    def _resync(self):
        """Stay silent long enough for the device to drop a partial frame; drop our input."""
        self.stats["resyncs"] += 1
        time.sleep(max(2 * spec.LINK_TIMEOUT_BYTES * 10 / self.baud, 0.001))
        self.port.reset_input_buffer()
        self._parser.reset()

    def _await(self, seq, timeout):
        """Wait for the response to ``seq``: ``("ok", frame)``, ``("nak", frame)``,
        ``("garbage", None)`` or ``("timeout", None)``."""
        deadline = time.monotonic() + timeout
        while True:
            waiting = getattr(self.port, "in_waiting", 0) or 0
            data = self.port.read(max(1, waiting))
            if data:
                self.stats["bytes_in"] += len(data)
                for frame in self._parser.feed(data):
                    if not frame.crc_ok:
                        self.stats["bad_crc"] += 1
                        return "garbage", None
                    if frame.code == Status.CRC_ERROR:
                        self.stats["naks"] += 1
                        return "nak", frame
                    if frame.seq != seq:
                        self.stats["stale"] += 1
                        continue
                    return "ok", frame
            elif time.monotonic() >= deadline:
                self.stats["timeouts"] += 1
                return "timeout", None
            else:
                # A port that returns at once (the golden device) would otherwise spin.
                time.sleep(min(self._poll, 0.001))
            if time.monotonic() >= deadline:
                self.stats["timeouts"] += 1
                return "timeout", None

    def _request(self, op, build, what, *, reply_bytes=0, extra_s=0.0, adaptive=False):
        """Send a request until it gets a valid answer.

        ``build()`` returns ``(payload, meta)``, called again for each try (a WRITE / READ
        may shrink between tries). Returns ``(response payload, meta)``.
        """
        self.stats["requests"] += 1
        self._seq = (self._seq + 1) & 0xFF
        seq = self._seq
        self.port.reset_input_buffer()
        self._parser.reset()
        problems = []
        tries = 0
        for tries in range(1, self.retries + 2):
            payload, meta = build()
            frame = encode_frame(seq, op, payload, max_payload=self.max_payload)
            if tries > 1:
                self.stats["retries"] += 1
            self.stats["frames"] += 1
            self.stats["bytes_out"] += len(frame)
            self.port.write(frame)
            wait = self.timeout + extra_s + self._transfer_s(len(frame) + reply_bytes + _OVERHEAD)
            outcome, response = self._await(seq, wait)
            if outcome == "ok":
                if response.code == Status.OK:
                    if adaptive:
                        self._streak += 1
                        if self._streak >= 16:
                            self._chunk = min(self._chunk * 2, self.max_payload - MEM_HEADER_BYTES)
                            self._streak = 0
                    return response.payload, meta
                try:
                    status = Status(response.code)
                except ValueError:
                    raise DeviceError(what, None, tries, f"unknown status code "
                                      f"{response.code:#04x}") from None
                raise DeviceError(what, status, tries, "the device refused the request")
            problems.append(outcome)
            if adaptive:
                self._streak = 0
                self._chunk = max(self.min_chunk, self._chunk // 2)
            if outcome != "nak":
                self._resync()
        counts = {p: problems.count(p) for p in dict.fromkeys(problems)}
        detail = ", ".join(f"{n} {p}{'s' if n > 1 else ''}" for p, n in counts.items())
        raise DeviceError(what, None, tries, f"no valid answer ({detail})")

    def _fixed(self, op, payload, fields, what, extra_s=0.0):
        """A request whose answer is the byte fields ``fields``."""
        size = spec.field_bytes(fields)
        data, _ = self._request(op, lambda: (payload, None), what, reply_bytes=size,
                                extra_s=extra_s)
        if len(data) != size:
            raise DeviceError(what, Status.OK, 1, f"answer of {len(data)} bytes, the protocol "
                              f"says {size}")
        return spec.unpack_bytes(fields, data)

    # -- the ops ------------------------------------------------------------------------
    def hello(self):
        """The device's HELLO fields (:data:`~sw.spec.HELLO_FIELDS`)."""
        hello = self._fixed(Op.HELLO, b"", spec.HELLO_FIELDS, "HELLO")
        self._hello = hello
        if hello["magic"] == spec.LINK_MAGIC:
            if hello["baud"]:
                self.baud = hello["baud"]
            if hello["clk_hz"]:
                self.clk_hz = hello["clk_hz"]
            if MEM_HEADER_BYTES + self.min_chunk <= hello["max_payload"] <= spec.LINK_MAX_PAYLOAD:
                self.max_payload = hello["max_payload"]
                self._chunk = min(self._chunk, self.max_payload - MEM_HEADER_BYTES)
        return hello

    def check_compatible(self, hello, program):
        """The :class:`DevicePlan` of ``program`` on the device that sent ``hello``.

        Raises
        ------
        IncompatibleDevice
            Naming every difference: magic, link or format version, a capability a layer
            needs, a memory too small (and by how much).
        """
        problems = []
        if hello["magic"] != spec.LINK_MAGIC:
            problems.append(f"HELLO magic is {hello['magic']!r}, not {spec.LINK_MAGIC!r} "
                            f"(not an aTTQ engine)")
        else:
            if hello["link_version"] != spec.LINK_VERSION:
                problems.append(f"link protocol version {hello['link_version']}, this driver "
                                f"speaks version {spec.LINK_VERSION}")
            if hello["format_version"] != spec.FORMAT_VERSION:
                problems.append(f"integer contract (format) version "
                                f"{hello['format_version']}, the program and this software "
                                f"use version {spec.FORMAT_VERSION}: rebuild the bitstream "
                                f"or the program")
            target = program.engine_target
            if target is not None and target != (hello["lanes"], hello["width"]):
                problems.append(f"the program was compiled for an engine of P = {target[0]} "
                                f"lanes of V = {target[1]} positions a word; the device has "
                                f"P = {hello['lanes']}, V = {hello['width']} (compile it "
                                f"again with --lanes {hello['lanes']} --width "
                                f"{hello['width']}, or without --lanes for any engine)")
            for bit, layer in required_caps(program).items():
                if not hello["caps"] & bit:
                    problems.append(f"no {bit.name} capability (layer {layer!r} needs it)")
            if not MEM_HEADER_BYTES + self.min_chunk <= hello["max_payload"]:
                problems.append(f"max_payload {hello['max_payload']} is too small for "
                                f"WRITE frames")
        plan = None
        if not problems:
            try:
                plan = DevicePlan.build(program, hello)
            except ProgramDoesNotFit as exc:
                # Its own "the program does not fit the device: " would repeat this
                # message's "the device does not fit the program: ".
                problems.extend(exc.problems)
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            try:
                board = spec.Board(hello["board"]).name
            except (ValueError, KeyError):
                board = f"board {hello.get('board')}"
            raise IncompatibleDevice(problems, device=f"the device ({board})")
        return plan

    def write_mem(self, mem, lane, addr, words):
        """WRITE ``words`` (ints; ACT: int8 values) into memory ``mem`` from ``addr``."""
        mem = Mem(mem)
        nbytes = spec.MEM_WORD_BYTES[mem]
        if mem is Mem.ACT:
            data = np.asarray(words).astype(np.int8).tobytes()
        else:
            data = encode_words(mem, words)
        n = len(data) // nbytes
        pos = 0
        while pos < n:
            def build(pos=pos):
                k = max(1, min(n - pos, self._chunk // nbytes))
                return write_payload(mem, lane, addr + pos,
                                     data[pos * nbytes:(pos + k) * nbytes]), k
            _, k = self._request(Op.WRITE, build, f"WRITE {mem.name} lane {lane} @ "
                                 f"{addr + pos}", adaptive=True)
            pos += k

    def read_act(self, addr, count):
        """READ ``count`` bytes of the activation memory from ``addr`` (int8 array)."""
        out = bytearray()
        while len(out) < count:
            pos = len(out)

            def build(pos=pos):
                k = max(1, min(count - pos, self._chunk, self.max_payload))
                return read_payload(addr + pos, k), k
            data, k = self._request(Op.READ, build, f"READ ACT @ {addr + pos}",
                                    reply_bytes=min(count - pos, self._chunk), adaptive=True)
            # A late answer to an earlier, longer try of this READ is as good (its bytes
            # start at the same address); anything else is not this protocol.
            if not k <= len(data) <= count - pos:
                raise DeviceError(f"READ ACT @ {addr + pos}", Status.OK, 1,
                                  f"{len(data)} bytes returned, {k} asked")
            out += data
        return np.frombuffer(bytes(out), np.int8).copy()

    def run(self, first, count, expected_cycles=None):
        """RUN image layers ``first .. first+count-1``; returns RUN_RESULT_FIELDS."""
        extra = 0.0 if expected_cycles is None else \
            self.run_margin * expected_cycles / self.clk_hz
        return self._fixed(Op.RUN, bytes([first, count]), spec.RUN_RESULT_FIELDS,
                           f"RUN {first}+{count}", extra_s=extra)

    def counters(self):
        """The engine counters summed over the last RUN's layers."""
        fields = tuple((name, 4) for name in spec.ENGINE_COUNTERS)
        return self._fixed(Op.COUNTERS, b"", fields, "COUNTERS")

    def power(self, hello=None):
        """POWER_FIELDS of the last RUN, or None when the device has no power capability
        (``hello``: its HELLO, asked for when not given)."""
        hello = hello or self._hello_cache()
        if not hello["caps"] & (Capability.POWER | Capability.POWER_MODEL):
            return None
        return self._fixed(Op.POWER, b"", spec.POWER_FIELDS, "POWER")

    def _hello_cache(self):
        if getattr(self, "_hello", None) is None:
            self._hello = self.hello()
        return self._hello

    # -- a program ------------------------------------------------------------------------
    def prepare(self, program):
        """HELLO, refuse the device unless ``program`` fits it (:meth:`check_compatible`),
        load the program; returns its :class:`DevicePlan`."""
        plan = self.check_compatible(self.hello(), program)
        self.load(plan)
        return plan

    def load(self, plan):
        """Send the plan's engine image (weights, channel tables, parameters, configuration)."""
        self._hello = plan.hello
        for mem, lane, addr, words in plan.load_writes():
            self.write_mem(mem, lane, addr, words)

    def infer(self, plan, x, progress=False):
        """Run the program on one input ``x`` (``program.input_shape``) or a batch
        (``progress``: a tqdm bar over the batch).

        Returns
        -------
        InferenceResult
            ``(output, int_output, cycles, counters)``: the program's final value, the last
            engine output map (unpadded int8), the cycles the device's RUNs reported and
            the counters summed over them; for a batch, arrays stacked on a first axis and
            lists of cycles and counters.
        """
        x = np.asarray(x)
        shape = tuple(plan.program.input_shape)
        if x.shape == shape:
            return InferenceResult(*self._infer_one(plan, x))
        if x.shape[1:] != shape:
            raise ValueError(f"input of shape {x.shape}: the program takes {shape} or a "
                             f"batch of them")
        from tqdm.auto import tqdm
        results = [self._infer_one(plan, xi)
                   for xi in tqdm(x, desc="device", disable=not progress)]
        return InferenceResult(np.stack([r[0] for r in results]),
                               np.stack([r[1] for r in results]),
                               [r[2] for r in results], [r[3] for r in results])

    def _run_counted(self, plan, entries, totals):
        result = self.run(entries[0], len(entries), plan.expected_cycles(entries))
        for name, value in self.counters().items():
            totals[name] += value
        return result["cycles"]

    def _infer_one(self, plan, x):
        from ..program.host_ops import run_host_op

        value = x[None]
        int_out = None
        cycles = 0
        totals = dict.fromkeys(spec.ENGINE_COUNTERS, 0)
        for step in plan.steps:
            if isinstance(step, HostStep):
                value = run_host_op(step.op, value)
                continue
            c, h, w = step.in_shape if isinstance(step, RunStep) else step.tiled.in_shape
            ph, pw = step.in_pad
            m = np.asarray(value).reshape((c, h + 2 * ph, w + 2 * pw))[:, ph:ph + h, pw:pw + w]
            if isinstance(step, RunStep):
                self.write_mem(Mem.ACT, 0, step.in_base, m.reshape(-1))
                cycles += self._run_counted(plan, step.entries, totals)
                out = self.read_act(step.out_base, int(np.prod(step.out_shape)))
                out = out.reshape(step.out_shape)
            else:
                tiled = step.tiled
                out = np.zeros(tiled.out_shape, np.int8)
                for k, entry in enumerate(step.entries):
                    if tiled.writes_input(k):
                        self.write_mem(Mem.ACT, 0, tiled.in_base,
                                       tiled.band_input(k, m).reshape(-1))
                    cycles += self._run_counted(plan, [entry], totals)
                    tiled.put(out, k, self.read_act(tiled.out_base, tiled.band_out_size))
            int_out = out
            oh, ow = step.out_pad
            value = np.pad(out, ((0, 0), (oh, oh), (ow, ow)))[None]
        output = np.asarray(value)[0]
        if int_out is None:
            int_out = np.zeros((0,), np.int8)
        return output, int_out, cycles, totals

    def close(self):
        """Close the port, then run :attr:`on_close`."""
        close = getattr(self.port, "close", None)
        try:
            if close is not None:
                close()
        finally:
            while self.on_close:
                self.on_close.pop()()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

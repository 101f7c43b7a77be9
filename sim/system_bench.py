"""cocotb bench of the whole device (:class:`hw.board.system.System`) through its UART
pins (run through sim/test_system.py).

Every request goes in as UART bits on ``rx``; every byte the device sends back on ``tx``
is compared with what the golden protocol device (:class:`sw.golden.device.GoldenDevice`, the
protocol written from the spec in numpy, with no RTL in it) answers to the very same
bytes. POWER is checked on its own against the XADC model's documented codes (the
golden device has no power meter).

Settings from the environment: ``BENCH_SEED``, ``BENCH_FRAMES``, ``BENCH_DIVISOR``,
``BENCH_CONFIG`` (JSON of the BoardConfig fields the device was built with),
``BENCH_SUMMARY`` (a JSON file for the tallies).
"""

import json
import os
import random
import time
from collections import Counter

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import RisingEdge

from sim.link_bench import _corrupt
from sim.uart import UartSink, UartSource, settle_comb_at_time_zero
from sw import spec
from sw.golden.device import GoldenDevice
from sw.mapping.plan import DevicePlan, RunStep
from sw.device.requests import read_payload, write_payloads
from sw.link import FrameParser, encode_frame
from sw.spec import Mem, Op, Status

SEED = int(os.environ.get("BENCH_SEED", "1"))
FRAMES = int(os.environ.get("BENCH_FRAMES", "200"))
DIVISOR = int(os.environ.get("BENCH_DIVISOR", "4"))
CONFIG = json.loads(os.environ.get("BENCH_CONFIG", "{}"))
CLOCK_NS = 10
#: Words a WRITE of the bench carries (small frames: more of them, each quick).
CHUNK = 48
QUIET_CYCLES = spec.LINK_TIMEOUT_BYTES * 10 * DIVISOR + 20 * DIVISOR + 50


_STATE = {}


class Bench:
    """The device's pins, the golden device fed the same bytes, and the tallies.

    The tests of one run share the device (its memories survive a reset, as on a board)
    and so share one golden device; only the first test resets the device.
    """

    def __init__(self, dut):
        self.dut = dut
        self.src = UartSource(dut.rx, dut.clk, DIVISOR)
        self.sink = UartSink(dut.tx, dut.clk, DIVISOR)
        if "golden" not in _STATE:
            _STATE["golden"] = GoldenDevice(
                CONFIG["lanes"], CONFIG["lane_words"], CONFIG["act_depth"],
                config_depth=CONFIG["config_depth"], clk_hz=CONFIG["clk_hz"],
                baud=CONFIG["clk_hz"] // DIVISOR, board=CONFIG["board"], caps=CONFIG["caps"])
            _STATE["seq"] = 0
        self.golden = _STATE["golden"]
        self.tally = Counter()

    @property
    def seq(self):
        return _STATE["seq"]

    async def reset(self):
        first = not _STATE.get("started")
        _STATE["started"] = True
        if first:
            await settle_comb_at_time_zero(self.dut)
        cocotb.start_soon(Clock(self.dut.clk, CLOCK_NS, unit="ns").start())
        self.dut.rst.value = int(first)
        for _ in range(3):
            await RisingEdge(self.dut.clk)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)

    def next_seq(self):
        _STATE["seq"] = (_STATE["seq"] + 1) % 256
        return _STATE["seq"]

    async def exchange(self, data, what, *, extra_cycles=0, damaged=False):
        """Send ``data``; the device must answer exactly what the golden device answers."""
        self.golden.write(data)
        want = self.golden.read(1 << 20)
        await self.src.write(data)
        if damaged or not want:
            got = await self.sink.quiet(QUIET_CYCLES + extra_cycles)
            # The device has dropped any partial frame by now: so does the golden one.
            self.golden._parser.reset()
        else:
            timeout = len(want) * 10 * DIVISOR * 11 // 10 + 40 * DIVISOR + 2000 + extra_cycles
            got = await self.sink.read(len(want), timeout)
        assert got == want, (f"{what}: sent {data[:40].hex()}..., golden answers "
                             f"{want[:60].hex()}, the device {got[:60].hex()}")
        for frame in FrameParser().feed(got):
            self.tally[Status(frame.code).name] += 1
        self.tally["silent" if not got else "answered"] += 1
        return FrameParser().feed(got)

    async def request(self, op, payload, what, **kw):
        frames = await self.exchange(encode_frame(self.next_seq(), op, payload), what, **kw)
        assert len(frames) == 1, f"{what}: {len(frames)} frames back"
        return frames[0]


def _write_summary(name, data):
    path = os.environ.get("BENCH_SUMMARY")
    if not path:
        return
    old = json.load(open(path)) if os.path.exists(path) else {}
    old[name] = data
    with open(path, "w") as f:
        json.dump(old, f, indent=1)


@cocotb.test()
async def conformance(dut):
    """Each op and each refusal once; a program loaded and run wholly on the device; the
    NAK and the resend; a RUN resent with its seq is not run again; POWER."""
    bench = Bench(dut)
    await bench.reset()
    answer = await bench.request(Op.HELLO, b"", "HELLO")
    hello = spec.unpack_bytes(spec.HELLO_FIELDS, answer.payload)
    assert hello["magic"] == spec.LINK_MAGIC and hello["lanes"] == CONFIG["lanes"]

    for op, payload, what in [
            (0x55, b"", "unknown op"), (Op.HELLO, b"\x00", "HELLO with a payload"),
            (Op.READ, read_payload(0, 2)[:5], "short READ"),
            (Op.READ, read_payload(0, 1, Mem.PARAM), "READ of a write-only memory"),
            (Op.READ, read_payload(CONFIG["act_depth"] - 1, 2), "READ past the end"),
            (Op.READ, read_payload(0, spec.LINK_MAX_PAYLOAD + 1), "READ over a frame"),
            (Op.WRITE, bytes([Mem.WEIGHT, CONFIG["lanes"], 0, 0]) + bytes(5), "no such lane"),
            (Op.WRITE, bytes([7, 0, 0, 0]), "no such memory"),
            (Op.WRITE, bytes([Mem.PARAM, 0, 0, 0]) + bytes(11), "torn word"),
            (Op.WRITE, bytes([Mem.ACT, 0]) + (CONFIG["act_depth"] - 1).to_bytes(2, "little")
             + bytes(2), "WRITE past the end"),
            (Op.RUN, b"\x00", "short RUN"), (Op.RUN, bytes([255, 1]), "RUN past the layers"),
            (Op.RUN, bytes([0, 0]), "RUN of no layer"), (Op.COUNTERS, b"", "COUNTERS")]:
        await bench.request(op, payload, what)

    # The NAK, then the same request resent.
    frame = bytearray(encode_frame(bench.next_seq(), Op.WRITE, bytes([Mem.ACT, 0, 0, 0, 9])))
    frame[6] ^= 0x04
    nak = await bench.exchange(bytes(frame), "bad CRC")
    assert nak[0].code == Status.CRC_ERROR
    frame[6] ^= 0x04
    await bench.exchange(bytes(frame), "resent after the NAK")

    # A program, loaded through the link and run by the on-chip sequencer.
    from testsupport.networks import small_network
    rng = np.random.default_rng(3)
    program, layers = small_network(rng)
    x = rng.integers(-128, 128, (1, 8, 10))
    plan = DevicePlan.build(program, hello)
    for mem, lane, addr, words in plan.load_writes():
        for payload in write_payloads(mem, lane, addr, words, CHUNK):
            await bench.request(Op.WRITE, payload, f"load {mem.name}")
    (step,) = [s for s in plan.steps if isinstance(s, RunStep)]
    for payload in write_payloads(Mem.ACT, 0, step.in_base, x.reshape(-1), CHUNK):
        await bench.request(Op.WRITE, payload, "input")
    expected = plan.expected_cycles(range(step.first, step.first + step.count))
    runs_before = bench.golden.runs_executed
    run = encode_frame(bench.next_seq(), Op.RUN, bytes([step.first, step.count]))
    first = await bench.exchange(run, "RUN", extra_cycles=expected)
    result = spec.unpack_bytes(spec.RUN_RESULT_FIELDS, first[0].payload)
    assert result == {"cycles": expected, "layers": step.count}
    await bench.exchange(run, "RUN resent with its seq", extra_cycles=expected)
    assert bench.golden.runs_executed == runs_before + 1
    size = int(np.prod(step.out_shape))
    out = await bench.request(Op.READ, read_payload(step.out_base, size), "read the output")
    from sw.golden import executor
    value = np.pad(x, ((0, 0), (1, 1), (1, 1)))[None]
    for layer in layers:
        value = executor.run_layer(layer, value)
    np.testing.assert_array_equal(np.frombuffer(out.payload, np.int8), value.reshape(-1))
    await bench.request(Op.COUNTERS, b"", "COUNTERS after the run")

    # POWER: the meter's sums over the run and the idle time before it, from the XADC
    # model's codes: idle level, plus its per-activity step times the lanes while busy.
    await bench.src.write(encode_frame(bench.next_seq(), Op.POWER, b""))
    raw = await bench.sink.read(spec.LINK_HEADER_BYTES + spec.field_bytes(spec.POWER_FIELDS)
                                + spec.LINK_CRC_BYTES, 20000)
    (frame,) = FrameParser().feed(raw)
    power = spec.unpack_bytes(spec.POWER_FIELDS, frame.payload)
    from hw.power.xadc_model import XADCModel
    model = XADCModel(max_activity=CONFIG["lanes"])
    assert power["run_cycles"] == expected
    assert power["run_samples"] >= 1 and power["idle_samples"] >= 1, power
    for k, channel in enumerate(spec.POWER_CHANNELS):
        busy_code = model.expected_code(k, CONFIG["lanes"])
        idle_code = model.expected_code(k, 0)
        # A set straddling the run's edges mixes the two levels.
        lo, hi = sorted((busy_code, idle_code))
        assert lo * power["run_samples"] <= power[f"run_{channel}"] <= hi * power["run_samples"]
        assert power[f"idle_{channel}"] == idle_code * power["idle_samples"], channel
    bench.golden._parser.reset()
    _write_summary("conformance", dict(bench.tally))


def random_request(rng):
    """A random request, valid or not, and a name for it."""
    lanes, depth = CONFIG["lanes"], CONFIG["act_depth"]
    kind = rng.choice(["hello", "write_act", "write_act", "write_mem", "read", "read",
                       "counters", "run_bad", "bad_op", "bad_length"])
    if kind == "hello":
        return Op.HELLO, b""
    if kind == "write_act":
        n = rng.randrange(0, 40)
        addr = rng.randrange(depth - n + 2)          # now and then one past the end
        return Op.WRITE, bytes([Mem.ACT, 0]) + addr.to_bytes(2, "little") + bytes(
            rng.randrange(256) for _ in range(n))
    if kind == "write_mem":
        mem = rng.choice([Mem.WEIGHT, Mem.CHAN, Mem.PARAM, Mem.CONFIG, 5])
        nbytes = spec.MEM_WORD_BYTES.get(mem, 1)
        n = rng.randrange(0, 5) * nbytes + (rng.random() < 0.1)
        lane = rng.randrange(lanes + 1)
        addr = rng.randrange(0, 40)
        return Op.WRITE, bytes([mem, lane]) + addr.to_bytes(2, "little") + bytes(
            rng.randrange(256) for _ in range(n))
    if kind == "read":
        count = rng.randrange(0, 48)
        addr = rng.randrange(depth - count + 2)
        return Op.READ, read_payload(addr, count, Mem.ACT if rng.random() < 0.9 else Mem.CHAN)
    if kind == "counters":
        return Op.COUNTERS, b""
    if kind == "run_bad":
        return Op.RUN, bytes([rng.randrange(200, 256), rng.randrange(1, 5)])
    if kind == "bad_op":
        op = rng.choice([0, 7, 0x42, 0xFF])
        return op, bytes(rng.randrange(256) for _ in range(rng.randrange(4)))
    op = rng.choice([Op.HELLO, Op.READ, Op.RUN, Op.COUNTERS, Op.POWER, Op.WRITE])
    # A length the op does not take: READ takes 6, RUN 2, WRITE at least 4, the rest 0.
    n = {Op.READ: rng.choice([5, 7]), Op.RUN: rng.choice([1, 3]),
         Op.WRITE: rng.randrange(4)}.get(op, 1)
    return op, bytes(rng.randrange(256) for _ in range(n))


@cocotb.test()
async def random_frames(dut):
    """Random requests, good and damaged: the device answers every byte as the golden
    device does, and after any damage the next good request works."""
    rng = random.Random(SEED)
    bench = Bench(dut)
    await bench.reset()
    cases = Counter()
    damage = ["flip_body", "flip_head", "drop", "insert", "truncate"]
    wall = time.perf_counter()
    previous_damaged = False
    for n in range(FRAMES):
        op, payload = random_request(rng)
        frame = encode_frame(bench.next_seq(), op, payload)
        kind = "good" if previous_damaged or rng.random() < 0.75 else rng.choice(damage)
        cases[kind] += 1
        if kind != "good":
            frame = _corrupt(rng, kind, frame)
        await bench.exchange(frame, f"frame {n} ({kind}, op {op:#x})", damaged=kind != "good")
        previous_damaged = kind != "good"
    wall = time.perf_counter() - wall
    cycles = get_sim_time("ns") / CLOCK_NS
    dut._log.info(f"system bench: {FRAMES} frames ({dict(cases)}); answers "
                  f"{dict(bench.tally)}; {cycles:.0f} cycles in {wall:.1f} s")
    _write_summary("random_frames", {"frames": FRAMES, "cases": dict(cases),
                                     "answers": dict(bench.tally), "cycles": cycles,
                                     "wall_s": wall})

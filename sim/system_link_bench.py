"""cocotb bench of the whole device's link (:class:`hw.board.system.System`) under a real
line's conditions (run through sim/test_system.py, at the boards' divisor 25).

The other System bench (sim/system_bench.py) drives the pins at exactly the device's baud
with the bytes of a request back to back. Here the host is less kind:

* ``baud_mismatch``: the host's UART (its transmitter and its receiver) runs 2 % fast,
  then 2 % slow, against the device's;
* ``byte_gaps``: idle gaps between the bytes of a request, shorter than the frame
  time-out, some of them starting with a glitch under half a bit (noise the receiver
  ignores: a low pulse shorter than half a bit is not a start bit, docs/link.md);
* ``frame_timeout``: a request whose bytes stop mid-frame for longer than the time-out is
  dropped with no answer (docs/link.md: "a truncated frame ... silence"), and the next
  request is answered; a gap just under the time-out keeps the frame.

Every answer is compared with what the golden protocol device (:mod:`sw.golden.device`)
answers to the same request. The device's time-out counts the cycles since the last byte
it received, which it has in the middle of that byte's stop bit: a gap of ``g`` idle
cycles on the line between two bytes is ``g`` plus one byte time without a byte.

Settings from the environment: those of sim/system_bench.py (``BENCH_DIVISOR``,
``BENCH_CONFIG``, ``BENCH_SUMMARY``), and ``BENCH_SEED``.
"""

import os
import random

import cocotb
from cocotb.simtime import get_sim_time

from sim.system_bench import CLOCK_NS, CONFIG, DIVISOR, Bench, _write_summary
from sim.uart import UartSink, UartSource
from sw import spec
from sw.device.requests import read_payload
from sw.link import FrameParser, encode_frame
from sw.spec import Mem, Op

SEED = int(os.environ.get("BENCH_SEED", "1"))
#: Clock cycles without a received byte after which the device drops a partial frame.
TIMEOUT_CYCLES = spec.LINK_TIMEOUT_BYTES * 10 * DIVISOR
BYTE_CYCLES = 10 * DIVISOR
#: The device's bit period, in picoseconds.
BIT_PS = DIVISOR * CLOCK_NS * 1000
MISMATCH = 0.02


def requests(rng):
    """A handful of requests: HELLO, a WRITE and the READ of what it wrote, a refused RUN,
    COUNTERS."""
    n = rng.randrange(6, 14)
    addr = rng.randrange(CONFIG["act_depth"] - n)
    data = bytes(rng.randrange(256) for _ in range(n))
    return [(Op.HELLO, b""),
            (Op.WRITE, bytes([Mem.ACT, 0]) + addr.to_bytes(2, "little") + data),
            (Op.READ, read_payload(addr, n)),
            (Op.RUN, bytes([255, 1])),
            (Op.COUNTERS, b"")]


def use_host_uart(bench, bit_ps=None):
    """Give the bench a host UART at ``bit_ps`` (the device's baud when None)."""
    bench.sink._task.cancel()
    bench.src = UartSource(bench.dut.rx, bench.dut.clk, DIVISOR, bit_ps=bit_ps)
    bench.sink = UartSink(bench.dut.tx, bench.dut.clk, DIVISOR, bit_ps=bit_ps)


async def send(bench, data, gaps=None, glitch_at=()):
    """Send ``data`` with ``gaps[k]`` idle cycles after byte ``k`` (a glitch of 0.4 bit at
    the start of the gaps in ``glitch_at``)."""
    gaps = gaps or {}
    for k, byte in enumerate(data):
        await bench.src.write(bytes([byte]))
        gap = gaps.get(k, 0)
        if k in glitch_at:
            glitch = DIVISOR * 4 // 10
            await bench.src.glitch(glitch)
            gap -= glitch
        if gap > 0:
            await bench.src.idle(gap)


async def answered(bench, op, payload, what, **kw):
    """Send a request (with the gaps of :func:`send`); it must get the golden answer."""
    frame = encode_frame(bench.next_seq(), op, payload)
    bench.golden.write(frame)
    want = bench.golden.read(1 << 20)
    assert want, f"{what}: the golden device does not answer"
    await send(bench, frame, **kw)
    timeout = len(want) * BYTE_CYCLES * 11 // 10 + 40 * DIVISOR + 2000
    got = await bench.sink.read(len(want), timeout)
    assert got == want, (f"{what}: sent {frame[:40].hex()}, golden answers "
                         f"{want[:60].hex()}, the device {got[:60].hex()}")
    (answer,) = FrameParser().feed(got)
    bench.tally["answered"] += 1
    return answer


async def check_requests(bench, rng, what, gaps=None):
    """The requests of :func:`requests`, each answered as the golden device answers; the
    READ returns what the WRITE wrote. ``gaps(frame_length)`` gives each one's gaps."""
    reqs = requests(rng)
    for op, payload in reqs:
        kw = gaps(len(payload) + spec.LINK_HEADER_BYTES + spec.LINK_CRC_BYTES) if gaps else {}
        answer = await answered(bench, op, payload, f"{what}: op {op:#x}", **kw)
        if op == Op.READ:
            assert answer.payload == reqs[1][1][4:], f"{what}: READ after WRITE"


def _summary(name, bench, start):
    cycles = (get_sim_time("ns") - start) / CLOCK_NS
    _write_summary(name, {"answers": dict(bench.tally), "cycles": cycles})


@cocotb.test()
async def baud_mismatch(dut):
    """The host's UART 2 % fast, then 2 % slow: every request answered exactly, each
    answer decoded by the host at its own baud."""
    rng = random.Random(SEED)
    bench = Bench(dut)
    await bench.reset()
    start = get_sim_time("ns")
    for sign in (+1, -1):
        use_host_uart(bench, BIT_PS * (1 + sign * MISMATCH))
        await check_requests(bench, rng, f"host baud {sign * MISMATCH:+.0%}")
    use_host_uart(bench)
    await check_requests(bench, rng, "host baud exact again")
    _summary("baud_mismatch", bench, start)


@cocotb.test()
async def byte_gaps(dut):
    """Random idle gaps between the bytes of requests, up to half the time-out, some
    starting with a glitch of 0.4 bit: every request answered exactly."""
    rng = random.Random(SEED + 1)
    bench = Bench(dut)
    await bench.reset()
    start = get_sim_time("ns")

    def gaps(n):
        out = {}
        for k in range(n - 1):
            r = rng.random()
            if r < 0.4:
                out[k] = rng.randrange(1, 3 * BYTE_CYCLES)
        # One long gap in each request, past the first byte.
        out[rng.randrange(1, n - 1)] = rng.randrange(TIMEOUT_CYCLES // 4, TIMEOUT_CYCLES // 2)
        glitch_at = [k for k, g in out.items() if g >= 2 * DIVISOR and rng.random() < 0.5]
        return {"gaps": out, "glitch_at": glitch_at}

    for _ in range(2):
        await check_requests(bench, rng, "gaps between bytes", gaps)
    _summary("byte_gaps", bench, start)


@cocotb.test()
async def frame_timeout(dut):
    """A request stopped mid-frame for longer than the time-out gets no answer, and the
    next request is answered; a gap just under the time-out keeps the frame."""
    rng = random.Random(SEED + 2)
    bench = Bench(dut)
    await bench.reset()
    start = get_sim_time("ns")
    # Line gaps that leave the device two bit times under, and over, its time-out.
    under = TIMEOUT_CYCLES - BYTE_CYCLES - 2 * DIVISOR
    over = TIMEOUT_CYCLES - BYTE_CYCLES + 2 * DIVISOR
    n = 8
    addr = rng.randrange(CONFIG["act_depth"] - n)
    data = bytes(rng.randrange(256) for _ in range(n))
    write = bytes([Mem.ACT, 0]) + addr.to_bytes(2, "little") + data
    length = spec.LINK_HEADER_BYTES + len(write) + spec.LINK_CRC_BYTES

    # Just under: the frame is kept, whichever byte the gap follows.
    for after in (0, 6, length - 2):
        await answered(bench, Op.WRITE, write, f"gap of {under} cycles after byte {after}",
                       gaps={after: under})

    # Over: after SYNC, in the length, in the payload, in the CRC. The frame is dropped
    # in silence, hunting resumes, and the next request (a READ, at once) is answered.
    for cut in (1, 2, 9, length - 1):
        frame = encode_frame(bench.next_seq(), Op.WRITE,
                             bytes([Mem.ACT, 0]) + addr.to_bytes(2, "little") + bytes(n))
        await send(bench, frame[:cut])
        await bench.src.idle(over)
        got = bench.sink.take()
        assert got == b"", f"cut after {cut} bytes: the device answered {got.hex()}"
        answer = await answered(bench, Op.READ, read_payload(addr, n),
                                f"READ after a frame cut after {cut} bytes")
        # The dropped WRITE of zeros never happened.
        assert answer.payload == data, f"cut after {cut} bytes: the WRITE was executed"
    _summary("frame_timeout", bench, start)

"""cocotb bench of the whole link through its UART pins (run through sim/test_link.py).

The device is :class:`hw.link.LinkEcho` (UART receiver, frame receiver, a responder that
answers a good frame with OK and its payload reversed and a bad one with the NAK, frame
transmitter, UART transmitter). The bench speaks to it only through ``rx`` and ``tx``
(:mod:`sim.uart`), and checks every answer against frames the host codec
(:mod:`sw.link.frame`) builds.

Settings come from the environment: ``BENCH_SEED``, ``BENCH_FRAMES`` (random cases),
``BENCH_DIVISOR`` and ``BENCH_MAX_PAYLOAD`` (as the device was built), ``BENCH_SUMMARY``
(a JSON file to write the tallies to).
"""

import json
import os
import random
import time
from collections import Counter

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import RisingEdge

from sim.uart import UartSink, UartSource, settle_comb_at_time_zero
from sw import spec
from sw.link import FrameParser, encode_frame

SEED = int(os.environ.get("BENCH_SEED", "1"))
FRAMES = int(os.environ.get("BENCH_FRAMES", "500"))
DIVISOR = int(os.environ.get("BENCH_DIVISOR", "4"))
MAX_PAYLOAD = int(os.environ.get("BENCH_MAX_PAYLOAD", str(spec.LINK_MAX_PAYLOAD)))
CLOCK_NS = 10

TIMEOUT_CYCLES = spec.LINK_TIMEOUT_BYTES * 10 * DIVISOR
#: Line silence after which any partial frame in the device has timed out and any answer
#: has been sent: its time-out, two byte times, and slack.
QUIET_CYCLES = TIMEOUT_CYCLES + 20 * DIVISOR + 50
SYNC = spec.LINK_SYNC
OK, NAK = spec.Status.OK, spec.Status.CRC_ERROR


class Link:
    """The device's pins, the host's view of them, and the tallies."""

    def __init__(self, dut):
        self.dut = dut
        self.src = UartSource(dut.rx, dut.clk, DIVISOR)
        self.sink = UartSink(dut.tx, dut.clk, DIVISOR)
        self.tally = Counter()

    async def reset(self):
        await settle_comb_at_time_zero(self.dut)
        cocotb.start_soon(Clock(self.dut.clk, CLOCK_NS, unit="ns").start())
        self.dut.rst.value = 1
        for _ in range(3):
            await RisingEdge(self.dut.clk)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)

    async def expect(self, request, answer, what):
        """Send ``request`` and require exactly ``answer`` back."""
        await self.src.write(request)
        timeout = len(answer) * 10 * DIVISOR * 11 // 10 + 20 * DIVISOR + 100
        got = await self.sink.read(len(answer), timeout)
        assert got == answer, f"{what}: sent {request.hex()}, want {answer.hex()}, got {got.hex()}"
        self.tally["answered" if answer[4] == OK else "naks"] += 1

    async def expect_silence(self, request, what):
        await self.src.write(request)
        got = await self.sink.quiet(QUIET_CYCLES)
        assert got == b"", f"{what}: sent {request.hex()}, want silence, got {got.hex()}"
        self.tally["silent"] += 1

    async def expect_nak_or_silence(self, request, what):
        """A corrupted request: whatever comes back must be whole NAKs, nothing else."""
        await self.src.write(request)
        got = await self.sink.quiet(QUIET_CYCLES)
        parser = FrameParser()
        frames = parser.feed(got)
        assert not parser.in_frame, f"{what}: a partial answer {got.hex()}"
        for f in frames:
            assert f.crc_ok and f.code == NAK and f.payload == b"", \
                f"{what}: sent {request.hex()}, got {got.hex()}: not a NAK"
        self.tally["naks"] += len(frames)
        self.tally["silent"] += not frames

    async def expect_overlap(self, first, answer, second, second_answer, what):
        """Send ``second`` right behind ``first``, without waiting for the answer.

        ``first`` is answered exactly; bytes of ``second`` that arrive while the device
        still holds ``first`` are dropped, so what follows may be ``second``'s answer (when
        none were), NAKs or nothing, and the link must work afterwards.
        """
        await self.src.write(first + second)
        got = await self.sink.quiet(QUIET_CYCLES)
        assert got[:len(answer)] == answer, \
            f"{what}: first answer: want {answer.hex()}, got {got.hex()}"
        self.tally["answered"] += 1
        parser = FrameParser()
        rest = got[len(answer):]
        frames = parser.feed(rest)
        assert not parser.in_frame, f"{what}: a partial answer {rest.hex()}"
        for f in frames:
            if f.code == OK:
                assert encode_frame(f.seq, f.code, f.payload) == second_answer, \
                    f"{what}: an OK that is not the second frame's answer: {rest.hex()}"
                self.tally["answered"] += 1
            else:
                assert f.crc_ok and f.code == NAK and f.payload == b"", \
                    f"{what}: got {rest.hex()}: not a NAK"
                self.tally["naks"] += 1
        self.tally["overlap_second_" + ("answered" if any(f.code == OK for f in frames)
                                        else "naks" if frames else "silent")] += 1

    async def check_counters(self):
        """The device's own frame counters agree with what the host saw."""
        await self.sink.quiet(QUIET_CYCLES)
        assert int(self.dut.frames_ok.value) == self.tally["answered"] % 65536
        assert int(self.dut.frames_bad.value) == self.tally["naks"] % 65536


def echo(seq, payload):
    return encode_frame(seq, OK, bytes(payload)[::-1], max_payload=MAX_PAYLOAD)


def nak(seq):
    return encode_frame(seq, NAK, b"")


def _write_summary(name, tally, extra):
    path = os.environ.get("BENCH_SUMMARY")
    if not path:
        return
    data = json.load(open(path)) if os.path.exists(path) else {}
    data[name] = {**tally, **extra}
    with open(path, "w") as f:
        json.dump(data, f, indent=1)


@cocotb.test()
async def conformance(dut):
    """Each rule once: answers, the NAK, lengths, garbage, glitches, time-outs, recovery."""
    link = Link(dut)
    await link.reset()
    await link.expect(encode_frame(1, spec.Op.HELLO, b"hello"), echo(1, b"hello"), "good")
    await link.expect(encode_frame(2, spec.Op.RUN, b""), echo(2, b""), "empty payload")
    bad = bytearray(encode_frame(0x42, spec.Op.WRITE, b"\x00\x01\x02\x03"))
    bad[-1] ^= 0x10
    await link.expect(bytes(bad), nak(0x42), "bad CRC: NAK with the seq as received")
    await link.expect(encode_frame(0x42, spec.Op.WRITE, b"\x00\x01\x02\x03"),
                      echo(0x42, b"\x00\x01\x02\x03"), "resent after the NAK")
    big = bytes(random.Random(SEED).randrange(256) for _ in range(MAX_PAYLOAD))
    await link.expect(encode_frame(3, 1, big, max_payload=MAX_PAYLOAD), echo(3, big),
                      "largest payload")
    over = bytes([SYNC]) + (MAX_PAYLOAD + 1).to_bytes(2, "little") + bytes(12)
    await link.expect_silence(over, "length over the maximum")
    await link.expect(encode_frame(4, 1, b"x"), echo(4, b"x"), "after an over-long length")
    await link.expect_silence(encode_frame(5, 1, b"truncated")[:-3], "truncated")
    await link.expect(encode_frame(6, 1, b"y"), echo(6, b"y"), "after a time-out")
    await link.expect(bytes([0x00, 0xFF, 0x13, 0x5A]) + encode_frame(7, 1, b"zz"),
                      echo(7, b"zz"), "garbage without SYNC before a frame")
    for cycles in range(1, DIVISOR // 2):
        await link.src.glitch(cycles)
        await link.src.idle(2 * DIVISOR)
    await link.expect(encode_frame(8, 1, b"g"), echo(8, b"g"), "after glitches")
    await link.src.write(bytes([SYNC, 0x03]), stop=0)     # framing errors
    await link.src.idle(DIVISOR * 20)
    await link.expect_nak_or_silence(b"", "after framing errors")
    await link.expect(encode_frame(9, 1, b"fe"), echo(9, b"fe"), "after framing errors")
    await link.check_counters()
    _write_summary("conformance", link.tally, {})


def _corrupt(rng, kind, frame):
    """Apply ``kind`` of damage to ``frame`` (bytes); returns the bytes to send."""
    f = bytearray(frame)
    if kind == "flip_body":             # seq, code, payload or CRC: the extent survives
        k = rng.randrange(3, len(f))
        f[k] ^= 1 << rng.randrange(8)
    elif kind == "flip_head":           # SYNC or length
        k = rng.randrange(0, 3)
        f[k] ^= 1 << rng.randrange(8)
    elif kind == "drop":
        del f[rng.randrange(len(f))]
    elif kind == "insert":             # inside the frame (before or after it is harmless)
        k = rng.randrange(1, len(f))
        f[k:k] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
    elif kind == "truncate":
        del f[rng.randrange(1, len(f)):]
    return bytes(f)


@cocotb.test()
async def random_frames(dut):
    """Random frames, good and damaged; every good one answered, the link never wedges."""
    rng = random.Random(SEED)
    link = Link(dut)
    await link.reset()
    kinds = ["good"] * 10 + ["garbage_good"] * 2 + ["flip_body"] * 3 + [
        "flip_head", "drop", "insert", "truncate", "overlong", "overlap"]
    cases = Counter()
    wall = time.perf_counter()
    previous = "good"
    for n in range(FRAMES):
        # After any damage the next frame is a good one: the link has to work again.
        kind = rng.choice(kinds) if previous in ("good", "garbage_good") else "good"
        previous = kind
        cases[kind] += 1
        seq = rng.randrange(256)
        length = rng.randrange(MAX_PAYLOAD + 1) if rng.random() < 0.002 else rng.randrange(25)
        payload = bytes(rng.randrange(256) for _ in range(length))
        frame = encode_frame(seq, rng.randrange(256), payload, max_payload=MAX_PAYLOAD)
        what = f"case {n} ({kind})"
        if kind == "good":
            await link.expect(frame, echo(seq, payload), what)
        elif kind == "garbage_good":
            garbage = bytes(rng.choice([b for b in range(256) if b != SYNC])
                            for _ in range(rng.randint(1, 8)))
            await link.expect(garbage + frame, echo(seq, payload), what)
        elif kind == "flip_body":
            bad = _corrupt(rng, kind, frame)
            await link.expect(bad, nak(bad[3]), what)
        elif kind == "truncate":
            await link.expect_silence(_corrupt(rng, kind, frame), what)
        elif kind == "overlong":
            tail = bytes(rng.choice([b for b in range(256) if b != SYNC])
                         for _ in range(rng.randrange(20)))
            over = rng.randrange(MAX_PAYLOAD + 1, 0x10000).to_bytes(2, "little")
            await link.expect_silence(bytes([SYNC]) + over + tail, what)
        elif kind == "overlap":
            seq2 = rng.randrange(256)
            payload2 = bytes(rng.randrange(256) for _ in range(rng.randrange(25)))
            await link.expect_overlap(frame, echo(seq, payload),
                                      encode_frame(seq2, 1, payload2), echo(seq2, payload2),
                                      what)
        else:
            await link.expect_nak_or_silence(_corrupt(rng, kind, frame), what)
    await link.check_counters()
    wall = time.perf_counter() - wall
    cycles = get_sim_time("ns") / CLOCK_NS
    total = sum(cases.values())
    dut._log.info(f"link bench: {total} frames ({dict(cases)}); outcomes {dict(link.tally)}; "
                  f"{cycles:.0f} cycles in {wall:.1f} s")
    _write_summary("random_frames", link.tally, {"frames": total, "cases": dict(cases),
                                                  "cycles": cycles, "wall_s": wall,
                                                  "bytes_sent": link.src.bytes_sent})

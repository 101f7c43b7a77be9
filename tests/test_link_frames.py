"""Frame receiver and transmitter in amaranth.sim, against the host codec (sw.link.frame).

The host codec is written apart from the hardware with the same rules and its CRC from
zlib, so every frame the hardware finds (or sends) is checked against it byte for byte.
"""

import numpy as np
import pytest
from amaranth.sim import Simulator

from hw.link import FrameReceiver, FrameTransmitter
from sw import spec
from sw.link import FrameParser, encode_frame
from testsupport.elaboratables import unused_warning_files

SYNC = spec.LINK_SYNC


def receive(dut, schedule, *, wait_while_held=True, read_delay=(0, 5), seed=0):
    """Feed ``schedule`` (bytes, and ``-n`` for n idle cycles) into a FrameReceiver.

    The consumer reads each frame's payload through the buffer port, waits a random
    ``read_delay`` and asserts ``frame.ready``. With ``wait_while_held`` the feeder pauses
    while a frame is presented (a host waiting for the answer); without it, bytes go on
    and the ones arriving while a frame is presented are reported as dropped.

    Returns the frames as ``(seq, code, payload, crc_ok)`` and the stream with the dropped
    bytes left out (``-n`` gaps kept).
    """
    rng = np.random.default_rng(seed)
    frames, fed = [], []

    async def consumer(ctx):
        while True:
            if not ctx.get(dut.frame.valid):
                await ctx.tick()
                continue
            info = ctx.get(dut.frame.payload)
            payload = []
            for a in range(info.length):
                ctx.set(dut.buf_addr, a)
                await ctx.tick()
                payload.append(ctx.get(dut.buf_data))
            for _ in range(int(rng.integers(*read_delay, endpoint=True))):
                await ctx.tick()
            frames.append((info.seq, info.code, bytes(payload), bool(info.crc_ok)))
            ctx.set(dut.frame.ready, 1)
            await ctx.tick()
            ctx.set(dut.frame.ready, 0)

    async def feeder(ctx):
        for item in schedule:
            if item < 0:
                await ctx.tick().repeat(-item)
                fed.append(item)
                continue
            while wait_while_held and ctx.get(dut.frame.valid):
                await ctx.tick()
            ctx.set(dut.i.valid, 1)
            ctx.set(dut.i.payload, item)
            assert ctx.get(dut.i.ready), "a UART cannot wait: i.ready must stay high"
            if not ctx.get(dut.frame.valid):
                fed.append(item)
            await ctx.tick()
            ctx.set(dut.i.valid, 0)
        await ctx.tick().repeat(300)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(consumer, background=True)
    sim.add_testbench(feeder)
    sim.run()
    return frames, fed


def reference(fed, max_payload, timeout_cycles):
    """What the host codec finds in ``fed``, dropping a partial frame on a long gap."""
    parser = FrameParser(max_payload)
    frames = []
    for item in fed:
        if item < 0:
            if -item >= timeout_cycles:
                parser.reset()
        else:
            frames += parser.feed([item])
    return [(f.seq, f.code, f.payload, f.crc_ok) for f in frames]


def random_schedule(rng, n, max_payload, *, garbage=True):
    """Good frames, frames with a flipped bit, over-long lengths and garbage, short gaps."""
    out = []
    for _ in range(n):
        kind = rng.choice(["good", "good", "flip", "long", "garbage"] if garbage
                          else ["good", "flip"])
        length = int(rng.integers(0, max_payload + 1))
        frame = bytearray(encode_frame(int(rng.integers(256)), int(rng.integers(256)),
                                       rng.integers(0, 256, length).astype(np.uint8).tobytes(),
                                       max_payload=max_payload))
        if kind == "flip":
            # After the length field, so the frame keeps its extent and only the CRC fails.
            k = int(rng.integers(3, len(frame)))
            frame[k] ^= 1 << int(rng.integers(8))
        elif kind == "long":
            bad = int(rng.integers(max_payload + 1, 0x10000))
            frame = bytearray([SYNC]) + bad.to_bytes(2, "little") + frame[3:12]
        elif kind == "garbage":
            frame = rng.integers(0, 256, int(rng.integers(1, 12))).astype(np.uint8).tobytes()
        for byte in frame:
            out.append(int(byte))
            if rng.random() < 0.1:
                out.append(-int(rng.integers(1, 20)))
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_receiver_matches_the_host_parser_on_random_streams(seed):
    rng = np.random.default_rng(seed)
    max_payload, timeout = 40, 64
    dut = FrameReceiver(max_payload, timeout)
    schedule = random_schedule(rng, 80, max_payload)
    frames, fed = receive(dut, schedule, seed=seed)
    assert fed == schedule, "nothing is dropped when the feeder waits"
    want = reference(fed, max_payload, timeout)
    assert frames == want
    # The stream exercised both outcomes (guards the generator, not the hardware).
    assert {f[3] for f in want} == {True, False}


def test_receiver_crc_error_keeps_the_seq_as_received():
    frame = bytearray(encode_frame(0x5C, spec.Op.RUN, b"\x01\x02"))
    frame[-1] ^= 0x80
    frames, _ = receive(FrameReceiver(16, 50), list(frame))
    assert frames == [(0x5C, spec.Op.RUN, b"\x01\x02", False)]


def test_receiver_takes_max_payload_and_drops_one_more():
    n = 32
    good = encode_frame(7, 1, bytes(range(n)), max_payload=n)
    long = bytes([SYNC]) + (n + 1).to_bytes(2, "little") + bytes([8, 1]) + bytes(n + 1) + bytes(4)
    after = encode_frame(9, 2, b"ok", max_payload=n)
    frames, _ = receive(FrameReceiver(n, 100), list(good + long + after))
    assert frames == [(7, 1, bytes(range(n)), True), (9, 2, b"ok", True)]


@pytest.mark.parametrize("cut", [1, 3, 6, 10])
def test_receiver_timeout_boundary(cut):
    timeout = 30
    frame = list(encode_frame(3, 4, b"abcdefgh"))
    after = list(encode_frame(5, 6, b"xyz"))
    # One cycle short of the timeout: the frame goes on.
    frames, _ = receive(FrameReceiver(16, timeout), frame[:cut] + [-(timeout - 1)] + frame[cut:])
    assert frames == [(3, 4, b"abcdefgh", True)]
    # At the timeout: the partial frame is dropped and what follows is not part of it.
    frames, _ = receive(FrameReceiver(16, timeout),
                        frame[:cut] + [-timeout] + frame[cut:] + [-timeout] + after)
    assert frames[-1] == (5, 6, b"xyz", True)
    assert (3, 4, b"abcdefgh", True) not in frames


def test_receiver_truncated_frame_then_silence_never_wedges():
    timeout = 40
    rng = np.random.default_rng(4)
    schedule = []
    for _ in range(10):
        frame = list(encode_frame(int(rng.integers(256)), 1, bytes(int(rng.integers(0, 16)))))
        schedule += frame[:int(rng.integers(1, len(frame)))] + [-timeout]
    schedule += list(encode_frame(0xEE, 1, b"alive"))
    frames, _ = receive(FrameReceiver(16, timeout), schedule)
    assert frames == [(0xEE, 1, b"alive", True)]


def test_receiver_drops_bytes_while_the_buffer_is_held():
    rng = np.random.default_rng(8)
    max_payload, timeout = 24, 1000
    frames_in = [encode_frame(k, 1, rng.integers(0, 256, int(rng.integers(0, 25)))
                              .astype(np.uint8).tobytes(), max_payload=max_payload)
                 for k in range(40)]
    schedule = [b for f in frames_in for b in f]
    frames, fed = receive(FrameReceiver(max_payload, timeout), schedule,
                          wait_while_held=False, read_delay=(0, 30), seed=3)
    assert len(fed) < len(schedule), "the consumer's holds overlapped incoming bytes"
    assert frames == reference(fed, max_payload, timeout)
    assert frames[0] == (0, 1, FrameParser(max_payload).feed(frames_in[0])[0].payload, True)


@pytest.mark.parametrize("kwargs", [{"max_payload": 0}, {"timeout_cycles": 0},
                                    {"max_payload": 0x10000}])
def test_receiver_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        FrameReceiver(**kwargs)


def test_receiver_refused_leaves_no_unused_warning():
    assert unused_warning_files(lambda: FrameReceiver(16, 50),
                                lambda: FrameReceiver(max_payload=0)) == [__file__]


def transmit(headers, payload, *, valid_p, ready_p, seed):
    """Offer headers and one payload byte stream with random valid, take ``o`` with random
    ready; return the bytes sent."""
    dut = FrameTransmitter()
    rng = np.random.default_rng(seed)
    out = []
    total = sum(len(encode_frame(s, c, bytes(n))) for s, c, n in headers)

    async def bench(ctx):
        h = p = cycles = 0
        while len(out) < total:
            hv = h < len(headers) and rng.random() < valid_p
            pv = p < len(payload) and rng.random() < valid_p
            ready = rng.random() < ready_p
            ctx.set(dut.header.valid, hv)
            if hv:
                seq, code, length = headers[h]
                ctx.set(dut.header.payload, {"seq": seq, "code": code, "length": length})
            ctx.set(dut.payload.valid, pv)
            ctx.set(dut.payload.payload, payload[p] if pv else 0)
            ctx.set(dut.o.ready, ready)
            if hv and ctx.get(dut.header.ready):
                h += 1
            if pv and ctx.get(dut.payload.ready):
                p += 1
            if ready and ctx.get(dut.o.valid):
                out.append(ctx.get(dut.o.payload))
            await ctx.tick()
            cycles += 1
            assert cycles < 50 * total + 100, "transmitter hung"
        for _ in range(20):         # nothing more comes out
            ctx.set(dut.o.ready, 1)
            ctx.set(dut.header.valid, 0)
            assert not ctx.get(dut.o.valid)
            await ctx.tick()
        assert p == len(payload), "every payload byte taken, none extra"

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return bytes(out)


@pytest.mark.parametrize("valid_p,ready_p", [(1.0, 1.0), (0.5, 0.6), (0.9, 0.2)])
def test_transmitter_sends_what_the_host_codec_encodes(valid_p, ready_p):
    rng = np.random.default_rng(int(valid_p * 10 + ready_p * 100))
    headers, payloads = [], []
    for _ in range(25):
        n = int(rng.choice([0, 1, int(rng.integers(2, 70))]))
        headers.append((int(rng.integers(256)), int(rng.integers(256)), n))
        payloads.append(rng.integers(0, 256, n).astype(np.uint8).tobytes())
    sent = transmit(headers, b"".join(payloads), valid_p=valid_p, ready_p=ready_p, seed=1)
    assert sent == b"".join(encode_frame(s, c, pl) for (s, c, _), pl in zip(headers, payloads))
    parsed = FrameParser().feed(sent)
    assert [(f.seq, f.code, f.payload, f.crc_ok) for f in parsed] == [
        (s, c, pl, True) for (s, c, _), pl in zip(headers, payloads)]


def test_transmitter_hand_computed_empty_frame():
    # SYNC, length 0, seq 0x12, code 0x01, then the CRC-32 of 00 00 12 01 (LE), computed
    # bit by bit with the reflected polynomial 0xEDB88320 below.
    crc = 0xFFFFFFFF
    for byte in b"\x00\x00\x12\x01":
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
    crc ^= 0xFFFFFFFF
    want = bytes([0xA5, 0x00, 0x00, 0x12, 0x01]) + crc.to_bytes(4, "little")
    assert transmit([(0x12, 0x01, 0)], b"", valid_p=1.0, ready_p=1.0, seed=0) == want

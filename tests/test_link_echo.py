"""The link echo device end to end in amaranth.sim: UART bits in, UART bits out.

The request waveform and the decoding of the answer are written here from the 8N1
definition; the expected answers come from the host codec (zlib's CRC).
"""

from amaranth.sim import Simulator

from hw.link import LinkEcho
from sw import spec
from sw.link import FrameParser, encode_frame

DIVISOR = 4


def wave(data):
    levels = []
    for byte in data:
        for bit in [0] + [(byte >> k) & 1 for k in range(8)] + [1]:
            levels += [bit] * DIVISOR
    return levels


def decode(levels):
    out, t = [], 1
    while t < len(levels):
        if levels[t - 1] == 1 and levels[t] == 0 and t + DIVISOR // 2 + 9 * DIVISOR < len(levels):
            mid = t + DIVISOR // 2
            bits = [levels[mid + k * DIVISOR] for k in range(10)]
            assert bits[0] == 0 and bits[9] == 1
            out.append(sum(b << k for k, b in enumerate(bits[1:9])))
            t = mid + 9 * DIVISOR
        t += 1
    return bytes(out)


def test_echo_answers_good_frames_and_naks_bad_ones():
    dut = LinkEcho(DIVISOR, max_payload=64, timeout_bytes=4)
    bad = bytearray(encode_frame(0x21, 1, b"bad"))
    bad[6] ^= 0x04
    requests = [encode_frame(0x10, 1, b"abcdef"), bytes(bad), encode_frame(0x22, 1, b""),
                bytes([0x00, 0x99]) + encode_frame(0x23, 1, b"\xa5\x00")]
    answers = [encode_frame(0x10, spec.Status.OK, b"fedcba"),
               encode_frame(0x21, spec.Status.CRC_ERROR, b""),
               encode_frame(0x22, spec.Status.OK, b""),
               encode_frame(0x23, spec.Status.OK, b"\x00\xa5")]
    tx = []

    async def bench(ctx):
        # Each request after the previous answer (the host waits for it).
        line = []
        for req, ans in zip(requests, answers):
            line += [1] * 12 + wave(req) + [1] * (10 * DIVISOR * (len(ans) + 2))
        for level in line:
            ctx.set(dut.rx, level)
            tx.append(ctx.get(dut.tx))
            await ctx.tick()
        assert ctx.get(dut.frames_ok) == 3 and ctx.get(dut.frames_bad) == 1

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    got = decode(tx)
    assert got == b"".join(answers)
    assert all(f.crc_ok for f in FrameParser().feed(got))

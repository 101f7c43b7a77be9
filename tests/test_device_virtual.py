"""The virtual board (the device's RTL, verilated, behind a TCP socket) against the golden
protocol device: the same requests, byte for byte the same answers, and the same programs
with the same outputs, cycles and counters. Skipped without Verilator; the first run
builds the virtual board (a minute or two, then cached under build/virtual_board)."""

import zlib
from pathlib import Path

import numpy as np
import pytest

from sw import spec
from sw.device import open_device
from sw.golden.device import GoldenDevice
from sw.golden.executor import execute
from sw.program import load
from sw.spec import Mem, Op, Status

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sim(verilator):
    drv = open_device("sim")
    yield drv
    drv.close()


def frame(seq, code, payload=b""):
    body = len(payload).to_bytes(2, "little") + bytes([seq, code]) + bytes(payload)
    return bytes([0xA5]) + body + zlib.crc32(body).to_bytes(4, "little")


def exchange(port, data, size):
    """Write ``data`` and read ``size`` bytes of answer (pyserial-like port)."""
    port.write(data)
    out = b""
    for _ in range(2000):
        out += port.read(size - len(out))
        if len(out) >= size:
            break
    return out


def test_hello_announces_the_golden_sizes(sim):
    hello = sim.hello()
    golden = GoldenDevice().hello()
    same = ("magic", "link_version", "format_version", "lanes", "lane_words", "act_depth",
            "chan_depth", "param_depth", "config_depth", "config_words", "max_payload",
            "clk_hz")
    assert {k: hello[k] for k in same} == {k: golden[k] for k in same}
    assert hello["board"] == spec.Board.VIRTUAL
    assert hello["caps"] & spec.Capability.POWER_MODEL


def test_same_requests_same_answer_bytes(sim):
    golden = GoldenDevice()
    x = np.arange(-50, 50, dtype=np.int8).tobytes()
    requests = [
        (Op.WRITE, bytes([Mem.ACT, 0, 0x10, 0]) + x),
        (Op.READ, bytes([Mem.ACT, 0, 0x10, 0, 100, 0])),
        (Op.READ, bytes([Mem.ACT, 0, 0, 0x18, 1, 0])),                   # 6144: past the end
        (Op.READ, bytes([Mem.WEIGHT, 0, 0, 0, 1, 0])),                   # ACT only
        (Op.WRITE, bytes([Mem.WEIGHT, 8, 0, 0]) + bytes(5)),             # lane 8 of 8
        (Op.WRITE, bytes([Mem.PARAM, 0, 0, 0]) + bytes(11)),             # a torn word
        (Op.WRITE, bytes([7, 0, 0, 0, 1])),                              # no memory 7
        (Op.RUN, bytes([30, 3])),                                        # 32 layers
        (Op.RUN, bytes([1])),
        (Op.HELLO, b"x"),
        (0x44, b""),
        (Op.RUN, bytes([0, 0])),
        (Op.COUNTERS, b""),
    ]
    for seq, (op, payload) in enumerate(requests, start=40):
        want = golden.write(frame(seq, op, payload)) and golden.read(1 << 16)
        got = exchange(sim.port, frame(seq, op, payload), len(want))
        assert got == want, (op, payload)
    bad = bytearray(frame(99, Op.HELLO))
    bad[5] ^= 1
    want = golden.write(bytes(bad)) and golden.read(100)
    assert want == frame(99, Status.CRC_ERROR)
    assert exchange(sim.port, bytes(bad), len(want)) == want


@pytest.mark.parametrize("name", ["mnist", "hits"])
def test_programs_equal_on_both_devices(sim, name):
    program = load(ROOT / "models" / f"{name}_attq.attq")
    rng = np.random.default_rng(1)
    scale = program.ops[0].params["scale"]
    x = rng.normal(0, 50 * scale, (2,) + program.input_shape)
    results = []
    for drv in (sim, open_device("golden")):
        plan = drv.prepare(program)
        results.append(drv.infer(plan, x))
    (s_out, s_int, s_cycles, s_counters), (g_out, g_int, g_cycles, g_counters) = results
    np.testing.assert_array_equal(s_out, g_out)
    np.testing.assert_array_equal(s_int, g_int)
    np.testing.assert_array_equal(g_out, execute(program, x).output)
    assert s_cycles == g_cycles
    assert s_counters == g_counters


@pytest.mark.parametrize("fault", ["drop", "corrupt"])
def test_virtual_board_through_a_noisy_link(sim, fault):
    from sw.device import Driver, FaultProxy
    program = load(ROOT / "models" / "mnist_attq.attq")
    x = np.random.default_rng(2).normal(0, 50 * program.ops[0].params["scale"],
                                        (2,) + program.input_shape)
    proxy = FaultProxy(sim.port, **{fault: 0.01}, seed=7)
    drv = Driver(proxy, timeout=0.05, retries=40, run_margin=1000)
    proxy.enabled = False
    plan = drv.prepare(program)
    proxy.enabled = True
    ref = execute(program, x)
    for i in range(len(x)):
        np.testing.assert_array_equal(drv.infer(plan, x[i]).output, ref.output[i])
    assert drv.stats["retries"] > 0

"""The device core (command decoder, layer sequencer, engine) driven frame by frame in
amaranth.sim: the protocol's answers are the spec's, a small program runs wholly on the
device with its outputs equal to the golden executor's, the RUN cycles are the cycle
model's plus the sequencer's documented overhead, and bad requests change nothing."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from hw.board.device_core import DeviceCore
from sw import spec
from sw.golden import executor
from sw.mapping.plan import DevicePlan, RunStep
from sw.device.requests import read_payload, write_payload, write_payloads
from sw.mapping.boards import board_config
from sw.mapping.cycle_model import program_cycles
from sw.spec import Mem, Op, Status
from testsupport.bundled import built_boards
from testsupport.networks import small_network

CONFIG = board_config("virtual").replace(name="test", lanes=3, width=2, lane_words=256,
                                          act_depth=1024, config_depth=64, power=None)


def write_requests(mem, words, *, lane=0, addr=0, chunk=200):
    """WRITE requests of ``words``, ``chunk`` words a frame."""
    return [(Op.WRITE, p) for p in write_payloads(mem, lane, addr, words, chunk)]


def read_request(addr, count):
    return (Op.READ, read_payload(addr, count))


def simulate(config, requests, *, bad_crc=()):
    """Send each ``(op, payload[, seq])`` as a frame (seq: its index unless given); return
    the responses as dicts of seq, code, length and body."""
    dut = DeviceCore(config)
    responses = []

    async def buffer_process(ctx):
        async for _, _, addr in ctx.tick().sample(dut.buf_addr):
            ctx.set(dut.buf_data, state["buf"][addr] if addr < len(state["buf"]) else 0)

    state = {"buf": b""}

    async def testbench(ctx):
        ctx.set(dut.tx_header.ready, 1)
        ctx.set(dut.tx_payload.ready, 1)
        for n, (op, payload, *seq) in enumerate(requests):
            state["buf"] = payload
            ctx.set(dut.frame.payload, {"seq": seq[0] if seq else n % 256, "code": int(op),
                                        "length": len(payload),
                                        "crc_ok": int(n not in bad_crc)})
            ctx.set(dut.frame.valid, 1)
            cycles = 0
            while True:
                await ctx.tick()
                cycles += 1
                assert cycles < 2_000_000, f"request {n} ({op!r}) never answered"
                if ctx.get(dut.frame.ready) and ctx.get(dut.frame.valid):
                    ctx.set(dut.frame.valid, 0)
                    break

    async def monitor(ctx):
        header = None
        async for _, _, hv, hp, pv, pp in ctx.tick().sample(
                dut.tx_header.valid, dut.tx_header.payload, dut.tx_payload.valid,
                dut.tx_payload.payload):
            if hv:
                header = {"seq": hp.seq, "code": hp.code, "length": hp.length, "body": []}
                responses.append(header)
            if pv:
                header["body"].append(pp & 0xFF)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_process(buffer_process)
    sim.add_process(monitor)
    sim.add_testbench(testbench)
    sim.run()
    return responses


def payload(r):
    assert len(r["body"]) == r["length"]
    return bytes(r["body"])


def test_hello_and_errors():
    reqs = [(Op.HELLO, b""), (Op.HELLO, b"x"), (0x7F, b""), (Op.READ, b"\x00"),
            read_request(CONFIG.act_depth - 4, 5), (Op.READ, bytes([Mem.WEIGHT, 0, 0, 0, 1, 0])),
            (Op.RUN, bytes([CONFIG.max_layers, 1])), (Op.WRITE, bytes([Mem.WEIGHT, 3, 0, 0])),
            (Op.WRITE, bytes([9, 0, 0, 0])), (Op.WRITE, bytes([Mem.PARAM, 0, 0, 0]) + bytes(13)),
            (Op.HELLO, b"")]
    got = simulate(CONFIG, reqs, bad_crc={10})
    assert [r["seq"] for r in got] == list(range(len(reqs)))
    assert [r["code"] for r in got] == [
        Status.OK, Status.BAD_LENGTH, Status.BAD_OP, Status.BAD_LENGTH, Status.BAD_ARGS,
        Status.BAD_ARGS, Status.BAD_ARGS, Status.BAD_ARGS, Status.BAD_ARGS,
        Status.BAD_LENGTH, Status.CRC_ERROR]
    hello = spec.unpack_bytes(spec.HELLO_FIELDS, payload(got[0]))
    assert hello["magic"] == b"ATTQ"
    assert hello["link_version"] == spec.LINK_VERSION
    assert hello["format_version"] == spec.FORMAT_VERSION
    assert (hello["lanes"], hello["lane_words"], hello["act_depth"]) == (3, 256, 1024)
    assert hello["config_words"] == spec.config_words_per_layer(3, 8)
    assert hello["caps"] & spec.Capability.DENSE and not hello["caps"] & spec.Capability.POWER
    assert all(r["length"] == 0 for r in got[1:])


def test_write_read_activations_and_bad_write_changes_nothing():
    data = np.random.default_rng(1).integers(-128, 128, 300)
    reqs = write_requests(Mem.ACT, data, addr=100, chunk=128)
    # Overruns the memory by one byte: refused whole.
    reqs.append((Op.WRITE, write_payload(Mem.ACT, 0, CONFIG.act_depth - 2, bytes(3))))
    # A bad-CRC write is not executed either.
    reqs += write_requests(Mem.ACT, [7] * 10, addr=100)
    reqs += [read_request(100, 300), read_request(CONFIG.act_depth - 2, 2), read_request(0, 0)]
    got = simulate(CONFIG, reqs, bad_crc={len(reqs) - 4})
    assert [r["code"] for r in got] == [0, 0, 0, Status.BAD_ARGS, Status.CRC_ERROR, 0, 0, 0]
    back = np.frombuffer(payload(got[5]), dtype=np.int8)
    np.testing.assert_array_equal(back, data)
    assert payload(got[6]) == bytes(2)      # never written: the memory's initial zeros
    assert payload(got[7]) == b""


#: The device of every board build as well as the small one above: its lane count and
#: weight-memory depth set the configuration words a layer, which the decoder and the
#: sequencer move. The power meter is not part of the core. Each core once: boards whose
#: cores differ only in what their HELLO announces (the name, and the baud of a UART outside
#: the core) share one, and the virtual board's (the Arty A7-35T's and the ULX3S's) is left
#: to tests/test_device_virtual.py and tests/test_board_check.py, which run it whole, link
#: and all, with the bundled programs on Verilator.
def _core(board):
    return board.lanes, board.lane_words, board.act_depth, board.config_depth, board.clk_hz


BUILT = {}
for _name, _board in built_boards().items():
    if _core(_board) != _core(board_config("virtual")) and \
            all(_core(b) != _core(_board) for b in BUILT.values()):
        BUILT[_name] = _board.replace(power=None)


@pytest.mark.parametrize("config", [CONFIG, *BUILT.values()], ids=["small", *BUILT])
def test_program_runs_on_device(config):
    rng = np.random.default_rng(3)
    program, layers = small_network(rng)
    plan = DevicePlan.build(program, config.hello())
    (step,) = [s for s in plan.steps if isinstance(s, RunStep)]
    assert (step.first, step.count) == (0, len(layers))
    x = rng.integers(-128, 128, (1, 8, 10))
    reqs = [req for mem, lane, addr, words in plan.load_writes()
            for req in write_requests(mem, words, lane=lane, addr=addr)]
    reqs += write_requests(Mem.ACT, x.reshape(-1), addr=step.in_base)
    run = (Op.RUN, bytes([0, len(layers)]), len(reqs))
    # The RUN resent with its seq (its response lost) must not run again: the first run's
    # layers overwrote maps the second would read.
    reqs += [run, run, (Op.COUNTERS, b""),
             read_request(step.out_base, int(np.prod(step.out_shape)))]
    got = simulate(config, reqs)
    assert all(r["code"] == Status.OK for r in got)
    first_run = spec.unpack_bytes(spec.RUN_RESULT_FIELDS, payload(got[-4]))
    resend = spec.unpack_bytes(spec.RUN_RESULT_FIELDS, payload(got[-3]))

    value = np.pad(x, ((0, 0), (1, 1), (1, 1)))[None]
    for layer in layers:
        value = executor.run_layer(layer, value)
    expected = value[0].reshape(-1)
    np.testing.assert_array_equal(np.frombuffer(payload(got[-1]), np.int8), expected)

    model = program_cycles(program, config.lanes, config.width)
    busy = sum(layer["busy_cycles"] for layer in model)
    # The contract's 4 cycles a layer: read the first configuration word (the memory and
    # the register after it), pulse start, see busy fall.
    assert spec.SEQUENCER_LAYER_OVERHEAD == 4
    overhead = len(layers) * (config.config_words + 4)
    assert first_run == {"cycles": busy + overhead, "layers": len(layers)}
    assert resend == first_run
    counters = np.frombuffer(payload(got[-2]), "<u4")
    assert counters[spec.ENGINE_COUNTERS.index("busy_cycles")] == busy
    assert counters[spec.ENGINE_COUNTERS.index("weight_words")] == sum(
        layer["weight_words"] for layer in model)

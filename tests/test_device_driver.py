"""The host driver against the golden protocol device: whole programs bit for bit equal to
the golden executor (which never sees weight words, register images or frames), the
handshake's refusals, plans that do not fit, row and column bands, and every way to open a
device."""

import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from sw import spec
from sw.device import Driver, IncompatibleDevice, open_device
from sw.golden.device import GoldenDevice
from sw.mapping.plan import DevicePlan, RunStep
from sw.errors import InputError
from sw.mapping.cycle_model import program_cycles
from sw.golden.executor import execute
from sw.mapping.counts import layer_counts
from sw.program import load

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT / "models" / "mnist_attq.attq"
HITS = ROOT / "models" / "hits_attq.attq"


def quantized_range_inputs(program, n, seed):
    """Float inputs that fill the int8 range of the program's quantize op."""
    scale = program.ops[0].params["scale"]
    rng = np.random.default_rng(seed)
    return rng.normal(0, 50 * scale, (n,) + program.input_shape)


def loop_steps(layer, width):
    """The steps an engine of ``width`` takes for ``layer``, each the list of pre-pool
    positions ``(oy, ox)`` it computes, from the spec's rule (sw.spec.layer_is_wide): wide
    (V > 1, column stride 1, pooling width dividing V), V consecutive columns of one row a
    step, from a multiple of V, those past the pooling windows dropped; else one position."""
    _, out_h, out_w = layer.out_shape
    (qh, qw), sw = layer.pool, layer.stride[1]
    wide = width > 1 and sw == 1 and width % qw == 0
    steps = []
    for oy in range(out_h * qh):
        for c0 in range(0, out_w * qw, width if wide else 1):
            steps.append([(oy, ox) for ox in range(c0, min(c0 + (width if wide else 1),
                                                           out_w * qw))])
    return steps


def loop_reads(layer, width):
    """Wide activation reads by a plain loop: per step and nonzero weight, one when any of
    the step's positions reads a pixel inside the unpadded map."""
    _, h, w = layer.in_shape
    (sh, sw), (ph, pw) = layer.stride, layer.pad
    _, _, ky, kx = np.nonzero(layer.weights())
    pairs, mult = np.unique(np.stack([ky, kx], 1), axis=0, return_counts=True)
    reads = 0
    for step in loop_steps(layer, width):
        for (a, b), n in zip(pairs.tolist(), mult.tolist()):
            if any(0 <= oy * sh - ph + a < h and 0 <= ox * sw - pw + b < w for oy, ox in step):
                reads += n
    return reads


def expected_counters(program, lanes, width):
    """What the engine counts per inference, from the program alone: adds and writes from
    the executor's counts; weight words = (nonzero weights + empty channels) x steps and
    activation reads by plain loops over the steps of an engine of ``width``."""
    want = dict.fromkeys(("adds_plus", "adds_minus", "act_writes", "weight_words",
                          "act_reads"), 0)
    for layer in program.engine_layers:
        c = layer_counts(layer, width)
        empty = int((layer.nnz_per_channel() == 0).sum())
        want["adds_plus"] += c.adds_plus
        want["adds_minus"] += c.adds_minus
        want["act_writes"] += c.act_writes
        want["weight_words"] += (c.nnz + empty) * len(loop_steps(layer, width))
        want["act_reads"] += loop_reads(layer, width)
    rows = program_cycles(program, lanes, width)
    want["busy_cycles"] = sum(r["busy_cycles"] for r in rows)
    return want


@pytest.fixture(scope="module")
def mnist_on_golden():
    from sw.data.mnist import load_mnist
    from sw.data.transform import apply_transform
    program = load(MNIST)
    drv = open_device("golden")
    hello = drv.hello()
    plan = drv.check_compatible(hello, program)
    drv.load(plan)
    x = apply_transform(program.input_transform, load_mnist(raw=True).x_test[:6])
    return program, drv, plan, hello, x


def test_mnist_equals_the_executor(mnist_on_golden):
    program, drv, plan, hello, x = mnist_on_golden
    assert [type(s).__name__ for s in plan.steps] == ["HostStep", "RunStep", "HostStep",
                                                      "HostStep"]
    res = drv.infer(plan, x)
    ref = execute(program, x)
    np.testing.assert_array_equal(res.output, ref.output)
    np.testing.assert_array_equal(res.int_output, ref.int_output)
    assert hello["width"] == 4
    want = expected_counters(program, hello["lanes"], hello["width"])
    n_layers = len(program.engine_layers)
    for cycles, counters in zip(res.cycles, res.counters):
        assert cycles == want["busy_cycles"] + n_layers * (
            hello["config_words"] + spec.SEQUENCER_LAYER_OVERHEAD)
        for name, value in want.items():
            assert counters[name] == value, name
        assert counters["act_reads"] <= counters["adds_plus"] + counters["adds_minus"]


def test_single_input_has_no_batch_axis(mnist_on_golden):
    program, drv, plan, _, x = mnist_on_golden
    output, int_output, cycles, counters = drv.infer(plan, x[0])
    ref = execute(program, x[:1])
    np.testing.assert_array_equal(output, ref.output[0])
    np.testing.assert_array_equal(int_output, ref.int_output[0])
    assert isinstance(cycles, int) and set(counters) == set(spec.ENGINE_COUNTERS)
    with pytest.raises(ValueError, match="program takes"):
        drv.infer(plan, x[0, :, :10])


def test_hits_equals_the_executor_and_reads_only_the_logits():
    program = load(HITS)
    drv = open_device("golden")
    hello = drv.hello()
    plan = drv.check_compatible(hello, program)
    drv.load(plan)
    (run,) = [s for s in plan.steps if isinstance(s, RunStep)]
    assert (run.count, run.in_shape, run.out_shape) == (5, (1, 32, 64), (3, 1, 1))
    # The quantize op pads the map by (1, 1); the device gets the 32 x 64 map unpadded.
    assert plan.link_bytes() == {"written": 32 * 64, "read": 3}
    x = quantized_range_inputs(program, 2, seed=3)
    res = drv.infer(plan, x)
    ref = execute(program, x)
    np.testing.assert_array_equal(res.output, ref.output)
    np.testing.assert_array_equal(res.int_output, ref.int_output)
    want = expected_counters(program, hello["lanes"], hello["width"])
    assert res.counters[0]["adds_minus"] == want["adds_minus"]
    # HITS pads every conv: reads skip what falls in the padding, and a wide step reads once.
    for name in ("weight_words", "act_reads"):
        assert res.counters[0][name] == want[name], name
    assert want["act_reads"] < want["weight_words"]
    assert res.cycles[0] == want["busy_cycles"] + 5 * (hello["config_words"]
                                                       + spec.SEQUENCER_LAYER_OVERHEAD)


def test_rows_bands_when_the_maps_do_not_fit():
    # conv1 of the HITS model needs 2,048 + 4,096 bytes, conv2 4,096 + 2,048: with 4 KB
    # both run as row bands; conv3 (2,048 + 1,024) and the rest run as one RUN.
    program = load(HITS)
    drv = open_device("golden", act_depth=4096)
    plan = drv.check_compatible(drv.hello(), program)
    kinds = [type(s).__name__ for s in plan.steps]
    assert kinds == ["HostStep", "BandStep", "BandStep", "RunStep", "HostStep"]
    assert all(len(plan.steps[k].entries) >= 2 for k in (1, 2))
    assert plan.steps[3].count == 3
    drv.load(plan)
    x = quantized_range_inputs(program, 1, seed=4)
    res = drv.infer(plan, x)
    ref = execute(program, x)
    np.testing.assert_array_equal(res.output, ref.output)
    np.testing.assert_array_equal(res.int_output, ref.int_output)


def test_column_bands_when_a_sequence_does_not_fit():
    """A conv1d layer on 4 x 600 samples (2,400 + 2,400 bytes) on a device of 2,048 runs
    in column bands; so does the conv1d after it, whose 8 x 300 input fits the memory but
    not the layer registers' 255 columns. Outputs equal the golden executor's."""
    from sw.mapping.tiling import COLUMNS
    from sw.program.epilogue import DualScaleParams
    from sw.program.ir import EngineLayer, HostOp, Program

    rng = np.random.default_rng(5)

    def params(c):
        return DualScaleParams(rng.integers(200, 900, c), rng.integers(-900, -200, c),
                               rng.integers(-2000, 2000, c), rng.integers(10, 12, c),
                               spec.ActMode.LEAKY, 1 << 12)
    program = Program(input_shape=(4, 1, 600), ops=[
        HostOp("quantize", {"scale": 0.05, "map_shape": [4, 1, 600], "pad": [0, 2]}),
        EngineLayer.from_weights("conv1", rng.choice([-1, 0, 1], (8, 4, 1, 5)),
                                 in_shape=(4, 1, 600), pad=(0, 2), pool=(1, 2), out_pad=(0, 1),
                                 mode="ternary", epilogue=params(8)),
        EngineLayer.from_weights("conv2", rng.integers(-50, 50, (6, 8, 1, 3)),
                                 in_shape=(8, 1, 300), pad=(0, 1), pool=(1, 2), mode="dense",
                                 epilogue=params(6))])
    drv = open_device("golden", act_depth=2048)
    plan = drv.check_compatible(drv.hello(), program)
    assert [type(s).__name__ for s in plan.steps] == ["HostStep", "BandStep", "BandStep"]
    assert all(step.tiled.axis == COLUMNS and len(step.entries) >= 2
               for step in plan.steps[1:])
    assert max(b.in_shape[2] for step in plan.steps[1:] for b in step.tiled.bands) <= 255
    drv.load(plan)
    for seed in range(3):
        x = quantized_range_inputs(program, 1, seed=seed)
        res = drv.infer(plan, x)
        ref = execute(program, x)
        np.testing.assert_array_equal(res.int_output, ref.int_output)
        np.testing.assert_array_equal(res.output, ref.output)


def test_a_conv1d_applied_twice_shares_its_words_when_the_memory_needs_it():
    """One conv1d applied twice (as the CNN-transformer's conv3), both in column bands on a
    400-byte memory. Where the lanes hold both sets of words, each application takes its
    own fewest bands; where they hold one set only, both take one band shape and the device
    holds the words once. Outputs equal the golden executor's either way."""
    from sw.mapping.engine_image import EngineImage
    from sw.program.epilogue import DualScaleParams
    from sw.program.ir import EngineLayer, HostOp, Program

    rng = np.random.default_rng(6)
    w = rng.choice([-1, 0, 1], (4, 4, 1, 3))
    ep = DualScaleParams(rng.integers(200, 900, 4), rng.integers(-900, -200, 4),
                         rng.integers(-2000, 2000, 4), rng.integers(10, 12, 4),
                         spec.ActMode.LEAKY, 1 << 12)

    def conv(name, length, out_pad):
        return EngineLayer.from_weights(name, w, in_shape=(4, 1, length), pad=(0, 1),
                                        pool=(1, 2), out_pad=out_pad, mode="ternary",
                                        epilogue=ep)
    quantize = HostOp("quantize", {"scale": 0.05, "map_shape": [4, 1, 300], "pad": [0, 1]})
    program = Program(input_shape=(4, 1, 300), ops=[
        quantize, conv("conv3#1", 300, (0, 1)), conv("conv3#2", 150, (0, 0))])
    hello = open_device("golden", act_depth=400).hello()
    one = DevicePlan.build(Program(input_shape=(4, 1, 300), ops=program.ops[:2]), hello)
    # The fewest words a lane one application takes (no word copied to a second lane).
    words = max(EngineImage._build([one.steps[1].tiled], hello["lanes"], hello["width"],
                                   True, float("inf"), 400).lane_words_used())
    # By hand: c pooled columns need 4(2c + 2) + 4c = 12c + 8 <= 400 bytes, c <= 32: 150
    # columns in 5 bands of 30, 75 in 3 of 25.
    for lane_words, shapes in ((3072, [30, 25]), (words, [25, 25])):
        drv = open_device("golden", act_depth=400, lane_words=lane_words)
        plan = drv.check_compatible(drv.hello(), program)
        assert [step.tiled.band_out_shape[2] for step in plan.steps[1:]] == shapes
        if lane_words == words:
            assert max(plan.image.lane_words_used()) == words
        drv.load(plan)
        for seed in range(2):
            x = quantized_range_inputs(program, 1, seed=seed)
            np.testing.assert_array_equal(drv.infer(plan, x).int_output,
                                          execute(program, x).int_output)


def test_cnn_transformer_host_ops():
    import torch
    torch.set_num_threads(1)
    from sw.compiler.compiler import compile_model
    from testsupport.networks import signals, small_cnn_transformer
    program = compile_model(small_cnn_transformer(), signals(256, 1))
    drv = open_device("golden")
    plan = drv.check_compatible(drv.hello(), program)
    assert sum(isinstance(s, RunStep) for s in plan.steps) == 1
    assert sum(type(s).__name__ == "HostStep" for s in plan.steps) == len(program.host_ops)
    drv.load(plan)
    x = signals(3, 7)
    for xi in x:
        res = drv.infer(plan, xi)
        ref = execute(program, xi[None])     # the same host ops on the same one input
        np.testing.assert_array_equal(res.int_output, ref.int_output[0])
        np.testing.assert_array_equal(res.output, ref.output[0])


# -- the handshake ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def hits_program():
    return load(HITS)


def refusal(hits_program, **changes):
    hello = {**GoldenDevice().hello(), **changes}
    with pytest.raises(IncompatibleDevice) as info:
        Driver(GoldenDevice()).check_compatible(hello, hits_program)
    return str(info.value)


def test_handshake_refuses_versions_and_magic(hits_program):
    msg = refusal(hits_program, link_version=3, format_version=3)
    assert "link protocol version 3, this driver speaks version 2" in msg
    assert "format) version 3" in msg and "this software use version 2" in msg
    assert "magic" in refusal(hits_program, magic=b"XXXX")


def test_handshake_refuses_missing_capabilities(hits_program):
    caps = spec.Capability.TERNARY | spec.Capability.MAX_POOL
    msg = refusal(hits_program, caps=int(caps))
    assert "no DENSE capability (layer 'conv1' needs it)" in msg
    assert "no LEAKY_RELU capability (layer 'conv1' needs it)" in msg
    assert "MAX_POOL" not in msg and "TERNARY" not in msg


def test_handshake_refuses_small_memories(hits_program):
    msg = refusal(hits_program, chan_depth=8)
    assert "channel table" in msg and "device has 8" in msg and "too many" in msg
    msg = refusal(hits_program, param_depth=100)
    # 8 + 16 + 32 + 64 + 3 output channels
    assert "123 output channels, the device holds 100 (23 too many)" in msg
    msg = refusal(hits_program, config_depth=100)
    assert "5 layers of 32 words need 160 words, the device has 100 (60 too many)" in msg
    # One lane holds every layer's words: each nonzero weight, one word per empty channel.
    words = sum(layer.nnz + int((layer.nnz_per_channel() == 0).sum())
                for layer in hits_program.engine_layers)
    msg = refusal(hits_program, lanes=1, lane_words=2048,
                  config_words=spec.config_words_per_layer(1, 11))
    assert (f"weight memory: a lane needs at least {words} words (no word copied to a second "
            f"lane), the device has 2048 a lane ({words - 2048} too many)") in msg


def test_handshake_refuses_a_program_compiled_for_another_engine(hits_program):
    """A program compiled for P = 16, V = 4 (``compile --lanes 16``) on an 8-lane device,
    and one for V = 2 on a V = 4 device: refused naming both engines; a program compiled
    for the device's own engine, or for none, is accepted."""
    import copy
    golden = GoldenDevice()
    assert (golden.lanes, golden.width) == (8, 4)
    other = copy.deepcopy(hits_program)
    other.meta["engine"] = {"lanes": 16, "width": 4}
    msg = refusal(other)
    assert "compiled for an engine of P = 16 lanes of V = 4" in msg
    assert "the device has P = 8, V = 4" in msg
    other.meta["engine"] = {"lanes": 8, "width": 2}
    assert "V = 2 positions a word; the device has P = 8, V = 4" in refusal(other)
    other.meta["engine"] = {"lanes": 8, "width": 4}
    Driver(golden).check_compatible(golden.hello(), other)
    Driver(golden).check_compatible(golden.hello(), hits_program)


def test_handshake_against_a_device(hits_program):
    dev = GoldenDevice(caps=int(spec.Capability.TERNARY))
    drv = Driver(dev)
    with pytest.raises(IncompatibleDevice, match=r"the device \(GOLDEN\) does not fit"):
        drv.check_compatible(drv.hello(), hits_program)
    with pytest.raises(InputError):        # the CLI prints it and exits 2
        drv.check_compatible(drv.hello(), hits_program)


def test_a_map_too_big_even_for_bands(hits_program):
    with pytest.raises(InputError, match="conv1.*cannot be tiled"):
        DevicePlan.build(hits_program, {**GoldenDevice().hello(), "act_depth": 200})


# -- opening devices --------------------------------------------------------------------
def test_open_device_forms():
    drv = open_device("golden")
    hello = drv.hello()
    assert (hello["lanes"], hello["lane_words"], hello["act_depth"]) == (8, 3072, 6144)
    assert hello["board"] == spec.Board.GOLDEN
    with pytest.raises(InputError, match="expected one of golden"):
        open_device("usb:thing")
    with pytest.raises(InputError, match="nothing after serial://"):
        open_device("serial://")


def serve_golden(dev):
    """A TCP server bridging one connection to ``dev`` (the virtual board's shape)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def loop():
        conn, _ = server.accept()
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                dev.write(data)
                out = dev.read(1 << 20)
                if out:
                    conn.sendall(out)
        server.close()

    threading.Thread(target=loop, daemon=True).start()
    return server.getsockname()[1]


def test_socket_url_runs_the_same_code_path(mnist_on_golden):
    program, _, _, _, x = mnist_on_golden
    port = serve_golden(GoldenDevice())
    drv = open_device(f"socket://127.0.0.1:{port}", timeout=2.0)
    try:
        plan = drv.prepare(program)
        res = drv.infer(plan, x[:2])
    finally:
        drv.close()
    np.testing.assert_array_equal(res.output, execute(program, x[:2]).output)

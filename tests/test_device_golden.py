"""The golden protocol device at the byte level.

Frames are built here by hand from the spec's layout (SYNC, length, seq, code, payload,
``zlib.crc32``), not with the link codec; layer outputs are checked against numbers worked
out by hand and against the plain-loop reference (``reference_layer``), which never sees
weight words or register images. The counters are checked against plain loops over the
steps an engine of width V takes (``steps``): V consecutive output columns of one row a
step on a wide layer, one output position a step on a narrow one.
"""

import time
import zlib

import numpy as np
import pytest

from sw import spec
from sw.device import Driver
from sw.golden.device import GoldenDevice
from sw.mapping.cycle_model import lane_words_and_steps, layer_cycles
from sw.program.epilogue import DualScaleParams
from sw.mapping.engine_image import EngineImage
from sw.mapping.hardware_layer import HardwareLayer
from sw.golden.reference import reference_layer
from sw.spec import ActMode, LayerMode, Mem, Op, Status


def frame(seq, code, payload=b""):
    body = len(payload).to_bytes(2, "little") + bytes([seq, code]) + bytes(payload)
    return bytes([0xA5]) + body + zlib.crc32(body).to_bytes(4, "little")


def responses(data):
    """Split a device's output into (seq, status, payload), checking each CRC."""
    out = []
    while data:
        assert data[0] == 0xA5
        n = int.from_bytes(data[1:3], "little")
        body, crc = data[1:5 + n], data[5 + n:9 + n]
        assert zlib.crc32(body) == int.from_bytes(crc, "little")
        out.append((data[3], data[4], data[5:5 + n]))
        data = data[9 + n:]
    return out


def ask(dev, seq, code, payload=b""):
    dev.write(frame(seq, code, payload))
    (got,) = responses(dev.read(1 << 20))
    assert got[0] == seq
    return got[1], got[2]


def write_payload(mem, lane, addr, words, nbytes):
    return bytes([mem, lane]) + addr.to_bytes(2, "little") + b"".join(
        (int(w) & ((1 << (8 * nbytes)) - 1)).to_bytes(nbytes, "little") for w in words)


def test_hello_answers_its_sizes():
    dev = GoldenDevice(lanes=4, lane_words=512, act_depth=2048, width=2, config_depth=256)
    status, payload = ask(dev, 7, Op.HELLO)
    assert status == Status.OK and len(payload) == 32
    assert payload[:4] == b"ATTQ"
    assert payload[4] == 2 and payload[5] == 2            # link and format versions
    assert payload[6] == spec.Board.GOLDEN
    caps = int.from_bytes(payload[7:9], "little")
    assert caps & spec.Capability.DENSE and not caps & spec.Capability.POWER
    assert payload[9] == 4                                 # lanes
    assert payload[10] == 2                                # width V
    assert int.from_bytes(payload[11:13], "little") == 512
    assert int.from_bytes(payload[13:15], "little") == 2048
    assert int.from_bytes(payload[19:21], "little") == 256     # config_depth
    # 128 layer bits + 4 lanes x 105 lane bits (9-bit word addresses) = 548 bits: 18 words
    assert payload[21] == 18
    assert int.from_bytes(payload[22:24], "little") == 1024
    assert int.from_bytes(payload[28:32], "little") == 4_000_000


def test_write_read_and_refusals():
    dev = GoldenDevice(lanes=2, lane_words=64, act_depth=100, config_depth=64)
    status, _ = ask(dev, 1, Op.WRITE, write_payload(Mem.ACT, 0, 10, [1, -2, 127, -128], 1))
    assert status == Status.OK
    status, data = ask(dev, 2, Op.READ, bytes([Mem.ACT, 0, 9, 0, 6, 0]))
    assert status == Status.OK and list(np.frombuffer(data, np.int8)) == [0, 1, -2, 127, -128, 0]
    refusals = [
        (Op.WRITE, write_payload(Mem.ACT, 0, 98, [1, 2, 3], 1), Status.BAD_ARGS),  # past 100
        (Op.WRITE, write_payload(Mem.WEIGHT, 2, 0, [1], 5), Status.BAD_ARGS),     # lane 2 of 2
        (Op.WRITE, write_payload(9, 0, 0, [1], 1), Status.BAD_ARGS),              # no memory 9
        (Op.WRITE, write_payload(Mem.PARAM, 0, 0, [1], 12)[:-1], Status.BAD_LENGTH),  # torn
        (Op.WRITE, b"\x00\x00", Status.BAD_LENGTH),
        (Op.READ, bytes([Mem.WEIGHT, 0, 0, 0, 1, 0]), Status.BAD_ARGS),           # ACT only
        (Op.READ, bytes([Mem.ACT, 0, 90, 0, 11, 0]), Status.BAD_ARGS),
        (Op.READ, bytes([Mem.ACT, 0, 0, 0]), Status.BAD_LENGTH),
        (Op.HELLO, b"\x00", Status.BAD_LENGTH),
        (Op.RUN, bytes([0, 4]), Status.BAD_ARGS),      # 64 words hold 64 // 10 = 6 layers
        (Op.RUN, bytes([0]), Status.BAD_LENGTH),
        (0x7F, b"", Status.BAD_OP),
    ]
    for seq, (op, payload, want) in enumerate(refusals, start=10):
        if op == Op.RUN and payload == bytes([0, 4]):
            payload = bytes([3, 4])
        assert ask(dev, seq, op, payload)[0] == want, (op, payload)
    # Nothing the refused requests carried was written.
    status, data = ask(dev, 40, Op.READ, bytes([Mem.ACT, 0, 96, 0, 4, 0]))
    assert data == bytes(4)


def test_bad_crc_is_nakked_with_the_seq_received():
    dev = GoldenDevice()
    bad = bytearray(frame(33, Op.HELLO))
    bad[-1] ^= 0x40
    dev.write(bytes(bad))
    assert responses(dev.read(100)) == [(33, Status.CRC_ERROR, b"")]


def test_partial_frame_is_dropped_after_silence():
    dev = GoldenDevice(baud=4_000_000)
    dev.write(frame(5, Op.HELLO)[:4])          # a frame cut short: the device waits
    assert dev.read(100) == b""
    time.sleep(0.002)                          # 32 byte times at 4 MBd are 80 us
    dev.write(frame(6, Op.HELLO))
    (got,) = responses(dev.read(100))
    assert got[:2] == (6, Status.OK)


def test_garbage_before_a_frame_is_skipped():
    dev = GoldenDevice()
    dev.write(b"\x00\x13\xff" + frame(9, Op.HELLO))
    (got,) = responses(dev.read(100))
    assert got[:2] == (9, Status.OK)


def load_layers(dev, hw_layers, lanes):
    """Load an image by hand-built WRITE frames; returns the image."""
    image = EngineImage.build(hw_layers, lanes, width=dev.width)
    waw = (dev.lane_words - 1).bit_length()
    seq = 100
    for k in range(lanes):
        words = [spec.pack_fields(spec.WEIGHT_WORD_FIELDS, w) for w in image.words[k]]
        if words:
            assert ask(dev, seq, Op.WRITE, write_payload(Mem.WEIGHT, k, 0, words, 5))[0] == 0
            assert ask(dev, seq + 1, Op.WRITE,
                       write_payload(Mem.CHAN, k, 0, image.channels[k], 1))[0] == 0
        seq += 2
    params = [spec.pack_fields(spec.PARAM_WORD_FIELDS, p) for p in image.params]
    assert ask(dev, seq, Op.WRITE, write_payload(Mem.PARAM, 0, 0, params, 12))[0] == 0
    config = []
    for entry in image.layers:
        config += spec.pack_layer_config(entry["cfg"], entry["lane_cfg"], waw)
    assert ask(dev, seq + 1, Op.WRITE, write_payload(Mem.CONFIG, 0, 0, config, 4))[0] == 0
    return image


def one_channel(weights, in_shape, mode=LayerMode.TERNARY, m_r=2, m_l=1, bias=0, shift=0,
                act=ActMode.NONE, pool=(1, 1), pad=(0, 0), stride=(1, 1)):
    w = np.asarray(weights)
    params = DualScaleParams([m_r] * w.shape[0], [m_l] * w.shape[0], [bias] * w.shape[0],
                             [shift] * w.shape[0], act)
    return HardwareLayer(mode, w, in_shape, stride, pad, pool, params)


@pytest.mark.parametrize("width, steps", [(1, 4), (4, 2)])
def test_hand_computed_layer_with_counters(width, steps):
    # x = 1..9 in a 3 x 3 map; the kernel [[+1, 0], [0, -1]]: P = x[y, x], N = x[y+1, x+1].
    # y = 2P + N: (0,0) 2*1+5 = 7, (0,1) 2*2+6 = 10, (1,0) 2*4+8 = 16, (1,1) 2*5+9 = 19.
    # V = 1: one step a position (4); V = 4: one step an output row (2), columns 2 and 3
    # of each step past out_w = 2 and not computed.
    layer = one_channel([[[[1, 0], [0, -1]]]], (1, 3, 3))
    layer.out_base = 9
    dev = GoldenDevice(lanes=2, lane_words=64, act_depth=64, width=width, config_depth=64)
    load_layers(dev, [layer], lanes=2)
    ask(dev, 1, Op.WRITE, write_payload(Mem.ACT, 0, 0, range(1, 10), 1))
    status, payload = ask(dev, 2, Op.RUN, bytes([0, 1]))
    assert status == Status.OK
    result = spec.unpack_bytes(spec.RUN_RESULT_FIELDS, payload)
    _, data = ask(dev, 3, Op.READ, bytes([Mem.ACT, 0, 9, 0, 4, 0]))
    assert list(np.frombuffer(data, np.int8)) == [7, 10, 16, 19]
    _, data = ask(dev, 4, Op.COUNTERS)
    counters = {name: int.from_bytes(data[4 * k:4 * k + 4], "little")
                for k, name in enumerate(spec.ENGINE_COUNTERS)}
    # 2 words a step, one (wide) read each, every read inside the map; adds stay one a
    # position: 4 into P, 4 into N.
    assert counters["weight_words"] == 2 * steps
    assert counters["adds_plus"] == 4 and counters["adds_minus"] == 4
    assert counters["act_reads"] == 2 * steps and counters["act_writes"] == 4
    model = layer_cycles(*lane_words_and_steps(layer.lane_program(2, width=width)))
    assert counters["busy_cycles"] == model["busy_cycles"]
    # 128 layer bits + 2 lanes x 99 lane bits (6-bit word addresses) = 326 bits: 11 words.
    assert result == {"cycles": model["busy_cycles"] + 11 + spec.SEQUENCER_LAYER_OVERHEAD,
                      "layers": 1}


@pytest.mark.parametrize("width", [1, 4])
def test_hand_computed_pooling_and_padding(width):
    # Max over the 2 x 2 window of the layer above: 19 (V = 4: one step a window row,
    # both of its columns at once).
    pooled = one_channel([[[[1, 0], [0, -1]]]], (1, 3, 3), pool=(2, 2))
    pooled.out_base = 9
    dev = GoldenDevice(lanes=3, lane_words=64, act_depth=64, width=width, config_depth=128)
    load_layers(dev, [pooled], lanes=3)
    ask(dev, 1, Op.WRITE, write_payload(Mem.ACT, 0, 0, range(1, 10), 1))
    assert ask(dev, 2, Op.RUN, bytes([0, 1]))[0] == Status.OK
    assert ask(dev, 3, Op.READ, bytes([Mem.ACT, 0, 9, 0, 1, 0]))[1] == bytes([19])
    # A 1 x 1 kernel of weight +1 over a 2 x 2 map padded by 1: zeros around the map, the
    # bias 3 everywhere (y = P + 3), the counters skipping the reads in the padding.
    padded = one_channel([[[[1]]]], (1, 2, 2), m_r=1, bias=3, pad=(1, 1))
    padded.out_base = 4
    dev = GoldenDevice(lanes=3, lane_words=64, act_depth=64, width=width, config_depth=128)
    load_layers(dev, [padded], lanes=3)
    ask(dev, 1, Op.WRITE, write_payload(Mem.ACT, 0, 0, [5, -6, 7, -8], 1))
    assert ask(dev, 2, Op.RUN, bytes([0, 1]))[0] == Status.OK
    _, data = ask(dev, 3, Op.READ, bytes([Mem.ACT, 0, 4, 0, 16, 0]))
    assert np.frombuffer(data, np.int8).reshape(4, 4).tolist() == [
        [3, 3, 3, 3], [3, 8, -3, 3], [3, 10, -5, 3], [3, 3, 3, 3]]
    _, data = ask(dev, 4, Op.COUNTERS)
    adds_plus = int.from_bytes(data[4:8], "little")
    weight_words = int.from_bytes(data[12:16], "little")
    act_reads = int.from_bytes(data[16:20], "little")
    # 16 positions, one add each (padding included). V = 1: 16 steps, the 12 in the padding
    # read nothing: 4 reads. V = 4: 4 steps, one a row of 4 columns; rows 0 and 3 lie in
    # the padding, rows 1 and 2 read input columns -1..2 (0 and 1 inside): 2 reads.
    want_words, want_reads = {1: (16, 4), 4: (4, 2)}[width]
    assert (act_reads, adds_plus, weight_words) == (want_reads, 16, want_words)


def test_resent_run_is_answered_from_the_cache():
    layer = one_channel([[[[1, 0], [0, -1]]]], (1, 3, 3))
    layer.out_base = 9
    dev = GoldenDevice(lanes=2, lane_words=64, act_depth=64, config_depth=64)
    load_layers(dev, [layer], lanes=2)
    ask(dev, 1, Op.WRITE, write_payload(Mem.ACT, 0, 0, range(1, 10), 1))
    first = ask(dev, 2, Op.RUN, bytes([0, 1]))
    # The output overwrites nothing here, but a resend must not run the layer again.
    ask_again = ask(dev, 2, Op.RUN, bytes([0, 1]))
    assert ask_again == first and dev.runs_executed == 1
    ask(dev, 3, Op.RUN, bytes([0, 1]))     # a new seq runs again
    assert dev.runs_executed == 2
    # RUN of no layers: nothing runs, 0 cycles.
    status, payload = ask(dev, 4, Op.RUN, bytes([0, 0]))
    assert spec.unpack_bytes(spec.RUN_RESULT_FIELDS, payload) == {"cycles": 0, "layers": 0}


def test_power_answers_zeros():
    status, payload = ask(GoldenDevice(), 3, Op.POWER)
    assert status == Status.OK and payload == bytes(spec.field_bytes(spec.POWER_FIELDS))


def random_layer(rng, kind):
    """A random HardwareLayer: conv2d (stride, pad, pool), conv1d, or linear."""
    mode = LayerMode(int(rng.integers(0, 2)))
    c_in = int(rng.integers(1, 4))
    c_out = int(rng.integers(1, 12))
    if kind == "linear":
        in_shape, k, pad, stride, pool = (c_in, 3, 4), (3, 4), (0, 0), (1, 1), (1, 1)
    elif kind == "conv1d":
        in_shape, k = (c_in, 1, int(rng.integers(6, 20))), (1, int(rng.integers(1, 5)))
        pad, stride = (0, int(rng.integers(0, 3))), (1, int(rng.integers(1, 3)))
        pool = (1, int(rng.integers(1, 3)))
    else:
        in_shape = (c_in, int(rng.integers(4, 10)), int(rng.integers(4, 10)))
        k = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        pad = (int(rng.integers(0, 2)), int(rng.integers(0, 2)))
        stride = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        pool = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    shape = (c_out, c_in) + k
    if mode is LayerMode.TERNARY:
        w = rng.choice([-1, 0, 1], size=shape, p=[0.3, 0.4, 0.3])
    else:
        w = rng.integers(-128, 128, shape) * (rng.random(shape) < 0.6)
    w[rng.integers(0, c_out)] = 0          # a channel with no weight: its bias only
    act = ActMode(int(rng.integers(0, 3)))
    params = DualScaleParams(rng.integers(-3000, 3000, c_out), rng.integers(-3000, 3000, c_out),
                             rng.integers(-50000, 50000, c_out), rng.integers(6, 14, c_out),
                             act, int(rng.integers(0, 1 << 16)))
    try:
        layer = HardwareLayer(mode, w, in_shape, stride, pad, pool, params)
    except ValueError:
        return None
    layer.out_base = layer.in_size
    return layer


def loop_steps(layer, width):
    """The steps an engine of ``width`` takes for ``layer``, each as the list of pre-pool
    output positions ``(oy, ox)`` it computes, written out from the spec's rule: a layer is
    wide when V > 1, its column stride is 1 and its pooling width divides V; a wide step is
    V consecutive columns of one pre-pool row, starting at a multiple of V, those past the
    pooled columns dropped; a narrow step is one position."""
    qh, qw = layer.pool
    out_h, out_w = layer.out_h, layer.out_w
    wide = width > 1 and layer.stride[1] == 1 and width % qw == 0
    steps = []
    for oy in range(out_h * qh):
        if wide:
            for c0 in range(0, out_w * qw, width):
                steps.append([(oy, ox) for ox in range(c0, min(c0 + width, out_w * qw))])
        else:
            steps.extend([(oy, ox)] for ox in range(out_w * qw))
    return steps


def loop_reads(layer, width):
    """Activation reads by a plain loop: per step and weight word, one read when any of the
    step's positions reads a pixel inside the map. The word of a channel with no weight
    (w = 0) reads nothing."""
    _, h, w = layer.in_shape
    (sh, sw), (ph, pw) = layer.stride, layer.pad
    _, _, ky, kx = np.nonzero(layer.weights)
    words = list(zip(ky.tolist(), kx.tolist()))
    reads = 0
    for step in loop_steps(layer, width):
        for ky, kx in words:
            reads += any(0 <= oy * sh - ph + ky < h and 0 <= ox * sw - pw + kx < w
                         for oy, ox in step)
    return reads


@pytest.mark.parametrize("width", [1, 4])
@pytest.mark.parametrize("kind", ["conv2d", "conv1d", "linear"])
@pytest.mark.parametrize("lanes", [1, 3, 8])
def test_random_layers_match_the_loop_reference(kind, lanes, width):
    rng = np.random.default_rng(["conv2d", "conv1d", "linear"].index(kind) * 100 + lanes)
    dev = GoldenDevice(lanes=lanes, lane_words=1024, act_depth=2048, width=width,
                       config_depth=2048)
    drv = Driver(dev, timeout=0.05)
    done = 0
    while done < 6:
        layer = random_layer(rng, kind)
        if layer is None:
            continue
        image = EngineImage.build([layer], lanes, width=width)
        for mem, lane, words in ([(Mem.WEIGHT, k, [spec.pack_fields(spec.WEIGHT_WORD_FIELDS, w)
                                                   for w in image.words[k]])
                                  for k in range(lanes)] +
                                 [(Mem.CHAN, k, image.channels[k]) for k in range(lanes)] +
                                 [(Mem.PARAM, 0, [spec.pack_fields(spec.PARAM_WORD_FIELDS, p)
                                                  for p in image.params]),
                                  (Mem.CONFIG, 0, spec.pack_layer_config(
                                      image.layers[0]["cfg"], image.layers[0]["lane_cfg"], 10))]):
            if len(words):
                drv.write_mem(mem, lane, 0, words)
        x = rng.integers(-128, 128, layer.in_shape)
        drv.write_mem(Mem.ACT, 0, 0, x.reshape(-1))
        drv.run(0, 1)
        got = drv.read_act(layer.out_base, layer.out_size).reshape(layer.c_out, layer.out_h,
                                                                   layer.out_w)
        np.testing.assert_array_equal(got, reference_layer(layer, x))
        counters = drv.counters()
        nz = np.count_nonzero(layer.weights)
        empty = sum(1 for c in range(layer.c_out) if not layer.weights[c].any())
        steps = loop_steps(layer, width)
        assert sum(map(len, steps)) == layer.positions
        # Each lane walks its channels' words once a step it takes (a single-position
        # layer's one step: its words are shared out, each walked once); a channel with no
        # weight still costs one word. Adds stay one a nonzero weight and position.
        assert counters["weight_words"] == (nz + empty) * len(steps)
        assert counters["act_reads"] == loop_reads(layer, width)
        if layer.mode is LayerMode.TERNARY:
            assert counters["adds_plus"] == int((layer.weights > 0).sum()) * layer.positions
            assert counters["adds_minus"] == int((layer.weights < 0).sum()) * layer.positions
        else:
            assert counters["adds_plus"] == nz * layer.positions
        assert counters["act_writes"] == layer.out_size
        done += 1


def test_run_of_a_malformed_layer_is_refused_and_changes_nothing():
    layer = one_channel([[[[1, 0], [0, -1]]]], (1, 3, 3))
    layer.out_base = 9
    dev = GoldenDevice(lanes=1, lane_words=64, act_depth=64, config_depth=64)
    image = load_layers(dev, [layer], lanes=1)
    ask(dev, 1, Op.WRITE, write_payload(Mem.ACT, 0, 0, range(1, 10), 1))
    assert ask(dev, 2, Op.RUN, bytes([0, 1]))[0] == Status.OK
    before = dev.act.copy()
    # The lane's last word loses its last flag: the engine would run on into the next
    # position's sums; the golden device refuses the RUN instead.
    words = [dict(w) for w in image.words[0]]
    words[-1]["last"] = 0
    ask(dev, 3, Op.WRITE, write_payload(Mem.WEIGHT, 0, 0,
                                        [spec.pack_fields(spec.WEIGHT_WORD_FIELDS, w)
                                         for w in words], 5))
    ask(dev, 4, Op.WRITE, write_payload(Mem.ACT, 0, 0, [0] * 9, 1))
    assert ask(dev, 5, Op.RUN, bytes([0, 1]))[0] == Status.BAD_ARGS
    assert "no last flag" in dev.log[-1]
    np.testing.assert_array_equal(dev.act[9:13], before[9:13])

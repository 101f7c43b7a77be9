"""Row-band tiling of layers whose maps exceed the activation memory (sw/mapping/tiling.py):
band plans, the banded golden path against the plain-loop reference on the whole map, the
image's shared words, the cycle model per band, and the amaranth.sim engine running bands."""

import numpy as np
import pytest

from hw.engine.layer_engine import LayerEngine
from testsupport.amaranth_engine import apply_writes, counters, read_map, run_layer, simulate
from testsupport.engine_cases import random_layer
from testsupport.engine_loader import image_writes, input_writes, layer_registers
from sw.mapping.cycle_model import lane_words_and_steps, layer_cycles
from sw.program.epilogue import DualScaleParams
from sw.mapping.engine_image import EngineImage
from sw.mapping.hardware_layer import HardwareLayer, place_maps
from sw.mapping.plan import _shared_band_columns, segment_program
from sw.golden.reference import reference_layer
from sw.mapping.tiling import COLUMNS, ROWS, TiledLayer, plan_bands
from sw.golden.reference import run_tiled
from sw.program.ir import EngineLayer
from sw.spec import ActMode, LayerMode


def random_case(rng):
    """A random conv2d / conv1d layer, stride 1-2, padding 0-2, pooling 1-2, ternary or
    dense, with an activation memory between what one output row needs and the whole."""
    mode = LayerMode(int(rng.integers(2)))
    conv1d = rng.random() < 0.2
    kh = 1 if conv1d else int(rng.integers(1, 4))
    kw = int(rng.integers(1, 4))
    stride = (1 if conv1d else int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    pad = (0 if conv1d else int(rng.integers(0, min(kh, 3))), int(rng.integers(0, min(kw, 3))))
    pool = (1 if conv1d else int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    h = 1 if conv1d else int(rng.integers(kh + 2 * pool[0] * stride[0], 20))
    w = int(rng.integers(kw + 2 * pool[1] * stride[1], 12))
    c_in, c_out = int(rng.integers(1, 4)), int(rng.integers(1, 6))
    sparsity = float(rng.choice([0.0, 0.5, 0.95]))
    act = ActMode(int(rng.integers(3)))
    layer, x = random_layer(rng, mode, c_in, (h, w), c_out, (kh, kw), stride, pad, pool,
                            sparsity, act)
    return layer, x


def one_row_needs(layer):
    """Bytes one pooled output row and the input rows its windows span take (by hand)."""
    c_in, h, w = layer.in_shape
    _, _, kh, _ = layer.weights.shape
    rows = min(h, (layer.pool[0] - 1) * layer.stride[0] + kh)
    return c_in * rows * w + layer.c_out * layer.out_w


def rows_read(layer, r0, r1):
    """Input rows inside the map that pooled output rows [r0, r1) read (by hand)."""
    _, h, _ = layer.in_shape
    _, _, kh, _ = layer.weights.shape
    read = set()
    for oy in range(r0 * layer.pool[0], r1 * layer.pool[0]):
        top = oy * layer.stride[0] - layer.pad[0]
        read.update(y for y in range(top, top + kh) if 0 <= y < h)
    return read


def depth_between(rng, layer):
    lo, hi = one_row_needs(layer), layer.in_size + layer.out_size
    return int(rng.integers(lo, hi + 1))


@pytest.mark.parametrize("seed", range(60))
def test_bands_cover_the_output_once_and_fit(seed):
    rng = np.random.default_rng(seed)
    layer, _ = random_case(rng)
    depth = depth_between(rng, layer)
    tiled = plan_bands(layer, depth)
    _, h, _ = layer.in_shape
    kept = [r0 + r for (r0, _), (k0, k1) in zip(tiled.out_ranges, tiled.keep)
            for r in range(k0, k1)]
    assert kept == list(range(layer.out_h)), "each output row kept once, in order"
    heights = {b - a for a, b in tiled.in_ranges}
    rows = {r1 - r0 for r0, r1 in tiled.out_ranges}
    assert len(heights) == len(rows) == 1, "bands of one height and one row count"
    for band, (a, b), (r0, r1) in zip(tiled.bands, tiled.in_ranges, tiled.out_ranges):
        assert 0 <= a < b <= h and 0 <= r0 < r1 <= layer.out_h
        assert rows_read(layer, r0, r1) <= set(range(a, b)), "a band holds every row it reads"
        assert band.in_size + band.out_size <= depth
        assert band.in_base == 0 and band.out_base == band.in_size
    # Fewest bands: one band fewer, with the rows it would take, does not fit.
    n = len(tiled.bands)
    if n > 1:
        more = -(-layer.out_h // (n - 1))
        c_in, _, w = layer.in_shape
        span = min(h, (more * layer.pool[0] - 1) * layer.stride[0] + layer.weights.shape[2])
        assert c_in * span * w + layer.c_out * more * layer.out_w > depth
    else:
        assert layer.in_size + layer.out_size <= depth or rows == {layer.out_h}


@pytest.mark.parametrize("seed", range(60))
def test_tiled_equals_reference_on_the_whole_map(seed):
    rng = np.random.default_rng(1000 + seed)
    layer, x = random_case(rng)
    tiled = plan_bands(layer, depth_between(rng, layer))
    np.testing.assert_array_equal(run_tiled(tiled, x), reference_layer(layer, x))


def test_a_band_reads_only_its_rows():
    """Rows outside a band's input rows do not change its output (they read as padding)."""
    rng = np.random.default_rng(4)
    layer, x = random_layer(rng, LayerMode.TERNARY, 2, (12, 7), 3, (3, 3), (1, 1), (1, 1),
                            (2, 2), 0.3, ActMode.LEAKY)
    tiled = plan_bands(layer, 120)
    assert len(tiled.bands) >= 3
    want = reference_layer(layer, x)
    for k in range(len(tiled.bands)):
        a, b = tiled.in_ranges[k]
        noisy = x.copy()
        noisy[:, :a] = rng.integers(-128, 128, noisy[:, :a].shape)
        noisy[:, b:] = rng.integers(-128, 128, noisy[:, b:].shape)
        got = run_tiled(tiled, noisy)
        (r0, _), (k0, k1) = tiled.out_ranges[k], tiled.keep[k]
        np.testing.assert_array_equal(got[:, r0 + k0:r0 + k1], want[:, r0 + k0:r0 + k1])


def test_hand_worked_plan():
    """3x3 conv, pad 1, 2x2 pooling on a 1x16x4 map, 8 channels out (out 8x8x2 = 128 B):
    a pooled row reads 4 input rows (16 B) and writes 16 B; 64 B fit 3 rows (24 + 48 = 72
    is too many, 2 rows: 6 rows x 4 + 32 = 56), so 4 bands of 2 rows, 6 input rows each."""
    params = DualScaleParams(np.full(8, 512), np.full(8, -512), np.zeros(8), np.full(8, 10),
                             ActMode.NONE, 0)
    layer = HardwareLayer(LayerMode.TERNARY, np.ones((8, 1, 3, 3)), (1, 16, 4), (1, 1),
                          (1, 1), (2, 2), params)
    tiled = plan_bands(layer, 64)
    assert tiled.out_ranges == [(0, 2), (2, 4), (4, 6), (6, 8)]
    # Band k's windows start at input row 4k - 1; the first is clamped at 0, the last at 10.
    assert tiled.in_ranges == [(0, 6), (3, 9), (7, 13), (10, 16)]
    assert tiled.keep == [(0, 2)] * 4
    assert [b.first_y0() for b in tiled.bands] == [-1, 0, 0, 1]
    assert tiled.link_bytes() == {"written": 4 * 24, "read": 128}


def test_recomputed_rows_are_kept_once():
    """5 pooled rows in bands of 2: the last band starts at row 3 and keeps only row 4."""
    params = DualScaleParams(np.full(2, 512), np.full(2, -512), np.zeros(2), np.full(2, 10),
                             ActMode.NONE, 0)
    layer = HardwareLayer(LayerMode.TERNARY, np.ones((2, 1, 3, 3)), (1, 5, 8), (1, 1),
                          (1, 1), (1, 1), params)
    # 2 rows: 4 input rows (32 B) + 2 x 2 x 8 = 64 B; 3 rows: 40 + 48 = 88 B.
    tiled = plan_bands(layer, 80)
    assert tiled.out_ranges == [(0, 2), (2, 4), (3, 5)]
    assert tiled.keep == [(0, 2), (0, 2), (1, 2)]
    assert tiled.in_ranges == [(0, 4), (1, 5), (1, 5)]
    assert [tiled.writes_input(k) for k in range(3)] == [True, True, False]


def test_a_layer_that_cannot_be_tiled_names_itself_and_the_sizes():
    rng = np.random.default_rng(2)
    layer, _ = random_layer(rng, LayerMode.TERNARY, 3, (6, 8), 5, (3, 3), (1, 1), (1, 1),
                            (2, 2), 0.5, ActMode.NONE)
    # One pooled row: 4 input rows x 3 channels x 8 = 96 B, and 5 x 4 = 20 B out.
    with pytest.raises(ValueError, match=r"'conv7'.*96 input bytes.*20 output bytes.*115"):
        plan_bands(layer, 115, name="conv7")
    assert len(plan_bands(layer, 116, name="conv7").bands) == 3


def program_layers(rng):
    def params(c, act):
        return DualScaleParams(rng.integers(200, 900, c), rng.integers(-900, -200, c),
                               rng.integers(-2000, 2000, c), rng.integers(10, 12, c), act,
                               1 << 12)
    return [
        EngineLayer.from_weights("conv1", rng.integers(-60, 60, (4, 1, 3, 3)),
                                 in_shape=(1, 16, 10), pad=(1, 1), pool=(2, 2), out_pad=(1, 1),
                                 mode="dense", epilogue=params(4, ActMode.LEAKY)),
        EngineLayer.from_weights("conv2", rng.choice([-1, 0, 1], (6, 4, 3, 3)),
                                 in_shape=(4, 8, 5), pad=(1, 1), pool=(2, 2), mode="ternary",
                                 epilogue=params(6, ActMode.LEAKY)),
    ]


def test_segment_program_runs_bands_only_where_a_layer_does_not_fit():
    layers = program_layers(np.random.default_rng(8))
    with pytest.raises(ValueError, match="conv1"):
        place_maps(layers, 256)
    # conv1: 160 + 160 bytes > 256, in bands; conv2: 160 + 48 bytes, whole, input at 0.
    segments = segment_program(layers, 256)
    assert [seg.kind for seg in segments] == ["band", "run"]
    tiled = segments[0].tiled
    assert isinstance(tiled, TiledLayer) and len(tiled.bands) > 1 and tiled.name == "conv1"
    (conv2,) = segments[1].hw
    assert conv2.in_base == 0 and conv2.out_base + conv2.out_size <= 256
    # With room for both maps of both layers, one run of both.
    segments = segment_program(layers, 1024)
    assert [seg.kind for seg in segments] == ["run"]
    assert [layer.name for layer in segments[0].layers] == ["conv1", "conv2"]


def test_segment_program_starts_a_new_run_where_the_maps_stop_fitting():
    rng = np.random.default_rng(8)
    conv1 = program_layers(rng)[0]
    wide = EngineLayer.from_weights(
        "wide", rng.choice([-1, 0, 1], (8, 4, 3, 3)), in_shape=(4, 8, 5), pad=(1, 1),
        mode="ternary", epilogue=DualScaleParams([500] * 8, [-500] * 8, [0] * 8, [10] * 8,
                                                 ActMode.RELU, 0))
    # By hand, 500 bytes: conv1 alone takes 160 + 160 (input at 0, output at 160); wide's
    # 320-byte output then goes after its input, at 320, and would end at 640; alone, wide
    # takes 160 + 320 = 480 bytes: two runs, no bands.
    segments = segment_program([conv1, wide], 500)
    assert [seg.kind for seg in segments] == ["run", "run"]
    assert [[layer.name for layer in seg.layers] for seg in segments] == [["conv1"], ["wide"]]
    assert (segments[1].hw[0].in_base, segments[1].hw[0].out_base) == (0, 160)


@pytest.mark.parametrize("width", [1, 4])
def test_image_shares_words_and_cycles_per_band(width):
    """A tiled layer is laid out once: as many words as the same layer untiled, band
    entries that differ only in the lanes' first rows; every band's cycles are the
    model's for one band's steps, and its words are steps x the layer's words."""
    rng = np.random.default_rng(12)
    layer, _ = random_layer(rng, LayerMode.TERNARY, 3, (14, 9), 6, (3, 3), (1, 1), (1, 1),
                            (2, 2), 0.6, ActMode.LEAKY)
    tiled = plan_bands(layer, 300)
    lanes = 4
    image = EngineImage.build([tiled], lanes, width=width, lane_words=256, act_depth=300)
    whole = EngineImage.build([layer], lanes, width=width)
    assert len(tiled.bands) > 2
    assert image.groups == [list(range(len(tiled.bands)))]
    assert image.lane_words_used() == whole.lane_words_used()
    assert len(image.params) == layer.c_out
    first = image.layers[0]
    per_channel = sum(layer.words_per_channel())
    for k, entry in enumerate(image.layers):
        assert entry["tiled"] is tiled and entry["band"] == k
        assert entry["cfg"] == first["cfg"], "one layer register image for every band"
        for lane, lane0 in zip(entry["lane_cfg"], first["lane_cfg"]):
            assert {f: v for f, v in lane.items() if f not in ("y0", "row")} == \
                   {f: v for f, v in lane0.items() if f not in ("y0", "row")}
        model = layer_cycles(*lane_words_and_steps(entry["lanes"]))
        # 2 x 2 windows: at width 1 one step a position; at width 4 a step covers two
        # windows side by side (4 columns), so a window row of 4 windows takes 2 steps.
        steps = entry["hw"].out_h * 2 * (layer.out_w * 2 if width == 1 else 2)
        assert layer.out_w == 4
        assert model["weight_words"] == steps * per_channel
        assert model["busy_cycles"] >= -(-steps * per_channel // lanes)


def run_bands_on_engine(image, tiled, x, lanes, act_depth):
    dut = LayerEngine(lanes=lanes, width=image.width, lane_words=256, act_depth=act_depth)
    out = np.zeros(tiled.out_shape, dtype=np.int64)
    cycles = []

    async def testbench(ctx):
        await apply_writes(ctx, dut, image_writes(image))
        for k in image.groups[0]:
            band = image.layers[k]["band"]
            if tiled.writes_input(band):
                await apply_writes(ctx, dut, input_writes(tiled.in_base,
                                                          tiled.band_input(band, x)))
            seen = await run_layer(ctx, dut, *layer_registers(image, k))
            cycles.append((seen, counters(ctx, dut)["busy_cycles"]))
            for addr, count, index in tiled.read_runs(band):
                out[index] = (await read_map(ctx, dut, addr, (count,))).reshape(out[index].shape)

    simulate(dut, testbench)
    return out, cycles


@pytest.mark.parametrize("width", [1, 4])
def test_engine_runs_a_tiled_layer_band_by_band(width):
    """amaranth.sim: a layer four times the activation memory, band by band through the
    engine's ports, equals the plain-loop reference on the whole map; each band's busy
    cycles are the cycle model's."""
    rng = np.random.default_rng(21)
    layer, x = random_layer(rng, LayerMode.TERNARY, 2, (12, 6), 3, (3, 3), (1, 1), (1, 1),
                            (2, 1), 0.5, ActMode.LEAKY)
    act_depth, lanes = 80, 3
    assert layer.in_size + layer.out_size > 3 * act_depth
    tiled = plan_bands(layer, act_depth)
    image = EngineImage.build([tiled], lanes, width=width, lane_words=256,
                              act_depth=act_depth)
    got, cycles = run_bands_on_engine(image, tiled, x, lanes, act_depth)
    np.testing.assert_array_equal(got, reference_layer(layer, x))
    for k, (seen, counted) in zip(image.groups[0], cycles):
        model = layer_cycles(*lane_words_and_steps(image.layers[k]["lanes"]))
        assert seen == counted == model["busy_cycles"]


# -- column bands: conv1d maps (H = 1) along the sequence ----------------------------------
def random_conv1d(rng):
    """A random conv1d layer: kernel 1-5, stride 1-2, padding 0-2, pooling 1-2, ternary or
    dense, 1-4 channels in and 1-6 out, 12 to 60 samples."""
    mode = LayerMode(int(rng.integers(2)))
    kw = int(rng.integers(1, 6))
    sw, qw = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    pw = int(rng.integers(0, min(kw, 3)))
    w = int(rng.integers(max(12, kw + 2 * qw * sw), 61))
    return random_layer(rng, mode, int(rng.integers(1, 5)), (1, w), int(rng.integers(1, 7)),
                        (1, kw), (1, sw), (0, pw), (1, qw), float(rng.choice([0.0, 0.5, 0.9])),
                        ActMode(int(rng.integers(3))))


def one_column_needs(layer):
    """Bytes one pooled output column and the padded input columns it reads take (by hand)."""
    c_in = layer.in_shape[0]
    kw = layer.weights.shape[3]
    return c_in * ((layer.pool[1] - 1) * layer.stride[1] + kw) + layer.c_out


@pytest.mark.parametrize("seed", range(40))
def test_column_bands_cover_the_sequence_once_fit_and_equal_the_whole_map(seed):
    rng = np.random.default_rng(3000 + seed)
    layer, x = random_conv1d(rng)
    whole = layer.in_size + layer.out_size
    depth = int(rng.integers(one_column_needs(layer), whole))
    tiled = plan_bands(layer, depth)
    assert tiled.axis == COLUMNS and tiled.host_pad == layer.pad[1]
    kept = [c0 + c for (c0, _), (k0, k1) in zip(tiled.out_ranges, tiled.keep)
            for c in range(k0, k1)]
    assert kept == list(range(layer.out_w)), "each output column kept once, in order"
    assert len({b - a for a, b in tiled.in_ranges}) == 1
    assert len({c1 - c0 for c0, c1 in tiled.out_ranges}) == 1
    kw, sw, qw = layer.weights.shape[3], layer.stride[1], layer.pool[1]
    padded = layer.in_shape[2] + 2 * layer.pad[1]
    for band, (a, b), (c0, c1) in zip(tiled.bands, tiled.in_ranges, tiled.out_ranges):
        # Padded columns the windows of pooled columns [c0, c1) read, by hand.
        assert 0 <= a and b <= padded
        assert a <= c0 * qw * sw and (c1 * qw - 1) * sw + kw <= b
        assert band.in_size + band.out_size <= depth and band.pad == (0, 0)
    n = len(tiled.bands)
    if n > 1:
        more = -(-layer.out_w // (n - 1))
        assert layer.in_shape[0] * ((more * qw - 1) * sw + kw) + layer.c_out * more > depth
    np.testing.assert_array_equal(run_tiled(tiled, x), reference_layer(layer, x))


def test_hand_worked_column_plan():
    """conv1d, 2 channels of 20 samples, kernel 3, pad 1, pooling 2, 3 channels out: 10
    pooled columns; c pooled columns are 2c convolutions, which read 2c + 2 padded columns
    of each channel, so need 2(2c + 2) + 3c = 7c + 4 bytes. 32 bytes hold c = 4: 3 bands of
    4 columns (10 padded input columns each), the last starting at column 6 and keeping its
    last 2."""
    params = DualScaleParams(np.full(3, 512), np.full(3, -512), np.zeros(3), np.full(3, 10),
                             ActMode.NONE, 0)
    layer = HardwareLayer(LayerMode.TERNARY, np.ones((3, 2, 1, 3)), (2, 1, 20), (1, 1),
                          (0, 1), (1, 2), params)
    tiled = plan_bands(layer, 32)
    assert tiled.out_ranges == [(0, 4), (4, 8), (6, 10)]
    assert tiled.keep == [(0, 4), (0, 4), (2, 4)]
    assert tiled.in_ranges == [(0, 10), (8, 18), (12, 22)]
    assert [b.in_shape for b in tiled.bands] == [(2, 1, 10)] * 3
    assert tiled.link_bytes() == {"written": 3 * 20, "read": 3 * 10}
    with pytest.raises(ValueError, match=r"one output column needs 8 input bytes.*11 bytes "
                                         r"with 10 available"):
        plan_bands(layer, 10, name="c1d")
    x = np.arange(40).reshape(2, 1, 20) - 20
    np.testing.assert_array_equal(run_tiled(tiled, x), reference_layer(layer, x))


@pytest.mark.parametrize("width", [1, 4])
def test_engine_runs_column_bands(width):
    """amaranth.sim: a conv1d layer three times the activation memory, column band by column
    band through the engine's ports, equals the plain-loop reference on the whole map; each
    band's busy cycles are the cycle model's, and the bands share one register image."""
    rng = np.random.default_rng(23)
    layer, x = random_layer(rng, LayerMode.DENSE, 3, (1, 40), 4, (1, 5), (1, 1), (0, 2),
                            (1, 2), 0.3, ActMode.LEAKY)
    act_depth, lanes = 64, 3
    assert layer.in_size + layer.out_size > 2.5 * act_depth
    tiled = plan_bands(layer, act_depth)
    assert tiled.axis == COLUMNS and len(tiled.bands) >= 3
    image = EngineImage.build([tiled], lanes, width=width, lane_words=256,
                              act_depth=act_depth)
    first = image.layers[0]
    assert all(e["cfg"] == first["cfg"] and e["lane_cfg"] == first["lane_cfg"]
               for e in image.layers)
    got, cycles = run_bands_on_engine(image, tiled, x, lanes, act_depth)
    np.testing.assert_array_equal(got, reference_layer(layer, x))
    for k, (seen, counted) in zip(image.groups[0], cycles):
        model = layer_cycles(*lane_words_and_steps(image.layers[k]["lanes"]))
        assert seen == counted == model["busy_cycles"]


def test_segment_program_runs_a_long_sequence_in_column_bands():
    rng = np.random.default_rng(9)
    conv = EngineLayer.from_weights(
        "conv1d", rng.choice([-1, 0, 1], (8, 4, 1, 5)), in_shape=(4, 1, 200), pad=(0, 2),
        pool=(1, 2), mode="ternary",
        epilogue=DualScaleParams([500] * 8, [-500] * 8, [0] * 8, [10] * 8, ActMode.RELU, 0))
    # 800 + 800 bytes do not fit 1,024 together: bands along the sequence.
    (segment,) = segment_program([conv], 1024)
    assert segment.kind == "band" and segment.tiled.axis == COLUMNS
    assert len(segment.tiled.bands) == 2
    assert plan_bands(conv, 4096).axis == ROWS  # fits whole: one band


def test_one_set_of_weights_applied_twice_in_bands_is_laid_out_once():
    """A conv1d applied twice (the CNN-transformer's conv3), both applications too big for
    the memory: their bands get one width, walk the same words, and the image holds those
    once; a layer with other weights gets its own."""
    rng = np.random.default_rng(31)
    weights = rng.choice([-1, 0, 1], (4, 4, 1, 3))
    epilogue = DualScaleParams([500] * 4, [-500] * 4, [0] * 4, [10] * 4, ActMode.RELU, 0)

    def conv(name, w, length):
        return EngineLayer.from_weights(name, w, in_shape=(4, 1, length), pad=(0, 1),
                                        pool=(1, 2), mode="ternary", epilogue=epilogue)
    layers = [conv("conv3#1", weights, 240), conv("conv3#2", weights, 120)]
    # By hand: c pooled columns read 2c + 2 padded columns of 4 channels and write 4c
    # bytes, 12c + 8 <= 512 for c <= 42. Alone, the first (120 pooled columns) takes 3
    # bands of 40 and the second (60) 2 of 30; with one width, bands of 30, 62 columns in.
    assert [plan_bands(layer, 512).band_out_shape[2] for layer in layers] == [40, 30]
    assert [seg.tiled.band_out_shape[2] for seg in segment_program(layers, 512)] == [40, 30]
    assert _shared_band_columns(layers, 512) == {0: 30, 1: 30}
    segments = segment_program(layers, 512, band_columns=_shared_band_columns(layers, 512))
    assert [seg.kind for seg in segments] == ["band", "band"]
    first, second = (seg.tiled for seg in segments)
    assert first.band_out_shape == second.band_out_shape == (4, 1, 30)
    assert first.bands[0].in_shape == second.bands[0].in_shape == (4, 1, 62)
    assert (len(first.bands), len(second.bands)) == (4, 2)
    lanes = 3
    image = EngineImage.build([first, second], lanes, width=4, act_depth=512)
    alone = EngineImage.build([first], lanes, width=4, act_depth=512)
    assert image.lane_words_used() == alone.lane_words_used()
    assert image.channels == alone.channels and len(image.params) == 8
    bases = [[c["word_base"] for c in entry["lane_cfg"]] for entry in image.layers]
    assert all(b == bases[0] for b in bases), "every band of both reads the same words"
    other = conv("other", -weights, 120)
    (tiled,) = (seg.tiled for seg in segment_program([other], 512))
    both = EngineImage.build([first, tiled], lanes, width=4, act_depth=512)
    assert sum(both.lane_words_used()) > sum(alone.lane_words_used())

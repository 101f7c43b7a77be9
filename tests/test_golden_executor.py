"""The golden executor against a plain integer reference written with direct loops.

The reference below never looks at offset lists: it walks the weight tensor, the unpadded
input and the output positions with Python loops, applies the epilogue formula of
ARCHITECTURE.md ("The integer contract") written out with Python integers, pools with loops
and pads. The executor gathers by offset and multiplies matrices; they must agree bit for
bit on layers hypothesis draws (shapes, strides, paddings, pooling, sparsity, modes).
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sw import spec
from sw.program.epilogue import DualScaleParams
from sw.golden.executor import execute, layer_accumulators, run_layer
from sw.mapping.counts import layer_counts
from sw.program import EngineLayer, HostOp, Program
from sw.spec import ActMode


def ref_epilogue(p, n, m_r, m_l, bias, shift, act, slope):
    """The contract's epilogue for one value, in Python integers."""
    acc = m_r * p + m_l * n + bias
    v = (acc + (1 << (shift - 1))) >> shift if shift > 0 else acc
    if act == ActMode.RELU:
        v = max(v, 0)
    elif act == ActMode.LEAKY and v < 0:
        v = max(v, -(1 << 24))  # the contract's clamp before the multiply
        v = (v * slope + (1 << 15)) >> 16
    return min(max(v, -128), 127)


def ref_layer(x, w, mode, pad, stride, ep, pool, out_pad):
    """Direct loops: x int [C, H, W] (unpadded), w int [C_out, C_in, kh, kw]."""
    c_in, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    (ph, pw), (sh, sw) = pad, stride
    ho = (h + 2 * ph - kh) // sh + 1
    wo = (wd + 2 * pw - kw) // sw + 1
    pre = np.zeros((c_out, ho, wo), dtype=np.int64)
    for c in range(c_out):
        for oy in range(ho):
            for ox in range(wo):
                p = n = 0
                for ci in range(c_in):
                    for ky in range(kh):
                        for kx in range(kw):
                            iy, ix = oy * sh + ky - ph, ox * sw + kx - pw
                            if not (0 <= iy < h and 0 <= ix < wd):
                                continue  # zero padding
                            v, wt = int(x[ci, iy, ix]), int(w[c, ci, ky, kx])
                            if mode == "dense":
                                p += wt * v
                            elif wt == 1:
                                p += v
                            elif wt == -1:
                                n += v
                pre[c, oy, ox] = ref_epilogue(p, n, int(ep.m_r[c]), int(ep.m_l[c]),
                                              int(ep.bias[c]), int(ep.shift[c]), ep.act,
                                              ep.slope)
    qh, qw = ho // pool[0], wo // pool[1]
    out = np.zeros((c_out, qh + 2 * out_pad[0], qw + 2 * out_pad[1]), dtype=np.int64)
    for c in range(c_out):
        for y in range(qh):
            for xx in range(qw):
                best = -10 ** 9
                for dy in range(pool[0]):
                    for dx in range(pool[1]):
                        best = max(best, pre[c, y * pool[0] + dy, xx * pool[1] + dx])
                out[c, out_pad[0] + y, out_pad[1] + xx] = best
    return out


@st.composite
def layers(draw):
    """A random engine layer, its weights and an input batch."""
    mode = draw(st.sampled_from(["ternary", "dense"]))
    kind = draw(st.sampled_from(["conv2d", "conv1d", "linear"]))
    c_in = draw(st.integers(1, 3))
    c_out = draw(st.integers(1, 4))
    if kind == "linear":
        h, w = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        pad, stride, kernel, pool = (0, 0), (1, 1), (h, w), (1, 1)
    else:
        h = 1 if kind == "conv1d" else draw(st.integers(1, 6))
        w = draw(st.integers(1, 7))
        pad = (0 if kind == "conv1d" else draw(st.integers(0, 2)), draw(st.integers(0, 2)))
        kernel = (1 if kind == "conv1d" else draw(st.integers(1, h + 2 * pad[0])),
                  draw(st.integers(1, w + 2 * pad[1])))
        stride = (1 if kind == "conv1d" else draw(st.integers(1, 3)), draw(st.integers(1, 3)))
        ho = (h + 2 * pad[0] - kernel[0]) // stride[0] + 1
        wo = (w + 2 * pad[1] - kernel[1]) // stride[1] + 1
        pool = (draw(st.integers(1, min(2, ho))), draw(st.integers(1, min(3, wo))))
    out_pad = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    density = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    rng = np.random.default_rng(seed)
    shape = (c_out, c_in) + kernel
    keep = rng.random(shape) < density
    if mode == "ternary":
        wts = np.where(keep, rng.choice([-1, 1], size=shape), 0)
    else:
        wts = np.where(keep, rng.choice(np.r_[-128:0, 1:128], size=shape), 0)
    act = ActMode(draw(st.sampled_from([0, 1, 2])))
    slope = int(rng.integers(0, spec.SLOPE_MAX + 1))
    if draw(st.integers(0, 4)) == 0:
        # Anywhere in the hardware's ranges (mostly saturated outputs).
        ep = DualScaleParams(rng.integers(spec.MULT_MIN, spec.MULT_MAX + 1, c_out),
                             rng.integers(spec.MULT_MIN, spec.MULT_MAX + 1, c_out),
                             rng.integers(-2 ** 30, 2 ** 30, c_out),
                             rng.integers(0, 26, c_out), act, slope)
    else:
        # Scales a compiler produces: |M / 2**s| <= 1/8, outputs mostly inside int8.
        s = rng.integers(4, 21, c_out)
        lim = np.minimum(2 ** (s - 3), spec.MULT_MAX)
        ep = DualScaleParams(rng.integers(-lim, lim + 1), rng.integers(-lim, lim + 1),
                             rng.integers(-2 ** (s + 6), 2 ** (s + 6)), s, act, slope)
    layer = EngineLayer.from_weights("L", wts, in_shape=(c_in, h, w), pad=pad,
                                     stride=stride, epilogue=ep, mode=mode, pool=pool,
                                     out_pad=out_pad)
    batch = rng.integers(-128, 128, size=(draw(st.integers(1, 3)), c_in, h, w))
    return layer, wts, batch


def padded(x, pad):
    return np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1]))).astype(np.int8)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers())
def test_layer_matches_loop_reference(case):
    layer, wts, batch = case
    got = run_layer(layer, padded(batch, layer.pad))
    for i, x in enumerate(batch):
        want = ref_layer(x, wts, layer.mode, layer.pad, layer.stride, layer.epilogue,
                         layer.pool, layer.out_pad)
        np.testing.assert_array_equal(got[i], want)


@settings(max_examples=40, deadline=None)
@given(layers())
def test_offset_lists_round_trip_weights(case):
    layer, wts, _ = case
    np.testing.assert_array_equal(layer.weights(), wts)
    # Offsets by the contract's formula o = ci*Hp*Wp + ky*Wp + kx, sorted per channel.
    _, hp, wp = layer.padded_shape
    for c in range(layer.out_channels):
        plus, minus, _ = layer.channel_lists(c)
        sel = wts[c] > 0 if layer.mode == "ternary" else wts[c] != 0
        ci, ky, kx = np.nonzero(sel)
        np.testing.assert_array_equal(plus, np.sort(ci * hp * wp + ky * wp + kx))
        ci, ky, kx = np.nonzero(wts[c] < 0 if layer.mode == "ternary" else np.zeros_like(sel))
        np.testing.assert_array_equal(minus, np.sort(ci * hp * wp + ky * wp + kx))


@pytest.mark.parametrize("width, steps", [(1, 4), (4, 2)])
def test_hand_computed_conv(width, steps):
    # 1x3x3 input, one 2x2 ternary kernel [[+1, 0], [0, -1]], stride 1, no pad:
    # P = x[y, x], N = x[y+1, x+1]; epilogue M_r = 1, M_l = -1, B = 0, s = 0 gives P - N.
    # V = 1: a step a position (4); V = 4: a step an output row of 2 columns (2). Each of
    # the 2 words is read once a step, always inside the map.
    x = np.array([[[1, 2, 3], [4, 5, 6], [7, 8, 9]]])
    ep = DualScaleParams(1, -1, 0, 0, channels=1)
    layer = EngineLayer.from_weights("h", np.array([[[[1, 0], [0, -1]]]]), in_shape=(1, 3, 3),
                                     epilogue=ep, mode="ternary")
    out = run_layer(layer, padded(x[None], (0, 0)))
    np.testing.assert_array_equal(out[0, 0], [[1 - 5, 2 - 6], [4 - 8, 5 - 9]])
    c = layer_counts(layer, width)
    assert (c.positions, c.steps, c.nnz, c.adds_plus, c.adds_minus, c.weight_words,
            c.act_reads, c.act_writes) == (4, steps, 2, 4, 4, 2 * steps, 2 * steps, 4)


def test_pool_and_activation_commute():
    """The engine pools after the activation; PyTorch models pool first. Both agree.

    max is taken over values v of the same channel, and act and sat8 are non-decreasing,
    so max(sat(act(v))) == sat(act(max(v))). Checked on the integer epilogue directly:
    the layer's output (act then pool) against pooling v first and applying act after.
    """
    rng = np.random.default_rng(3)
    for act in ActMode:
        wts = rng.choice([-1, 0, 1], size=(3, 2, 3, 3))
        ep = DualScaleParams(rng.integers(-3000, 3000, 3), rng.integers(-3000, 3000, 3),
                             rng.integers(-5000, 5000, 3), [6, 7, 8], act, 9000)
        layer = EngineLayer.from_weights("c", wts, in_shape=(2, 8, 8), pad=(1, 1),
                                         epilogue=ep, mode="ternary", pool=(2, 2))
        nopool = EngineLayer.from_weights("c", wts, in_shape=(2, 8, 8), pad=(1, 1),
                                          epilogue=ep, mode="ternary")
        x = padded(rng.integers(-128, 128, size=(4, 2, 8, 8)), (1, 1))
        got = run_layer(layer, x)
        # Pool the shifted value v first, then activate and saturate.
        p, n = layer_accumulators(nopool, x)
        acc = (ep.m_r[None, :, None, None] * p + ep.m_l[None, :, None, None] * n
               + ep.bias[None, :, None, None])
        sh = ep.shift[None, :, None, None]
        v = (acc + (1 << (sh - 1))) >> sh
        vmax = v.reshape(4, 3, 4, 2, 4, 2).max(axis=(3, 5))
        want = np.vectorize(lambda t: ref_epilogue(int(t), 0, 1, 0, 0, 0, act, 9000))(vmax)
        np.testing.assert_array_equal(got, want)
        assert got.shape == (4, 3, 4, 4)


def test_program_chain_matches_reference():
    """quantize -> conv (pad 1, pool 2) -> linear on the flattened map -> dequantize."""
    rng = np.random.default_rng(7)
    w1 = rng.choice([-1, 0, 1], size=(4, 1, 3, 3), p=[0.3, 0.4, 0.3])
    w2 = np.where(rng.random((5, 4 * 3 * 3)) < 0.6, rng.integers(-127, 128, (5, 36)), 0)
    ep1 = DualScaleParams([900, 1100, 700, 1000], [-800, -1000, -900, -1200],
                          [0, 50, -50, 10], 10, ActMode.RELU, channels=4)
    ep2 = DualScaleParams(rng.integers(100, 300, 5), 0, rng.integers(-999, 999, 5), 12,
                          channels=5)
    l1 = EngineLayer.from_weights("conv", w1, in_shape=(1, 6, 6), pad=(1, 1), epilogue=ep1,
                                  mode="ternary", pool=(2, 2))
    l2 = EngineLayer.from_weights("fc", w2.reshape(5, 4, 3, 3), in_shape=(4, 3, 3),
                                  epilogue=ep2, mode="dense")
    prog = Program(input_shape=(1, 6, 6), ops=[
        HostOp("quantize", dict(scale=0.01, map_shape=[1, 6, 6], pad=[1, 1])), l1, l2,
        HostOp("dequantize", dict(scale=0.5))])
    x = rng.uniform(-1.5, 1.5, size=(6, 1, 6, 6))
    res = execute(prog, x, batch_size=4)
    for i in range(len(x)):
        q = np.clip(np.rint(x[i] / 0.01), -128, 127).astype(np.int64)
        h1 = ref_layer(q, w1, "ternary", (1, 1), (1, 1), ep1, (2, 2), (0, 0))
        h2 = ref_layer(h1.reshape(36, 1, 1), w2.reshape(5, 36, 1, 1), "dense", (0, 0),
                       (1, 1), ep2, (1, 1), (0, 0))
        np.testing.assert_array_equal(res.int_output[i], h2)
        np.testing.assert_allclose(res.output[i], h2.reshape(-1) * 0.5)
    counts = {c.name: c for c in res.counts}
    assert counts["conv"].positions == 36 and counts["conv"].act_writes == 4 * 3 * 3
    assert counts["fc"].adds_plus == int((w2 != 0).sum()) and counts["fc"].adds_minus == 0


def test_bad_layer_rejected():
    ep = DualScaleParams(1, 1, 0, 0, channels=1)
    with pytest.raises(ValueError, match="outside"):
        EngineLayer(name="x", mode="ternary", in_shape=(1, 3, 3), pad=(0, 0), kernel=(2, 2),
                    stride=(1, 1), out_channels=1, plus_ptr=[0, 1], plus_off=[2],
                    minus_ptr=[0, 0], minus_off=[], values=[], epilogue=ep)
    with pytest.raises(ValueError, match="strictly increasing"):
        EngineLayer(name="x", mode="ternary", in_shape=(1, 3, 3), pad=(0, 0), kernel=(2, 2),
                    stride=(1, 1), out_channels=1, plus_ptr=[0, 2], plus_off=[3, 1],
                    minus_ptr=[0, 0], minus_off=[], values=[], epilogue=ep)


@pytest.mark.parametrize("width, steps", [(1, 24), (4, 6), (8, 6)])
def test_positions_skip_what_floor_pooling_drops(width, steps):
    # 7x5 output pooled 2x2 (floor): 3x2 windows, 24 computed positions of 35. V = 1: a
    # step a position. V = 4 or 8 (wide): a step a window row, columns 0..3 (column 4 and
    # row 6 are dropped, and V = 8's columns 4..7 are past the windows): 6 steps. The
    # single weight reads once a step, always inside.
    ep = DualScaleParams(1, 1, 0, 0, channels=1)
    layer = EngineLayer.from_weights("p", np.ones((1, 1, 1, 1), int), in_shape=(1, 7, 5),
                                     epilogue=ep, mode="ternary", pool=(2, 2))
    assert layer.conv_shape == (7, 5) and layer.out_shape == (1, 3, 2)
    c = layer_counts(layer, width)
    assert (c.positions, c.adds_plus, c.act_writes) == (24, 24, 6)
    assert (c.steps, c.weight_words, c.act_reads) == (steps, steps, steps)

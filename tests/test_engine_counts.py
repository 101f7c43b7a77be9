"""The engine's counts per inference (sw.mapping.counts.layer_counts) against plain loops.

The loop below never looks at hardware layers, lane programs or column groups: it walks the
pre-pool output positions the layer keeps (floor pooling), cuts each row into the steps an
engine of width V takes, as the spec states the rule (sw/spec.py, ``layer_is_wide``: a layer
is wide when V > 1, its column stride is 1 and its pooling width divides V; a wide step is V
consecutive columns of one row, starting at a multiple of V, those past the pooling windows
not computed; a narrow step is one position), then counts per step and nonzero weight: one
weight word, and one (wide) activation read when any of the step's positions reads a pixel
inside the unpadded map. Adds stay one per nonzero weight and position.
"""

import numpy as np
import pytest

from sw.mapping.counts import layer_counts
from sw.program import EngineLayer
from sw.program.epilogue import DualScaleParams


def loop_counts(w, in_shape, pad, stride, pool, mode, width):
    c_in, h, wd = in_shape
    c_out, _, kh, kw = w.shape
    (ph, pw), (sh, sw), (qh, qw) = pad, stride, pool
    ho = (h + 2 * ph - kh) // sh + 1
    wo = (wd + 2 * pw - kw) // sw + 1
    out_h, out_w = ho // qh, wo // qw
    rows, cols = out_h * qh, out_w * qw          # the positions inside a pooling window
    wide = width > 1 and sw == 1 and width % qw == 0
    steps = []
    for oy in range(rows):
        if wide:
            for c0 in range(0, cols, width):
                steps.append([(oy, ox) for ox in range(c0, min(c0 + width, cols))])
        else:
            for ox in range(cols):
                steps.append([(oy, ox)])
    positions = sum(len(s) for s in steps)
    assert positions == rows * cols
    nonzero = [(int(c), int(ci), int(ky), int(kx)) for c, ci, ky, kx in zip(*np.nonzero(w))]
    plus = sum(1 for c, ci, ky, kx in nonzero if mode == "dense" or w[c, ci, ky, kx] > 0)
    minus = len(nonzero) - plus
    reads = 0
    for step in steps:
        for _, _, ky, kx in nonzero:
            if any(0 <= oy * sh - ph + ky < h and 0 <= ox * sw - pw + kx < wd
                   for oy, ox in step):
                reads += 1
    return {"positions": positions, "steps": len(steps), "adds_plus": plus * positions,
            "adds_minus": minus * positions, "weight_words": len(nonzero) * len(steps),
            "act_reads": reads, "act_writes": c_out * out_h * out_w}


def engine_layer(w, in_shape, pad, stride, pool, mode):
    c_out = w.shape[0]
    ep = DualScaleParams([1] * c_out, [1] * c_out, [0] * c_out, [0] * c_out)
    return EngineLayer.from_weights("L", w, in_shape=in_shape, pad=pad, stride=stride,
                                    epilogue=ep, mode=mode, pool=pool)


CASES = {
    # Padded and pooled: 7x7 conv output, 3x3 windows (column and row 6 dropped); at V = 4
    # wide, a row's 6 columns in two steps, the second with 2 of its 4 columns past the
    # windows, the first and last columns reading the padding for kx = 0 / kx = 2.
    "padded_pooled": dict(in_shape=(2, 7, 7), kernel=(3, 3), pad=(1, 1), stride=(1, 1),
                          pool=(2, 2)),
    # Strided along the row: narrow at any V (one position a step).
    "strided": dict(in_shape=(2, 9, 11), kernel=(3, 2), pad=(1, 1), stride=(2, 2),
                    pool=(1, 1)),
    # Strided down the columns only, pooled by rows: wide at V = 4.
    "row_strided": dict(in_shape=(1, 10, 9), kernel=(2, 3), pad=(0, 2), stride=(2, 1),
                        pool=(2, 1)),
}


@pytest.mark.parametrize("width", [1, 4])
@pytest.mark.parametrize("mode", ["ternary", "dense"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_counts_match_a_loop_over_steps(case, mode, width):
    g = CASES[case]
    rng = np.random.default_rng(sorted(CASES).index(case))
    shape = (3, g["in_shape"][0]) + g["kernel"]
    keep = rng.random(shape) < 0.5
    if mode == "ternary":
        w = np.where(keep, rng.choice([-1, 1], size=shape), 0)
    else:
        w = np.where(keep, rng.integers(1, 128, size=shape) * rng.choice([-1, 1], size=shape),
                     0)
    w[1] = 0                                    # a channel with no weight: no word counted
    layer = engine_layer(w, g["in_shape"], g["pad"], g["stride"], g["pool"], mode)
    want = loop_counts(w, g["in_shape"], g["pad"], g["stride"], g["pool"], mode, width)
    c = layer_counts(layer, width)
    assert c.width == width
    assert {k: getattr(c, k) for k in want} == want
    if case == "strided" or width == 1:
        assert c.steps == c.positions           # narrow: the old one position a word
    else:
        assert c.steps < c.positions


def test_hand_counted_padding_rows_and_columns():
    # One +1 weight (1x1 kernel) over a 3x5 map padded by 2: a 7x9 output. V = 4: each of
    # the 7 rows takes 3 steps (columns 0-3, 4-7, 8): 21 words. Only rows 2..4 lie in the
    # map; there columns 0-3 read input columns -2..1 and 4-7 read 2..5 (both touch the
    # map), column 8 reads input column 6 (padding): 3 rows x 2 steps = 6 reads.
    w = np.ones((1, 1, 1, 1), int)
    layer = engine_layer(w, (1, 3, 5), (2, 2), (1, 1), (1, 1), "ternary")
    c = layer_counts(layer, 4)
    assert (c.positions, c.steps, c.adds_plus, c.weight_words, c.act_reads, c.act_writes) \
        == (63, 21, 63, 21, 6, 63)
    # V = 1: 63 steps, the 15 positions inside the map read.
    c = layer_counts(layer, 1)
    assert (c.steps, c.weight_words, c.act_reads) == (63, 63, 15)

"""Plain-loop references of an engine layer and of its row bands.

:func:`reference_layer` writes a layer out with loops over windows (conv, epilogue, max
pooling), from its dense weights: it never sees the offset lists, the lane split or the
weight words, so it is what they must compute. :func:`band_reference` and
:func:`run_tiled` do the same band by band for a :class:`sw.mapping.tiling.TiledLayer`.
"""

import numpy as np

from ..mapping.hardware_layer import HardwareLayer
from ..spec import LayerMode
from .dual_scale import dual_scale

__all__ = ["reference_layer", "band_reference", "run_tiled"]


def reference_layer(layer, x):
    """The layer written out with plain loops: conv, epilogue, max pooling.

    ``x`` is the int8 input map (C_in, H, W); returns the int8 output (C_out, out_h, out_w).
    Independent of the offset lists and lane words: it is what they must compute.
    A row band (``layer.band``) has no whole-map meaning here: see
    :func:`sw.mapping.tiling.band_reference`.
    """
    if layer.band is not None:
        raise ValueError("reference_layer takes a whole layer; a band runs through "
                         "sw.mapping.tiling.band_reference")
    x = np.asarray(x, dtype=np.int64)
    c_out, c_in, kh, kw = layer.weights.shape
    ph, pw = layer.pad
    sh, sw = layer.stride
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
    ho, wo = layer.conv_shape
    p = np.zeros((c_out, ho, wo), dtype=np.int64)
    n = np.zeros((c_out, ho, wo), dtype=np.int64)
    for oy in range(ho):
        for ox in range(wo):
            window = xp[:, oy * sh:oy * sh + kh, ox * sw:ox * sw + kw]
            for c in range(c_out):
                wts = layer.weights[c]
                if layer.mode is LayerMode.TERNARY:
                    p[c, oy, ox] = window[wts == 1].sum()
                    n[c, oy, ox] = window[wts == -1].sum()
                else:
                    p[c, oy, ox] = (window * wts).sum()
    chan = np.arange(c_out)[:, None, None] * np.ones((1, ho, wo), dtype=np.int64)
    y = dual_scale(p, n, layer.params, channel=chan).astype(np.int64)
    qh, qw = layer.pool
    y = y[:, :layer.out_h * qh, :layer.out_w * qw]
    y = y.reshape(c_out, layer.out_h, qh, layer.out_w, qw).max(axis=(2, 4))
    return y.astype(np.int8)


def band_reference(band, x_band):
    """One band's output map from its input rows alone, written out with plain loops.

    The band's windows read rows ``band.first_y0()`` onward of ``x_band``; rows outside
    ``[0, H)`` of the band read as zeros (the engine skips those reads). The rows the windows
    span are gathered into a map with no row padding, and :func:`reference_layer` computes
    it: ``band.band[2]`` pooled rows.
    """
    if band.band is None:
        return reference_layer(band, x_band)
    x_band = np.asarray(x_band, dtype=np.int64)
    c_in, hb, w = band.in_shape
    _, _, kh, _ = band.weights.shape
    rows = band.band[2]
    span = (rows * band.pool[0] - 1) * band.stride[0] + kh
    top = band.first_y0()
    spanned = np.zeros((c_in, span, w), dtype=np.int64)
    lo, hi = max(top, 0), min(top + span, hb)
    if hi > lo:
        spanned[:, lo - top:hi - top] = x_band[:, lo:hi]
    flat = HardwareLayer(band.mode, band.weights, (c_in, span, w), band.stride,
                         (0, band.pad[1]), band.pool, band.params)
    return reference_layer(flat, spanned)


def run_tiled(tiled, x):
    """The whole layer's output, band by band: each band computed (:func:`band_reference`)
    from its input rows (or columns) only, and what it keeps put in place."""
    x = np.asarray(x, dtype=np.int64)
    if x.shape != tuple(tiled.in_shape):
        raise ValueError(f"input map of shape {x.shape}; the layer takes {tuple(tiled.in_shape)}")
    out = np.zeros(tiled.out_shape, dtype=np.int8)
    for k, band in enumerate(tiled.bands):
        tiled.put(out, k, band_reference(band, tiled.band_input(k, x)))
    return out

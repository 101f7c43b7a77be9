"""Bands: running a layer whose maps do not fit the engine's activation memory.

The engine reads a layer's whole input map from its activation memory and writes the whole
output map there. A layer whose input and output maps do not fit together runs instead in
*bands*: the host writes the input one band of outputs needs (every channel, with the halo
the kernel reads on either side), runs the band as a layer, reads the band's outputs back,
and assembles the output map.

Row bands (a 2D map). Every band of a layer has the same input height ``hb`` and computes
the same number of pooled output rows, so the weight words' offsets ``ci*hb*W + ky*W + kx``
and the lanes' split are the same for every band: the bands share one set of weight words,
channel tables and parameters in the :class:`~sw.mapping.engine_image.EngineImage`, and
their register images differ only in the lanes' ``y0`` and ``row``. The last band starts at
``out_h - rows`` and so may recompute rows of the band before it; the host keeps only the
new ones. Band boundaries fall on whole pooling windows, and the zero padding above the
first band and below the last needs nothing: the lanes skip reads outside the band's rows,
which are then exactly the reads outside the whole map.

Column bands (a conv1d map, ``H = 1``: its one row is the whole sequence). Every band has
the same input width and computes the same number of pooled output columns, as a plain
layer without padding: the host pads the map by the layer's ``pad_w`` zeros on either side
(:attr:`TiledLayer.host_pad`) and writes each band's columns of the padded map, so the
bands share words, tables, parameters and even their register images. The last band starts
at ``out_w - cols`` and the host keeps only the columns it has not read before.

:func:`plan_bands` picks the largest band that fits (fewest bands);
:func:`sw.golden.reference.run_tiled` runs the bands with plain-loop semantics.
"""

import dataclasses

import numpy as np

from ..spec import LayerMode
from .hardware_layer import MAX_DIM, HardwareLayer

__all__ = ["TiledLayer", "plan_bands", "ROWS", "COLUMNS"]

#: :attr:`TiledLayer.axis` of row bands and of column bands: the axis of a ``(C, H, W)`` map.
ROWS, COLUMNS = 1, 2


@dataclasses.dataclass
class TiledLayer:
    """A layer split into bands that each fit the activation memory.

    Attributes
    ----------
    name : str
        The program layer's name (or the one given to :func:`plan_bands`).
    in_shape, out_shape : tuple
        The whole layer's unpadded input ``(C_in, H, W)`` and output ``(C_out, out_h, out_w)``.
    bands : list of HardwareLayer
        One band layer each, all with the same ``in_base``, ``out_base``, input shape and
        output shape (row bands: ``band = (r0, a, rows)``; column bands: plain layers).
    in_ranges : list of (int, int)
        Input rows (row bands) or columns of the map padded by :attr:`host_pad` (column
        bands) ``[a, b)`` that each band reads; the host writes them, channel-major, at
        ``in_base``.
    out_ranges : list of (int, int)
        Pooled output rows or columns ``[r0, r1)`` of the whole map that each band computes
        into its output map at ``out_base``.
    keep : list of (int, int)
        Rows or columns ``[k0, k1)`` of each band's output map that the host keeps:
        whole-map ``[r0 + k0, r0 + k1)``, each output row or column kept exactly once.
    act_depth : int
        The activation memory the bands were sized for.
    axis : int
        :data:`ROWS` (1) or :data:`COLUMNS` (2): the map axis the bands split.
    host_pad : int
        Zero columns the host puts on either side of the input map before cutting column
        bands (the layer's ``pad_w``; 0 for row bands, whose padding the engine skips).
    """
    name: str
    in_shape: tuple
    out_shape: tuple
    bands: list
    in_ranges: list
    out_ranges: list
    keep: list
    act_depth: int
    axis: int = ROWS
    host_pad: int = 0

    @property
    def in_base(self):
        return self.bands[0].in_base

    @property
    def out_base(self):
        return self.bands[0].out_base

    @property
    def band_in_size(self):
        """Bytes of one band's input map."""
        return self.bands[0].in_size

    @property
    def band_out_size(self):
        """Bytes of one band's output map."""
        return self.bands[0].out_size

    @property
    def band_out_shape(self):
        """``(C_out, rows, cols)`` of one band's output map."""
        band = self.bands[0]
        return band.c_out, band.out_h, band.out_w

    def band_input(self, k, x):
        """Band ``k``'s input map from the whole unpadded input map ``x`` (C, H, W)."""
        a, b = self.in_ranges[k]
        x = np.asarray(x)
        if self.axis == COLUMNS:
            x = np.pad(x, ((0, 0), (0, 0), (self.host_pad, self.host_pad)))
            return np.ascontiguousarray(x[:, :, a:b])
        return np.ascontiguousarray(x[:, a:b, :])

    def writes_input(self, k):
        """Whether band ``k`` needs its input written: False when the band before it read
        the same input (a map whose whole input fits, with only its output banded)."""
        return k == 0 or self.in_ranges[k] != self.in_ranges[k - 1]

    def _kept(self, k):
        """The whole output map's index of what band ``k`` keeps, and the band map's."""
        r0, _ = self.out_ranges[k]
        k0, k1 = self.keep[k]
        if self.axis == COLUMNS:
            return np.s_[:, :, r0 + k0:r0 + k1], np.s_[:, :, k0:k1]
        return np.s_[:, r0 + k0:r0 + k1], np.s_[:, k0:k1]

    def put(self, out, k, y):
        """Put what band ``k`` keeps of its output map ``y`` into the whole map ``out``."""
        whole, band = self._kept(k)
        out[whole] = np.asarray(y).reshape(self.band_out_shape)[band]

    def read_runs(self, k):
        """What the host reads back after band ``k``: one run a channel of what it keeps,
        as ``(address, count, index)``; the run's ``count`` bytes are ``out[index]`` of
        the whole output map ``out``, in order."""
        c_out, rows, cols = self.band_out_shape
        r0, _ = self.out_ranges[k]
        k0, k1 = self.keep[k]
        if self.axis == COLUMNS:
            return [(self.out_base + c * cols + k0, k1 - k0, np.s_[c, 0, r0 + k0:r0 + k1])
                    for c in range(c_out)]
        return [(self.out_base + (c * rows + k0) * cols, (k1 - k0) * cols,
                 np.s_[c, r0 + k0:r0 + k1]) for c in range(c_out)]

    def link_bytes(self):
        """Bytes the host moves to run the bands: ``{"written": band inputs written,
        "read": kept outputs read back}``."""
        written = sum(self.band_in_size for k in range(len(self.bands)) if self.writes_input(k))
        read = sum(count for k in range(len(self.bands)) for _, count, _ in self.read_runs(k))
        return {"written": written, "read": read}


def _geometry(layer):
    """Mode, weights, shapes and epilogue of a HardwareLayer or a program EngineLayer."""
    if isinstance(layer, HardwareLayer):
        if layer.band is not None:
            raise ValueError("plan_bands takes a whole layer, not a band of one")
        return (layer.mode, layer.weights, tuple(layer.in_shape), tuple(layer.stride),
                tuple(layer.pad), tuple(layer.pool), layer.params)
    mode = LayerMode.TERNARY if layer.mode == "ternary" else LayerMode.DENSE
    return (mode, np.asarray(layer.weights(), dtype=np.int64), tuple(layer.in_shape),
            tuple(layer.stride), tuple(layer.pad), tuple(layer.pool), layer.epilogue)


def plan_bands(layer, act_depth, *, name=None, in_base=0, cols=None):
    """Split ``layer`` into the fewest bands whose input and output maps fit ``act_depth``
    bytes together, and whose maps the layer registers hold (at most
    :data:`~sw.mapping.hardware_layer.MAX_DIM` rows and columns): row bands, or column
    bands for a conv1d map (``H = 1``).

    Parameters
    ----------
    layer : HardwareLayer or sw.program.ir.EngineLayer
        The whole layer.
    act_depth : int
        Activation memory size in bytes.
    name : str, optional
        Name for messages (default: the program layer's ``name``).
    in_base : int
        Where each band's input map goes; its output map follows it.
    cols : int, optional
        Column bands of this many output columns (at most the fewest bands' and the map's),
        for layers that are to share one band shape; None: the fewest bands.

    Returns
    -------
    TiledLayer
        One band when the whole layer fits.

    Raises
    ------
    ValueError
        When even one pooled output row (one output column of a conv1d map) and the input
        it reads do not fit, naming the layer and the sizes.
    """
    mode, weights, in_shape, stride, pad, pool, params = _geometry(layer)
    name = name if name is not None else getattr(layer, "name", "layer")
    c_in, h, w = in_shape
    c_out, _, kh, kw = weights.shape
    (sh, sw), (ph, pw), (qh, qw) = stride, pad, pool
    out_h = ((h + 2 * ph - kh) // sh + 1) // qh
    out_w = ((w + 2 * pw - kw) // sw + 1) // qw
    if out_h < 1 or out_w < 1:
        raise ValueError(f"layer {name!r} has no output position")
    available = act_depth - in_base
    if c_in * h * w + c_out * out_h * out_w <= available and max(h, w) <= MAX_DIM:
        whole = HardwareLayer(mode, weights, in_shape, stride, pad, pool, params,
                              in_base=in_base, out_base=in_base + c_in * h * w)
        return TiledLayer(name, in_shape, (c_out, out_h, out_w), [whole], [(0, h)],
                          [(0, out_h)], [(0, out_h)], act_depth)
    if h == 1:
        return _column_bands(name, mode, weights, in_shape, stride, pad, pool, params,
                             act_depth, in_base, out_w, cols)

    def band_height(rows):
        # Input rows the windows of `rows` pooled rows span, never more than the map.
        return min(h, (rows * qh - 1) * sh + kh)

    def needs(rows):
        return c_in * band_height(rows) * w + c_out * rows * out_w

    if w > MAX_DIM:
        raise ValueError(f"layer {name!r}: a map {w} wide runs in row bands, whose width "
                         f"the layer registers hold up to {MAX_DIM}")
    fitting = [rows for rows in range(1, out_h + 1)
               if needs(rows) <= available and band_height(rows) <= MAX_DIM]
    if not fitting:
        hb = band_height(1)
        raise ValueError(
            f"layer {name!r} cannot be tiled into the {act_depth}-byte activation memory: "
            f"one output row needs {c_in * hb * w} input bytes ({c_in} channels x {hb} rows "
            f"x {w}) and {c_out * out_w} output bytes ({c_out} channels x {out_w}), "
            f"{needs(1)} bytes with {available} available")
    rows = _fewest_bands(out_h, max(fitting))
    hb = band_height(rows)
    bands, in_ranges, out_ranges, keep = [], [], [], []
    for r0, kept in _spans(out_h, rows):
        top = r0 * qh * sh - ph          # the band's first window's top input row
        a = min(max(top, 0), h - hb)
        bands.append(HardwareLayer(mode, weights, (c_in, hb, w), stride, pad, pool, params,
                                   in_base=in_base, out_base=in_base + c_in * hb * w,
                                   band=(r0, a, rows)))
        in_ranges.append((a, a + hb))
        out_ranges.append((r0, r0 + rows))
        keep.append(kept)
    return TiledLayer(name, in_shape, (c_out, out_h, out_w), bands, in_ranges, out_ranges,
                      keep, act_depth)


def _fewest_bands(total, most):
    """Rows (columns) a band for the fewest bands of at most ``most`` over ``total``; then
    the fewest a band, which recomputes the fewest."""
    return -(-total // -(-total // most))


def _spans(total, size):
    """``(first, kept)`` of each band of ``size`` over ``total`` rows (columns): band ``k``
    starts at ``min(k * size, total - size)`` and keeps ``kept = (k0, k1)`` of its own, what
    no band before it computed."""
    out, done = [], 0
    for k in range(-(-total // size)):
        first = min(k * size, total - size)
        if first + size <= done:
            continue
        out.append((first, (max(done - first, 0), size)))
        done = first + size
    return out


def _column_bands(name, mode, weights, in_shape, stride, pad, pool, params, act_depth,
                  in_base, out_w, cols=None):
    """Column bands of a conv1d layer (``H = 1``): plain layers on columns of the input map
    padded by ``pad_w`` on either side (see the module docstring)."""
    c_in, _, w = in_shape
    c_out, _, _, kw = weights.shape
    (_, sw), (_, pw), (_, qw) = stride, pad, pool
    available = act_depth - in_base

    def band_width(cols):
        # Padded input columns the windows of `cols` pooled columns span.
        return (cols * qw - 1) * sw + kw

    def needs(cols):
        return c_in * band_width(cols) + c_out * cols

    fitting = [cols for cols in range(1, out_w + 1)
               if needs(cols) <= available and band_width(cols) <= MAX_DIM]
    if not fitting:
        wb = band_width(1)
        raise ValueError(
            f"layer {name!r} cannot be tiled into the {act_depth}-byte activation memory: "
            f"one output column needs {c_in * wb} input bytes ({c_in} channels x {wb} "
            f"columns) and {c_out} output bytes ({c_out} channels), {needs(1)} bytes with "
            f"{available} available")
    if cols is None:
        cols = _fewest_bands(out_w, max(fitting))
    elif not 1 <= cols <= min(max(fitting), out_w):
        raise ValueError(f"layer {name!r}: bands of {cols} columns; from 1 to "
                         f"{min(max(fitting), out_w)} fit")
    wb = band_width(cols)
    band = HardwareLayer(mode, weights, (c_in, 1, wb), stride, (0, 0), pool, params,
                         in_base=in_base, out_base=in_base + c_in * wb)
    bands, in_ranges, out_ranges, keep = [], [], [], []
    for c0, kept in _spans(out_w, cols):
        a = c0 * qw * sw
        bands.append(dataclasses.replace(band))
        in_ranges.append((a, a + wb))
        out_ranges.append((c0, c0 + cols))
        keep.append(kept)
    return TiledLayer(name, in_shape, (c_out, 1, out_w), bands, in_ranges, out_ranges, keep,
                      act_depth, axis=COLUMNS, host_pad=pw)

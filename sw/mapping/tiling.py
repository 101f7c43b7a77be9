"""Row bands: running a layer whose maps do not fit the engine's activation memory.

The engine reads a layer's whole input map from its activation memory and writes the whole
output map there. A layer whose input and output maps do not fit together runs instead as
*row bands*: the host writes the input rows one band of output rows needs (every channel,
with the halo rows the kernel reads above and below), runs the band as a layer, reads the
band's output rows back, and assembles the output map.

Every band of a layer has the same input height ``hb`` and computes the same number of
pooled output rows, so the weight words' offsets ``ci*hb*W + ky*W + kx`` and the lanes'
split are the same for every band: the bands share one set of weight words, channel
tables and parameters in the :class:`~sw.mapping.engine_image.EngineImage`, and their
register images differ only in the lanes' ``y0`` and ``row``. The last band starts at
``out_h - rows`` and so may recompute rows of the band before it; the host keeps only the
new ones. Band boundaries fall on whole pooling windows, and the zero padding above the
first band and below the last needs nothing: the lanes skip reads outside the band's rows,
which are then exactly the reads outside the whole map.

:func:`plan_bands` picks the largest band that fits (fewest bands), :func:`run_tiled` runs
the bands with plain-loop semantics for the golden path.
"""

import dataclasses

import numpy as np

from ..spec import LayerMode
from .hardware_layer import HardwareLayer

__all__ = ["TiledLayer", "plan_bands"]


@dataclasses.dataclass
class TiledLayer:
    """A layer split into row bands that each fit the activation memory.

    Attributes
    ----------
    name : str
        The program layer's name (or the one given to :func:`plan_bands`).
    in_shape, out_shape : tuple
        The whole layer's unpadded input ``(C_in, H, W)`` and output ``(C_out, out_h, out_w)``.
    bands : list of HardwareLayer
        One band layer each (``band = (r0, a, rows)``), all with the same ``in_base``,
        ``out_base``, input height and output rows.
    in_rows : list of (int, int)
        Input rows ``[a, b)`` of the whole map that each band reads; the host writes them,
        channel-major, ``(C_in, b - a, W)`` at ``in_base``.
    out_rows : list of (int, int)
        Pooled output rows ``[r0, r1)`` of the whole map that each band computes into a
        ``(C_out, r1 - r0, out_w)`` map at ``out_base``.
    keep : list of (int, int)
        Rows ``[k0, k1)`` of each band's output map that the host keeps: whole-map rows
        ``[r0 + k0, r0 + k1)``, each output row kept exactly once.
    act_depth : int
        The activation memory the bands were sized for.
    """
    name: str
    in_shape: tuple
    out_shape: tuple
    bands: list
    in_rows: list
    out_rows: list
    keep: list
    act_depth: int

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

    def band_input(self, k, x):
        """Band ``k``'s input map: rows ``in_rows[k]`` of the whole map ``x`` (C, H, W)."""
        a, b = self.in_rows[k]
        return np.ascontiguousarray(np.asarray(x)[:, a:b, :])

    def writes_input(self, k):
        """Whether band ``k`` needs its input written: False when the band before it read
        the same rows (a map whose whole input fits, with only its output banded)."""
        return k == 0 or self.in_rows[k] != self.in_rows[k - 1]

    def read_runs(self, k):
        """What the host reads back after band ``k``: one run a channel of the rows it
        keeps, as ``(address, count, channel, first whole-map row)``; the run's ``count``
        bytes are output rows ``first ..`` of that channel, ``out_w`` bytes each."""
        c_out, _, out_w = self.out_shape
        r0, r1 = self.out_rows[k]
        k0, k1 = self.keep[k]
        return [(self.out_base + (c * (r1 - r0) + k0) * out_w, (k1 - k0) * out_w, c, r0 + k0)
                for c in range(c_out)]

    def link_bytes(self):
        """Bytes the host moves to run the bands: ``{"written": band inputs written,
        "read": kept output rows read back}``."""
        written = sum(self.band_in_size for k in range(len(self.bands)) if self.writes_input(k))
        c_out, _, out_w = self.out_shape
        read = sum(c_out * (k1 - k0) * out_w for k0, k1 in self.keep)
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


def plan_bands(layer, act_depth, *, name=None, in_base=0):
    """Split ``layer`` into the fewest row bands whose input and output maps fit
    ``act_depth`` bytes together.

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

    Returns
    -------
    TiledLayer
        One band when the whole layer fits.

    Raises
    ------
    ValueError
        When even one pooled output row and the input rows it reads do not fit, naming the
        layer and the sizes.
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

    def band_height(rows):
        # Input rows the windows of `rows` pooled rows span, never more than the map.
        return min(h, (rows * qh - 1) * sh + kh)

    def needs(rows):
        return c_in * band_height(rows) * w + c_out * rows * out_w

    if c_in * h * w + c_out * out_h * out_w <= available:
        whole = HardwareLayer(mode, weights, in_shape, stride, pad, pool, params,
                              in_base=in_base, out_base=in_base + c_in * h * w)
        return TiledLayer(name, in_shape, (c_out, out_h, out_w), [whole], [(0, h)],
                          [(0, out_h)], [(0, out_h)], act_depth)
    fitting = [rows for rows in range(1, out_h + 1) if needs(rows) <= available]
    if not fitting:
        hb = band_height(1)
        raise ValueError(
            f"layer {name!r} cannot be tiled into the {act_depth}-byte activation memory: "
            f"one output row needs {c_in * hb * w} input bytes ({c_in} channels x {hb} rows "
            f"x {w}) and {c_out * out_w} output bytes ({c_out} channels x {out_w}), "
            f"{needs(1)} bytes with {available} available")
    count = -(-out_h // max(fitting))
    # The fewest bands; then the fewest rows a band, which recomputes the fewest rows.
    rows = -(-out_h // count)
    hb = band_height(rows)
    bands, in_rows, out_rows, keep = [], [], [], []
    done = 0
    for k in range(count):
        r0 = min(k * rows, out_h - rows)
        if r0 + rows <= done:
            continue
        top = r0 * qh * sh - ph          # the band's first window's top input row
        a = min(max(top, 0), h - hb)
        bands.append(HardwareLayer(mode, weights, (c_in, hb, w), stride, pad, pool, params,
                                   in_base=in_base, out_base=in_base + c_in * hb * w,
                                   band=(r0, a, rows)))
        in_rows.append((a, a + hb))
        out_rows.append((r0, r0 + rows))
        keep.append((done - r0 if done > r0 else 0, rows))
        done = r0 + rows
    return TiledLayer(name, in_shape, (c_out, out_h, out_w), bands, in_rows, out_rows, keep,
                      act_depth)

"""What the engine counts for a program: adds, weight words, activation reads and writes.

The counts are per inference and independent of the schedule and the data: they follow
from each engine layer's nonzero weights and positions. The golden executor reports them
beside its outputs, the devices count the same events, and the energy accounting
(:mod:`sw.power.estimate`, the infer report) multiplies them by energies per event.
"""

import dataclasses

import numpy as np

from ..spec import LayerMode

__all__ = ["LayerCounts", "hardware_counts", "layer_counts", "program_counts"]


@dataclasses.dataclass
class LayerCounts:
    """What the engine counts for one layer and one inference.

    ``adds_plus``/``adds_minus``: one add per nonzero weight per position, padding included
    (dense layers: one mult-add per nonzero weight per position, all in ``adds_plus``);
    ``weight_words``: one word per nonzero weight per step (a step serves V positions on a
    wide layer, :meth:`~sw.mapping.hardware_layer.HardwareLayer.steps`); ``act_reads``: one
    wide read per nonzero weight per step with a position whose input pixel is inside the
    map; ``act_writes``: real output values after pooling (padding zeros excluded).
    ``positions``: the pre-pool positions the engine computes (inside a pooling window, see
    :attr:`sw.program.EngineLayer.positions`); ``steps``: its weight-word passes.
    """

    name: str
    mode: str
    width: int
    positions: int
    steps: int
    nnz: int
    nnz_plus: int
    nnz_minus: int
    adds_plus: int
    adds_minus: int
    weight_words: int
    act_reads: int
    act_writes: int
    out_channels: int

    @property
    def adds(self):
        return self.adds_plus + self.adds_minus

    def to_dict(self):
        d = dataclasses.asdict(self)
        d["adds"] = self.adds
        return d


def _reads(hw, width):
    """Wide activation reads of a layer (or a band of one): per nonzero weight and step,
    one if any of the step's positions reads inside the map."""
    _, h, w = hw.in_shape
    (sh, sw), (_, pw), (qh, qw) = hw.stride, hw.pad, hw.pool
    span, _ = hw.group_shape(width)
    wide = hw.is_wide(width)
    cols, dxs = (width, 1) if wide else (1, qw)
    oy = np.arange(hw.out_h * qh)                               # pre-pool rows
    starts = np.arange(0, hw.out_w, span)                       # groups' first pooled columns
    dx, v = np.arange(dxs), np.arange(cols)
    # Columns of each (group, dx) step: ox = j*qw + dx + v, computed while in a real window.
    ox = starts[:, None, None] * qw + dx[None, :, None] + v[None, None, :]
    valid = (starts[:, None, None] + (v[None, None, :] // qw if wide else 0)) < hw.out_w
    ox = ox.reshape(-1, cols)
    valid = np.broadcast_to(valid, (len(starts), dxs, cols)).reshape(-1, cols)
    _, ky, kx = np.nonzero(hw.weights.reshape(-1, *hw.weights.shape[2:]))
    pairs, mult = np.unique(np.stack([ky, kx], 1), axis=0, return_counts=True)
    total = 0
    for (a, b), count in zip(pairs, mult):
        y = hw.first_y0() + oy * sh + a
        rows_in = int(((y >= 0) & (y < h)).sum())
        x = ox * sw - pw + b
        cols_in = int((valid & (x >= 0) & (x < w)).any(axis=1).sum())
        total += int(count) * rows_in * cols_in
    return total


def hardware_counts(hw, width, name="", mode=""):
    """:class:`LayerCounts` of a :class:`~sw.mapping.hardware_layer.HardwareLayer` (a whole
    layer or one row band) on an engine of ``width`` (V)."""
    pos = hw.positions
    ternary = hw.mode is LayerMode.TERNARY
    nnz_p = int((hw.weights > 0).sum()) if ternary else int((hw.weights != 0).sum())
    nnz_m = int((hw.weights < 0).sum()) if ternary else 0
    steps = hw.steps(width)
    return LayerCounts(name=name, mode=mode, width=width, positions=pos, steps=steps,
                       nnz=nnz_p + nnz_m, nnz_plus=nnz_p, nnz_minus=nnz_m,
                       adds_plus=nnz_p * pos, adds_minus=nnz_m * pos,
                       weight_words=(nnz_p + nnz_m) * steps, act_reads=_reads(hw, width),
                       act_writes=hw.out_size, out_channels=hw.c_out)


def layer_counts(layer, width):
    """:class:`LayerCounts` of ``layer`` (an ``sw.program.ir.EngineLayer``) on an engine of
    ``width`` (V), per inference and independent of the data."""
    from .hardware_layer import HardwareLayer
    c = hardware_counts(HardwareLayer.from_program(layer, for_counts=True), width, layer.name,
                        layer.mode)
    if (c.nnz_plus, c.nnz_minus, c.positions) != (layer.nnz_plus, layer.nnz_minus,
                                                  layer.positions):
        raise ValueError(f"layer {layer.name!r}: its hardware form disagrees with the "
                         f"program's nonzero counts or positions")
    return c


def program_counts(program, width):
    """:func:`layer_counts` of every engine layer of ``program`` on an engine of ``width``."""
    return [layer_counts(layer, width) for layer in program.engine_layers]

"""What the engine counts for a program: adds, weight words, activation reads and writes.

The counts are per inference and independent of the schedule and the data: they follow
from each engine layer's nonzero weights and positions. The golden executor reports them
beside its outputs, the devices count the same events, and the energy accounting
(:mod:`sw.power.estimate`, the infer report) multiplies them by energies per event.
"""

import dataclasses

import numpy as np

__all__ = ["LayerCounts", "layer_counts", "program_counts"]


@dataclasses.dataclass
class LayerCounts:
    """What the engine counts for one layer and one inference.

    ``adds_plus``/``adds_minus``: one add per nonzero weight per position (dense layers:
    one mult-add per nonzero weight per position, all in ``adds_plus``); ``weight_words``:
    one word per nonzero weight per position; ``act_reads`` = adds; ``act_writes``: real
    output values after pooling (padding zeros excluded). ``positions``: the pre-pool
    positions the engine computes (inside a pooling window, see
    :attr:`sw.program.EngineLayer.positions`).
    """

    name: str
    mode: str
    positions: int
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


def layer_counts(layer):
    """:class:`LayerCounts` of ``layer`` (per inference, independent of the data)."""
    pos = layer.positions
    nnz_p, nnz_m = layer.nnz_plus, layer.nnz_minus
    adds_p, adds_m = nnz_p * pos, nnz_m * pos
    return LayerCounts(name=layer.name, mode=layer.mode, positions=pos, nnz=nnz_p + nnz_m,
                       nnz_plus=nnz_p, nnz_minus=nnz_m, adds_plus=adds_p, adds_minus=adds_m,
                       weight_words=(nnz_p + nnz_m) * pos, act_reads=adds_p + adds_m,
                       act_writes=int(np.prod(layer.out_shape)),
                       out_channels=layer.out_channels)


def program_counts(program):
    """:func:`layer_counts` of every engine layer of ``program``."""
    return [layer_counts(layer) for layer in program.engine_layers]

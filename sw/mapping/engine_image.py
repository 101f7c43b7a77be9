"""What the engine's memories and registers hold for a whole program.

An :class:`EngineImage` lays out consecutive :class:`~sw.mapping.hardware_layer.HardwareLayer`
objects for an engine with a given lane count: each lane's weight words and channel table
(every layer's, one after the other), the epilogue parameter memory (every layer's channels
one after the other), and per layer the values of the layer and lane configuration
registers. The RTL benches load it through the engine's write ports; the driver sends the
same contents over the link.

A :class:`~sw.mapping.tiling.TiledLayer` among the layers is laid out once (its bands share
its weight words, channel tables and parameters) and gets one register entry per band in
:attr:`EngineImage.layers`; :attr:`EngineImage.groups` says which entries belong to which
of the given layers.
"""

import dataclasses

from .. import spec
from .tiling import TiledLayer

__all__ = ["EngineImage"]


@dataclasses.dataclass
class EngineImage:
    lanes: int
    width: int
    words: list          # per lane: list of weight-word dicts
    channels: list       # per lane: channel table
    params: list         # parameter memory: dicts of PARAM_WORD_FIELDS
    layers: list         # per layer or band: {"hw": HardwareLayer, "cfg": dict, "lane_cfg": [dict],
                         #   "lanes": [...], "tiled": TiledLayer or None, "band": int or None}
    groups: list = None  # per given layer: the indices of its entries in ``layers``

    #: Speed given up, in turn, to copy fewer words into several lanes when they do not fit.
    TOLERANCES = (0.02, 0.05, 0.1, 0.25, float("inf"))

    @classmethod
    def build(cls, hw_layers, lanes, *, width, lane_words=None, act_depth=None,
              skip_zeros=True):
        """Lay out ``hw_layers`` for ``lanes`` lanes of ``width`` (V) positions a word
        (``skip_zeros=False``: a word for every
        weight, zeros included, as an engine without zero-skipping would walk them).

        Each of ``hw_layers`` is a HardwareLayer (one entry in :attr:`layers`) or a
        :class:`~sw.mapping.tiling.TiledLayer` (one entry per band, ``"tiled"`` and
        ``"band"`` set, every band walking the same words).

        When a lane's words would not fit ``lane_words``, layers are split again with
        fewer copies of their words (``HardwareLayer.lane_program``'s ``tolerance``), from
        2 % slower up to no copies at all.

        Raises
        ------
        ValueError
            When a lane's words, a channel table, the parameter memory or (given
            ``act_depth``) the activation memory would overflow, naming which and by how much.
        """
        for tolerance in cls.TOLERANCES:
            image = cls._build(hw_layers, lanes, width, skip_zeros, tolerance, act_depth)
            if lane_words is None or max(image.lane_words_used()) <= lane_words:
                break
        image.check(lane_words)
        return image

    @classmethod
    def _build(cls, hw_layers, lanes, width, skip_zeros, tolerance, act_depth):
        words = [[] for _ in range(lanes)]
        channels = [[] for _ in range(lanes)]
        params = []
        layers, groups = [], []
        laid_out = {}   # lane programs already in the memories -> each lane's bases
        for index, item in enumerate(hw_layers):
            tiled = item if isinstance(item, TiledLayer) else None
            bands = tiled.bands if tiled else None
            hw = bands[0] if tiled else item
            for band in bands or [hw]:
                band.param_base = len(params)
            lane_prog = hw.lane_program(lanes, width=width, skip_zeros=skip_zeros,
                                        tolerance=tolerance)
            # A layer with the weights and map shape of one laid out before (a layer
            # applied twice, in bands of one width) walks the same words and channels: it
            # reads those, and the memories hold them once. Its parameters are its own.
            key = (hw.mode, hw.weights.shape, hw.weights.tobytes(), tuple(hw.in_shape),
                   tuple(hw.stride), tuple(hw.pad), tuple(hw.pool))
            if key not in laid_out:
                laid_out[key] = [(len(words[k]) if lane["words"] else 0, len(channels[k]))
                                 for k, lane in enumerate(lane_prog)]
                for k, lane in enumerate(lane_prog):
                    words[k].extend(lane["words"])
                    channels[k].extend(lane["channels"])
            lane_cfg = [{**lane["cfg"], "word_base": word_base, "chan_base": chan_base}
                        for lane, (word_base, chan_base) in zip(lane_prog, laid_out[key])]
            entries = [{"hw": hw, "cfg": hw.config(width), "lane_cfg": lane_cfg, "lanes": lane_prog,
                        "tiled": tiled, "band": 0 if tiled else None}]
            for b, band in enumerate(bands[1:] if tiled else [], start=1):
                # Equal band heights and rows give every band the same words and the same
                # split: only the lanes' first rows (y0, row) move.
                prog = band.lane_program(lanes, width=width, skip_zeros=skip_zeros,
                                         tolerance=tolerance)
                if any(p["words"] != q["words"] or p["channels"] != q["channels"]
                       for p, q in zip(prog, lane_prog)):
                    raise ValueError(f"layer {index}: band {b} does not share band 0's words")
                entries.append({"hw": band, "cfg": band.config(width), "lanes": prog,
                                "lane_cfg": [{**p["cfg"], "word_base": c["word_base"],
                                              "chan_base": c["chan_base"]}
                                             for p, c in zip(prog, lane_cfg)],
                                "tiled": tiled, "band": b})
            p = hw.params
            chunks = [0] * hw.c_out
            for lane in lane_prog:
                for c in lane["channels"] if lane["partial"] else ():
                    chunks[c] += 1
            params.extend({"m_r": int(p.m_r[c]), "m_l": int(p.m_l[c]), "bias": int(p.bias[c]),
                           "shift": int(p.shift[c]), "chunks": chunks[c]}
                          for c in range(hw.c_out))
            groups.append(list(range(len(layers), len(layers) + len(entries))))
            layers.extend(entries)
            if act_depth is not None and max(hw.in_base + hw.in_size,
                                             hw.out_base + hw.out_size) > act_depth:
                raise ValueError(f"layer {index}: its maps end past the {act_depth}-byte "
                                 f"activation memory")
        return cls(lanes, width, words, channels, params, layers, groups)

    def check(self, lane_words=None):
        """Raise ValueError if the image overflows a memory of the engine."""
        most = max(self.lane_words_used())
        if lane_words is not None and most > lane_words:
            raise ValueError(f"a lane needs {most} weight words; the engine has {lane_words}")
        most = max(len(c) for c in self.channels)
        if most > spec.MAX_CHANNELS:
            raise ValueError(f"a lane's channel table needs {most} entries; the engine has "
                             f"{spec.MAX_CHANNELS}")
        if len(self.params) > 1 << spec.PARAM_ADDR_WIDTH:
            raise ValueError(f"the program has {len(self.params)} output channels; the "
                             f"parameter memory holds {1 << spec.PARAM_ADDR_WIDTH}")

    def lane_words_used(self):
        return [len(w) for w in self.words]

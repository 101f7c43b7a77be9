"""What the engine's memories and registers hold for a whole program.

An :class:`EngineImage` lays out consecutive :class:`~sw.golden.hardware_layer.HardwareLayer`
objects for an engine with a given lane count: each lane's weight words and channel table
(every layer's, one after the other), the epilogue parameter memory (every layer's channels
one after the other), and per layer the values of the layer and lane configuration
registers. The RTL benches load it through the engine's write ports; the driver sends the
same contents over the link.
"""

import dataclasses

from .. import spec

__all__ = ["EngineImage"]


@dataclasses.dataclass
class EngineImage:
    lanes: int
    words: list          # per lane: list of weight-word dicts
    channels: list       # per lane: channel table
    params: list         # parameter memory: dicts of PARAM_WORD_FIELDS
    layers: list         # per layer: {"hw": HardwareLayer, "cfg": dict, "lane_cfg": [dict], "lanes": [...]}

    @classmethod
    def build(cls, hw_layers, lanes, *, lane_words=None, act_depth=None, skip_zeros=True):
        """Lay out ``hw_layers`` for ``lanes`` lanes (``skip_zeros=False``: a word for every
        weight, zeros included, as an engine without zero-skipping would walk them).

        Raises
        ------
        ValueError
            When a lane's words, a channel table, the parameter memory or (given
            ``act_depth``) the activation memory would overflow, naming which and by how much.
        """
        words = [[] for _ in range(lanes)]
        channels = [[] for _ in range(lanes)]
        params = []
        layers = []
        for index, hw in enumerate(hw_layers):
            hw.param_base = len(params)
            lane_cfg, lane_prog = [], hw.lane_program(lanes, skip_zeros=skip_zeros)
            for k, lane in enumerate(lane_prog):
                lane_cfg.append({**lane["cfg"],
                                 "word_base": len(words[k]) if lane["words"] else 0,
                                 "chan_base": len(channels[k])})
                words[k].extend(lane["words"])
                channels[k].extend(lane["channels"])
            p = hw.params
            params.extend({"m_r": int(p.m_r[c]), "m_l": int(p.m_l[c]), "bias": int(p.bias[c]),
                           "shift": int(p.shift[c])} for c in range(hw.c_out))
            layers.append({"hw": hw, "cfg": hw.config(), "lane_cfg": lane_cfg, "lanes": lane_prog})
            if act_depth is not None and max(hw.in_base + hw.in_size,
                                             hw.out_base + hw.out_size) > act_depth:
                raise ValueError(f"layer {index}: its maps end past the {act_depth}-byte "
                                 f"activation memory")
        most = max(len(w) for w in words)
        if lane_words is not None and most > lane_words:
            raise ValueError(f"a lane needs {most} weight words; the engine has {lane_words}")
        most = max(len(c) for c in channels)
        if most > spec.MAX_CHANNELS:
            raise ValueError(f"a lane's channel table needs {most} entries; the engine has "
                             f"{spec.MAX_CHANNELS}")
        if len(params) > 1 << spec.PARAM_ADDR_WIDTH:
            raise ValueError(f"the program has {len(params)} output channels; the parameter "
                             f"memory holds {1 << spec.PARAM_ADDR_WIDTH}")
        return cls(lanes, words, channels, params, layers)

    def lane_words_used(self):
        return [len(w) for w in self.words]

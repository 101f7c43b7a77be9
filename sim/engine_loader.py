"""What the host writes into a :class:`hw.engine.LayerEngine` to run one layer.

Used by the amaranth.sim tests and the cocotb benches alike: a list of writes, each a
mapping of port name to value, to apply one per clock cycle.
"""

from sw import spec

__all__ = ["layer_writes", "lane_config_values"]


def layer_writes(layer, lanes, x, word_base=0):
    """Writes that load ``layer`` (an EngineLayer) for ``lanes`` lanes and its input ``x``.

    Returns ``(writes, lane_program)``; ``lane_program`` is ``layer.lane_program(...)``.
    """
    program = layer.lane_program(lanes, word_base=word_base)
    writes = []
    for k, lane in enumerate(program):
        for idx, word in enumerate(lane["words"]):
            writes.append({"word_lane": k, "word_addr": word_base + idx,
                           "word_data": spec.pack_fields(spec.WEIGHT_WORD_FIELDS, word),
                           "word_en": 1})
        for idx, chan in enumerate(lane["channels"]):
            writes.append({"word_lane": k, "chan_addr": lane["cfg"]["chan_base"] + idx,
                           "chan_data": chan, "chan_en": 1})
    params = layer.params
    for c in range(layer.c_out):
        writes.append({"param_addr": c, "param_en": 1, "param_data": spec.pack_fields(
            spec.PARAM_WORD_FIELDS, {"m_r": int(params.m_r[c]), "m_l": int(params.m_l[c]),
                                     "bias": int(params.bias[c]), "shift": int(params.shift[c])})})
    flat = [int(v) for v in x.reshape(-1)]
    for idx, v in enumerate(flat):
        writes.append({"act_w_addr": layer.in_base + idx, "act_w_data": v, "act_w_en": 1})
    return writes, program


def lane_config_values(program):
    """The ``lane_cfg`` port's value: a list of dicts, one a lane."""
    return [lane["cfg"] for lane in program]

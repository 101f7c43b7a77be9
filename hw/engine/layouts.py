"""Struct layouts shared by the engine's components, built from :mod:`sw.spec`."""

from amaranth.hdl import signed, unsigned
from amaranth.lib import data

from sw import spec

__all__ = ["fields_layout", "weight_word_layout", "param_word_layout", "layer_config_layout",
           "lane_config_layout", "lane_result_layout"]


def fields_layout(fields):
    """A :class:`~amaranth.lib.data.StructLayout` from a ``(name, width, signed)`` table."""
    return data.StructLayout({name: signed(width) if is_signed else unsigned(width)
                              for name, width, is_signed in fields})


weight_word_layout = fields_layout(spec.WEIGHT_WORD_FIELDS)
param_word_layout = fields_layout(spec.PARAM_WORD_FIELDS)

#: What every lane and the epilogue need to know of the layer being run.
layer_config_layout = fields_layout(spec.LAYER_CONFIG_FIELDS)


def lane_config_layout(word_addr_width):
    """One lane's share of the layer (:func:`sw.spec.lane_config_fields`)."""
    return fields_layout(spec.lane_config_fields(word_addr_width))


def lane_result_layout(width):
    """A lane's finished output values, the ``width`` columns of one step, on their way to
    the shared epilogue."""
    return data.StructLayout({
        "p": data.ArrayLayout(signed(spec.ACC_WIDTH), width),
        "n": data.ArrayLayout(signed(spec.ACC_WIDTH), width),
        "chan": unsigned(spec.CHAN_WIDTH),
        "i": unsigned(spec.DIM_WIDTH),      # pooled row
        "j": unsigned(spec.DIM_WIDTH),      # the group's first pooled column
        "first": unsigned(1),       # first step of its group: start the running maximum
        "last": unsigned(1),        # last step of its group: write the results
    })

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
layer_config_layout = data.StructLayout({
    "mode": unsigned(1),                    # sw.spec.LayerMode
    "h": unsigned(spec.DIM_WIDTH),          # input map height and width (unpadded)
    "w": unsigned(spec.DIM_WIDTH),
    "stride_h": unsigned(spec.KERNEL_WIDTH),
    "stride_w": unsigned(spec.KERNEL_WIDTH),
    "pad_h": unsigned(spec.KERNEL_WIDTH),
    "pad_w": unsigned(spec.KERNEL_WIDTH),
    "row_step": unsigned(spec.ACT_ADDR_WIDTH),   # stride_h * w
    "pool_h": unsigned(1),                  # 1: 2-row max pooling window
    "pool_w": unsigned(1),                  # 1: 2-column max pooling window
    "out_h": unsigned(spec.DIM_WIDTH),      # output rows and columns after pooling
    "out_w": unsigned(spec.DIM_WIDTH),
    "in_base": unsigned(spec.ACT_ADDR_WIDTH),
    "out_base": unsigned(spec.ACT_ADDR_WIDTH),
    "param_base": unsigned(spec.PARAM_ADDR_WIDTH),   # the layer's channel 0 in the parameter memory
    "act": unsigned(spec.ACT_MODE_WIDTH),
    "slope": unsigned(spec.SLOPE_WIDTH),
})


def lane_config_layout(word_addr_width):
    """One lane's share of the layer: its words (per position) and channels, and the run
    of pooling windows it computes them for, from window ``(i0, j0)`` in row-major order."""
    return data.StructLayout({
        "word_base": unsigned(word_addr_width),
        "n_words": unsigned(word_addr_width + 1),
        "chan_base": unsigned(spec.CHAN_WIDTH),
        "i0": unsigned(spec.DIM_WIDTH),
        "j0": unsigned(spec.DIM_WIDTH),
        "windows": unsigned(2 * spec.DIM_WIDTH),   # 0: the lane sits this layer out
        # The first position's top-left input pixel and its row address:
        # y0 = i0*pool_h*stride_h - pad_h, x0 = j0*pool_w*stride_w - pad_w, row = y0*w.
        "y0": signed(spec.DIM_WIDTH + spec.KERNEL_WIDTH + 2),
        "x0": signed(spec.DIM_WIDTH + spec.KERNEL_WIDTH + 2),
        "row": signed(spec.ACT_ADDR_WIDTH + 2),
    })


#: A lane's finished output value, on its way to the shared epilogue.
lane_result_layout = data.StructLayout({
    "p": signed(spec.ACC_WIDTH),
    "n": signed(spec.ACC_WIDTH),
    "chan": unsigned(spec.CHAN_WIDTH),
    "i": unsigned(spec.DIM_WIDTH),
    "j": unsigned(spec.DIM_WIDTH),
    "first": unsigned(1),       # first position of its pooling window
    "last": unsigned(1),        # last position of its pooling window: write the result
})

"""The stream of XADC conversions shared by the XADC reader, its model and the meter."""

from amaranth.lib import data, stream

from sw import spec

__all__ = ["CODE_WIDTH", "sample_layout", "sample_signature"]

#: Width of an XADC status-register code: the 12-bit result MSB-justified in 16 bits
#: (UG480, Chapter 3 "Status Registers").
CODE_WIDTH = 16


def sample_layout():
    """``{"channel": index into sw.spec.POWER_CHANNELS, "code": 16-bit XADC code}``."""
    return data.StructLayout({"channel": range(len(spec.POWER_CHANNELS)),
                              "code": CODE_WIDTH})


def sample_signature():
    """Stream signature of one conversion (``payload`` is :func:`sample_layout`)."""
    return stream.Signature(sample_layout())

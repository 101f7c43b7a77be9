"""Signatures of the engine's host ports that :mod:`amaranth.lib.memory` has no match for."""

from amaranth.lib import wiring
from amaranth.lib.wiring import In

__all__ = ["LaneWriteSignature"]


class LaneWriteSignature(wiring.Signature):
    """Signature of a write port into one of ``lanes`` memories of the same shape.

    The members of :class:`amaranth.lib.memory.WritePort.Signature` and ``lane``, which
    selects the memory that ``en`` writes. Like that signature it is seen from the side of
    the memories: the component that holds them has ``Out(LaneWriteSignature(...))`` and
    the one that writes them ``In(LaneWriteSignature(...))``, and
    :func:`amaranth.lib.wiring.connect` joins the two.

    Parameters
    ----------
    lanes : int
        Number of memories, at least 1.
    addr_width : int
        Width of the address port.
    shape : shape-like object
        Shape of the data port.

    Members
    -------
    lane : In(range(lanes))
        The memory written.
    en : In(1)
        Write enable.
    addr : In(addr_width)
        Address input.
    data : In(shape)
        Data input.
    """

    def __init__(self, *, lanes, addr_width, shape):
        if not isinstance(lanes, int) or lanes < 1:
            raise TypeError(f"Number of lanes must be a positive integer, not {lanes!r}")
        if not isinstance(addr_width, int) or addr_width < 0:
            raise TypeError(f"Address width must be a non-negative integer, not {addr_width!r}")
        self._lanes = lanes
        self._addr_width = addr_width
        self._shape = shape
        super().__init__({
            "lane": In(range(lanes)),
            "en": In(1),
            "addr": In(addr_width),
            "data": In(shape),
        })

    @property
    def lanes(self):
        return self._lanes

    @property
    def addr_width(self):
        return self._addr_width

    @property
    def shape(self):
        return self._shape

    def __eq__(self, other):
        return (type(self) is type(other) and
                self.lanes == other.lanes and
                self.addr_width == other.addr_width and
                self.shape == other.shape)

    def __repr__(self):
        return (f"LaneWriteSignature(lanes={self.lanes}, addr_width={self.addr_width}, "
                f"shape={self.shape})")

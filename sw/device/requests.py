"""Payloads of the WRITE and READ requests (sw/spec.py, ``Op``): what the driver sends and
what the benches send a device directly."""

from .. import spec
from ..spec import Mem

__all__ = ["MEM_HEADER_BYTES", "encode_words", "write_payload", "write_payloads",
           "read_payload"]

#: Bytes of a WRITE's or READ's header: mem, lane, addr (2).
MEM_HEADER_BYTES = 4


def encode_words(mem, words):
    """``words`` (ints; ACT: int8 values) as the bytes a WRITE of memory ``mem`` carries:
    each word little-endian in ``MEM_WORD_BYTES[mem]`` bytes, two's complement."""
    nbytes = spec.MEM_WORD_BYTES[Mem(mem)]
    mask = (1 << (8 * nbytes)) - 1
    return b"".join((int(w) & mask).to_bytes(nbytes, "little") for w in words)


def write_payload(mem, lane, addr, data):
    """A WRITE payload: the header, then ``data`` (already encoded words)."""
    return bytes([mem, lane]) + int(addr).to_bytes(2, "little") + bytes(data)


def write_payloads(mem, lane, addr, words, chunk_words):
    """WRITE payloads that load ``words`` from ``addr``, ``chunk_words`` words a frame."""
    data = encode_words(mem, words)
    nbytes = spec.MEM_WORD_BYTES[Mem(mem)]
    for pos in range(0, len(words), chunk_words):
        yield write_payload(mem, lane, addr + pos,
                            data[pos * nbytes:(pos + chunk_words) * nbytes])


def read_payload(addr, count, mem=Mem.ACT, lane=0):
    """A READ payload: ``count`` words of ``mem`` from ``addr`` (only ACT is readable)."""
    return (bytes([mem, lane]) + int(addr).to_bytes(2, "little")
            + int(count).to_bytes(2, "little"))

"""Block RAM read ports that synthesise to the bare block RAM, with no logic after it."""

from amaranth.hdl import Signal
from amaranth.lib.memory import Memory

__all__ = ["BLOCK_WORDS", "BYTE_BLOCK_WORDS", "block_ram", "block_rams", "check_block_words",
           "registered_read"]

#: Words of one block RAM at widths up to 36 bits: an ECP5 DP16KD and a 7-series RAMB18E1
#: are both 512 x 36. A memory deeper than this is several blocks, which the vendor tools
#: place apart (the ECP5's lie in rows across the die); see :func:`block_rams`.
BLOCK_WORDS = 512

#: The memory attribute with which yosys leaves a read and a write of the same address in
#: the same cycle undefined, as the block RAMs' ports are across each other. A synchronous
#: (non-transparent) read port promises the old data in that case, and yosys keeps the
#: promise with a saved copy of the write and a multiplexer after the block RAM: on the
#: ECP5 that multiplexer sat between the RAM's 5.8 ns clock-to-data and its register, the
#: critical path of the 82.1 MHz build (docs/build.md).
_NO_RW_CHECK = {"no_rw_check": 1}

#: Words of one block RAM at widths up to 9 bits (a byte): the same DP16KD and RAMB18E1,
#: as 2048 x 9.
BYTE_BLOCK_WORDS = 2048


def block_ram(*, shape, depth):
    """A :class:`~amaranth.lib.memory.Memory` of ``depth`` words whose read ports,
    made with :func:`registered_read`, need no collision logic.

    Only for memories where no read meets a write to its address in the same cycle:
    those written by the host while the engine is idle, and the activation memory, whose
    layers never read the region they write (``sw.mapping.hardware_layer`` places each
    output beside its input).
    """
    return Memory(shape=shape, depth=depth, init=[], attrs=_NO_RW_CHECK)


def check_block_words(block_words):
    """ValueError unless ``block_words`` is a power of two in ``[1, 65536]``."""
    if (not isinstance(block_words, int) or isinstance(block_words, bool)
            or not 1 <= block_words <= 1 << 16 or block_words & (block_words - 1)):
        raise ValueError(f"block_words = {block_words!r} is not a power of two in [1, 65536]")


def block_rams(*, shape, depth, block_words=BLOCK_WORDS):
    """:func:`block_ram` memories of ``block_words`` words each (the last holds the rest)
    that together hold ``depth`` words: word ``a`` is word ``a % block_words`` of block
    ``a // block_words``.

    Left to yosys, a deep memory becomes the same blocks with one multiplexer after them,
    into a register that can sit beside at most one of them: on the ECP5 the others'
    5.8 ns from clock to data plus the route across the die to it missed 100 MHz
    (docs/build.md). Split here, each block's data can be registered beside it before
    they are chosen.

    Parameters
    ----------
    shape : ShapeLike
    depth : int
    block_words : int
        A power of two.

    Returns
    -------
    list of Memory
    """
    check_block_words(block_words)
    return [block_ram(shape=shape, depth=min(block_words, depth - start))
            for start in range(0, depth, block_words)]


def registered_read(m, memory, addr, en=1, *, name):
    """Read ``memory`` at ``addr``; the data arrives in a register a cycle later.

    The read is asynchronous and the register is ours, so that yosys's ``memory_dff``
    folds the register into the block RAM's synchronous read port, honouring the memory's
    ``no_rw_check``. Simulation sees what a synchronous read port gives: the data before
    any write in the same cycle.

    Parameters
    ----------
    m : Module
    memory : Memory
        Made with :func:`block_ram`.
    addr : Value
    en : Value
        The register keeps its value when low (the block RAM's read enable).
    name : str
        The register's name.

    Returns
    -------
    Signal
        The word read, shaped as the memory's words.
    """
    port = memory.read_port(domain="comb")
    data = Signal(memory.shape, name=name)
    m.d.comb += port.addr.eq(addr)
    with m.If(en):
        m.d.sync += data.eq(port.data)
    return data

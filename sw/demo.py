"""``attq-fpga demo``: the main job on the bundled default, what ``scripts/demo`` runs.

It is ``attq-fpga infer`` on the bundled two-minute Doppler recording
(``data/example/tcd-example.wav``) with the bundled HITS program on the virtual board,
against the recording's truth, writing to ``runs/demo``; arguments after ``demo`` go to
``infer`` (for example ``--device golden`` where the virtual board cannot be built).
"""

import argparse
from pathlib import Path

__all__ = ["register", "run", "RECORDING", "OUT"]

ROOT = Path(__file__).resolve().parent.parent
#: The bundled recording (its truth CSV lies beside it).
RECORDING = ROOT / "data" / "example" / "tcd-example.wav"
#: Where the demo's results go.
OUT = Path("runs") / "demo"


def register(subparsers):
    """Add ``demo``."""
    parser = subparsers.add_parser(
        "demo", help="classify the bundled recording's HITS on the virtual board "
                     "(what scripts/demo runs); extra arguments go to infer",
        description="attq-fpga infer data/example/tcd-example.wav --device sim "
                    "--out runs/demo, followed by any arguments given here.")
    parser.add_argument("infer_args", nargs=argparse.REMAINDER, metavar="INFER_ARG",
                        help="arguments added to infer's (e.g. --device golden)")
    parser.set_defaults(func=run, extra_args="infer_args")   # sw.cli.parse_args


def run(args):
    from .cli import main
    return main(["infer", str(RECORDING), "--device", "sim", "--out", str(OUT),
                 *args.infer_args])

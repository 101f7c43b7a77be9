"""``attq-fpga demo``: the main job on the bundled default, what ``scripts/demo`` runs.

It is ``attq-fpga infer`` on the bundled two-minute Doppler recording
(``data/example/tcd-example.wav``) with the bundled HITS program on the virtual board,
against the recording's truth, writing to ``runs/demo`` (``report.html`` there is the
page to open); arguments after ``demo`` go to ``infer`` (for example ``--device golden``
where the virtual board cannot be built, which then replaces the virtual board).
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
    # infer takes --device several times (a folder over several devices), so the demo's
    # default device is given only when the user names none.
    named = any(a == "--device" or a.startswith("--device=") for a in args.infer_args)
    device = [] if named else ["--device", "sim"]
    return main(["infer", str(RECORDING), *device, "--out", str(OUT), *args.infer_args])

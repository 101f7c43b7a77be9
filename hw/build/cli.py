"""The command line of ``python -m hw.build`` (also ``attq-fpga board build``).

:func:`add_arguments` and :func:`run` are the one parser and the one build path; the
``attq-fpga board build`` sub-command (:mod:`sw.board`) uses them as they are. This module
imports no Amaranth, so both ``--help`` answer at once.
"""

import argparse
import sys
from pathlib import Path

from sw.errors import InputError

from .targets import TARGETS, get_target

__all__ = ["build_parser", "add_arguments", "run", "main", "DESCRIPTION"]

#: What the build does (the description of both commands' help).
DESCRIPTION = ("Build the board top: a bitstream where the tools are here, else the "
               "build archive and a utilization report.")


def build_parser():
    """The argument parser (board and variant are checked by :func:`get_target`)."""
    parser = argparse.ArgumentParser(prog="python -m hw.build", description=DESCRIPTION)
    add_arguments(parser)
    return parser


def add_arguments(parser):
    """Add the build's options to ``parser``."""
    variants = "; ".join(f"{board}: {', '.join(v)}" for board, v in TARGETS.items())
    parser.add_argument("--board", required=True, help=f"one of {', '.join(TARGETS)}")
    parser.add_argument("--variant", help=f"device variant ({variants}); default the first")
    parser.add_argument("--out", type=Path,
                        help="the tools' working folder (default build/BOARD_VARIANT)")
    parser.add_argument("--bitstreams", type=Path, default=None,
                        help="where kept outputs go (default bitstreams/ of the repository)")
    parser.add_argument("--results", type=Path, default=None,
                        help="where results/board_synth.{md,json} go (default results/)")


def main(argv=None):
    """Run the build; return the exit status (2 for a bad board or variant)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    return run(build_parser().parse_args(argv), argv)


def _argv(args):
    """The ``python -m hw.build`` arguments equivalent to the parsed ``args``."""
    argv = ["--board", args.board]
    for name in ("variant", "out", "bitstreams", "results"):
        if getattr(args, name) is not None:
            argv += [f"--{name}", str(getattr(args, name))]
    return argv


def run(args, argv=None, prog="python -m hw.build"):
    """Build what the parsed ``args`` (:func:`add_arguments`) name; return the exit status
    (2 for a bad board, variant or --out). ``argv``, recorded in the build's provenance,
    defaults to the ``python -m hw.build`` arguments equivalent to ``args``."""
    argv = _argv(args) if argv is None else list(argv)
    try:
        target = get_target(args.board, args.variant)
    except InputError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    from .flows import ROOT, build_trellis, build_vivado
    out = (args.out or ROOT / "build" / target.name).resolve()
    if out.exists() and not out.is_dir():
        print(f"{prog}: error: --out: {out} is a file; expected a folder", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    bitstreams = (args.bitstreams or ROOT / "bitstreams").resolve()
    results = (args.results or ROOT / "results").resolve()
    flow = build_vivado if target.flow == "vivado" else build_trellis
    return flow(target, out, bitstreams, results, argv)

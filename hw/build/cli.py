"""The command line of ``python -m hw.build``."""

import argparse
import sys
from pathlib import Path

from sw.errors import InputError

from .targets import TARGETS, get_target

__all__ = ["build_parser", "main"]


def build_parser():
    """The argument parser (board and variant are checked by :func:`get_target`)."""
    variants = "; ".join(f"{board}: {', '.join(v)}" for board, v in TARGETS.items())
    parser = argparse.ArgumentParser(
        prog="python -m hw.build",
        description="Build the board top: a bitstream where the tools are here, else the "
                    "build archive and a utilization report.")
    parser.add_argument("--board", required=True, help=f"one of {', '.join(TARGETS)}")
    parser.add_argument("--variant", help=f"device variant ({variants}); default the first")
    parser.add_argument("--out", type=Path,
                        help="the tools' working folder (default build/BOARD_VARIANT)")
    parser.add_argument("--bitstreams", type=Path, default=None,
                        help="where kept outputs go (default bitstreams/ of the repository)")
    parser.add_argument("--results", type=Path, default=None,
                        help="where results/board_synth.{md,json} go (default results/)")
    return parser


def main(argv=None):
    """Run the build; return the exit status (2 for a bad board or variant)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        target = get_target(args.board, args.variant)
    except InputError as exc:
        print(f"python -m hw.build: error: {exc}", file=sys.stderr)
        return 2
    from .flows import ROOT, build_trellis, build_vivado
    out = (args.out or ROOT / "build" / target.name).resolve()
    if out.exists() and not out.is_dir():
        print(f"python -m hw.build: error: --out: {out} is a file; expected a folder",
              file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    bitstreams = (args.bitstreams or ROOT / "bitstreams").resolve()
    results = (args.results or ROOT / "results").resolve()
    flow = build_vivado if target.flow == "vivado" else build_trellis
    return flow(target, out, bitstreams, results, argv)

"""The command line of ``python -m hw.build`` (also ``attq-fpga board build``).

:func:`add_arguments` and :func:`run` are the one parser and the one build path; the
``attq-fpga board build`` sub-command (:mod:`sw.board.command`) uses them as they are. This module
imports no Amaranth, so both ``--help`` answer at once.
"""

import argparse
import dataclasses
import sys
from pathlib import Path

from sw.arguments import positive_int
from sw.errors import InputError

from .targets import TARGETS, get_target

#: nextpnr's routers (``--router``).
ROUTERS = ("router1", "router2")

__all__ = ["build_parser", "add_arguments", "run", "main", "destinations", "Destinations",
           "DESCRIPTION", "RECORDS"]

#: What the build does (the description of both commands' help).
DESCRIPTION = ("Build the board top: a bitstream where the tools are here, else the "
               "build archive and a utilization report. Its records go under --out "
               "unless --update-records (docs/build.md).")

#: The folder under ``--out`` that takes the build's records by default.
RECORDS = "records"


def _engine(text):
    """``PxV`` (``8x4``) as ``(P, V)``."""
    try:
        lanes, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected PxV, e.g. 8x4; got {text!r}") from None
    if lanes < 1 or width < 1:
        raise argparse.ArgumentTypeError(f"expected P and V of at least 1; got {text!r}")
    return lanes, width


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
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="the tools' working folder (default build/BOARD_VARIANT, which "
                             f"git ignores); the build's records go to DIR/{RECORDS}/ "
                             "unless the options below send them elsewhere")
    parser.add_argument("--engine", type=_engine, default=None, metavar="PxV",
                        help="build the board with P lanes of width V instead of its own "
                             "engine, to measure that shape on the device (records under "
                             "the name BOARD_VARIANT_PxV; not with --update-records)")
    parser.add_argument("--seed", type=positive_int, default=None, metavar="N",
                        help="nextpnr's placement seed (ulx3s only; default nextpnr's "
                             "own): the same design placed differently, to judge a design "
                             "by more than one placement (docs/build.md)")
    parser.add_argument("--router", choices=ROUTERS, default=None,
                        help="nextpnr's router (ulx3s only; default nextpnr's own, "
                             "router1)")
    parser.add_argument("--update-records", action="store_true",
                        help="write the records into the repository's committed ones: "
                             "bitstreams/BOARD_VARIANT/ (BUILD.md, the bitstream or archive, "
                             "the reports) and results/board_synth.{md,json}")
    parser.add_argument("--bitstreams", type=Path, default=None, metavar="DIR",
                        help="write the board's records into DIR/BOARD_VARIANT/ (default "
                             f"OUT/{RECORDS}/, or bitstreams/ of the repository with "
                             "--update-records)")
    parser.add_argument("--results", type=Path, default=None, metavar="DIR",
                        help="write board_synth.{md,json} into DIR (default "
                             f"OUT/{RECORDS}/, or results/ of the repository with "
                             "--update-records)")


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
    if getattr(args, "engine", None) is not None:
        argv += ["--engine", "x".join(map(str, args.engine))]
    if getattr(args, "seed", None) is not None:
        argv += ["--seed", str(args.seed)]
    if getattr(args, "router", None) is not None:
        argv += ["--router", args.router]
    if getattr(args, "update_records", False):
        argv.append("--update-records")
    return argv


@dataclasses.dataclass(frozen=True)
class Destinations:
    """Where one build works and what it writes where (absolute paths).

    Attributes
    ----------
    out : Path
        The tools' working folder (``--out``).
    records : Path
        The board's records: ``BUILD.md``, the bitstream or build archive, the reports
        (``top.tim``, Vivado's, ``UTILIZATION.md``).
    results : Path
        The folder of ``board_synth.md`` and ``board_synth.json``.
    committed : bool
        ``records`` or ``results`` is a committed folder of the repository.
    """
    out: Path
    records: Path
    results: Path
    committed: bool


def destinations(args, target, root=None):
    """The :class:`Destinations` of the parsed ``args`` for ``target``; creates nothing.

    By default everything goes under ``--out`` (``build/BOARD_VARIANT`` of the repository,
    which git ignores): a build in a clone changes no tracked file. The committed records
    (``bitstreams/BOARD_VARIANT/``, ``results/board_synth.*``) are written only when asked,
    by ``--update-records``; ``--bitstreams``/``--results`` name a destination explicitly
    and win over both.

    Parameters
    ----------
    root : Path, optional
        The repository (default :data:`hw.build.flows.ROOT`).
    """
    if root is None:
        from .flows import ROOT as root
    root = Path(root)
    out = Path(args.out or root / "build" / target.label).resolve()
    update = getattr(args, "update_records", False)
    if args.bitstreams is not None:
        records = Path(args.bitstreams).resolve() / target.label
    else:
        records = (root / "bitstreams" / target.label) if update else out / RECORDS
    if args.results is not None:
        results = Path(args.results).resolve()
    else:
        results = (root / "results") if update else out / RECORDS
    records, results = records.resolve(), results.resolve()
    committed = any(p.is_relative_to((root / kept).resolve())
                    for p in (records, results) for kept in ("bitstreams", "results"))
    return Destinations(out, records, results, committed)


def run(args, argv=None, prog="python -m hw.build"):
    """Build what the parsed ``args`` (:func:`add_arguments`) name; return the exit status
    (2 for a bad board, variant, --out or destination: all checked before the tools run).
    ``argv``, recorded in the build's provenance, defaults to the ``python -m hw.build``
    arguments equivalent to ``args``."""
    from sw.atomic import check_output

    argv = _argv(args) if argv is None else list(argv)
    try:
        target = get_target(args.board, args.variant)
        engine = getattr(args, "engine", None)
        if engine is not None:
            own = target.config()
            if engine == (own.lanes, own.width):
                engine = None
            elif getattr(args, "update_records", False):
                raise InputError(f"--engine {engine[0]}x{engine[1]}: the committed records "
                                 f"are {target.name}'s own engine ({own.lanes}x{own.width}); "
                                 f"--update-records builds only that")
        if engine is not None:
            target = dataclasses.replace(target, engine=engine)
            try:
                target.config()
            except ValueError as exc:
                raise InputError(f"--engine {engine[0]}x{engine[1]}: {exc}") from None
        for option in ("seed", "router"):      # nextpnr's, so the open ECP5 flow's only
            value = getattr(args, option, None)
            if value is None:
                continue
            if target.flow != "trellis":
                raise InputError(f"--{option}: {target.name} is built with Vivado; the "
                                 f"{option} is nextpnr's (--board ulx3s)")
            target = dataclasses.replace(target, **{option: value})
        where = destinations(args, target)
        if where.out.exists() and not where.out.is_dir():
            raise InputError(f"--out: {where.out} is a file; expected a folder")
        # A destination that cannot be written would otherwise fail after the tools'
        # minutes (for the ULX3S, most of an hour) of work.
        check_output(where.out, what="--out", directory=True)
        check_output(where.records, what="--bitstreams" if args.bitstreams else
                     "the records folder", directory=True)
        check_output(where.results, what="--results" if args.results else
                     "the results folder", directory=True)
    except InputError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    from .flows import build_trellis, build_vivado
    where.out.mkdir(parents=True, exist_ok=True)
    flow = build_vivado if target.flow == "vivado" else build_trellis
    return flow(target, where, argv)

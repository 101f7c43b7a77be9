"""The ``attq-fpga`` command.

Each sub-command lives in its own module, which provides ``register(subparsers)``; that
function adds a parser whose ``func`` default runs the command and returns an exit
status. Modules import their heavy dependencies (torch, amaranth) inside ``func`` so that
``attq-fpga --help`` stays fast.
"""

import argparse
import importlib
import sys

from .errors import InputError

__all__ = ["main", "parse_args", "build_parser", "COMMAND_MODULES"]

#: Modules that register sub-commands, in the order ``--help`` lists them: the order the
#: data flows in (recordings -> data set -> trained model -> program -> inference on a
#: board), then the tools.
COMMAND_MODULES = (
    "sw.doppler.commands",      # recordings simulate|detect
    "sw.data.command",          # data check|make
    "sw.train.command",         # train
    "sw.experiments.cli",       # experiment table2|grid
    "sw.hessian",               # hessian
    "sw.compiler.command",      # compile
    "sw.interchange.command",   # export
    "sw.infer.command",         # infer
    "sw.board.command",         # board build|sim|check|calibrate
    "sw.doctor",                # doctor
    "sw.demo",                  # demo
)


def build_parser():
    """The ``attq-fpga`` parser; building it (and ``--help``) imports no torch or
    amaranth (tests/test_cli_help.py)."""
    parser = argparse.ArgumentParser(
        prog="attq-fpga",
        description="Ternary sparse (aTTQ) neural-network inference on FPGAs. The commands "
                    "follow the data: recordings -> data set -> train -> compile -> infer "
                    "on a board.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def parse_args(argv=None):
    """Parse ``argv``. A command whose parser sets the default ``extra_args`` (the name of
    a list attribute, e.g. ``demo``'s ``infer_args``) receives there the arguments it
    does not know, options included (argparse's REMAINDER alone does not take a leading
    ``--option``); for any other command they are an error, as with ``parse_args``."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        dest = getattr(args, "extra_args", None)
        if dest is None:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        setattr(args, dest, [*extra, *(getattr(args, dest, None) or [])])
    return args


def _os_error_text(exc):
    what = exc.strerror or str(exc)
    names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
    return f"{' -> '.join(names)}: {what}" if names else what


def main(argv=None):
    """Run the command line; return the exit status."""
    args = parse_args(argv)
    try:
        status = args.func(args)
    except InputError as exc:
        print(f"attq-fpga: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("attq-fpga: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        # The file system said no (full, read-only, gone) after the checks: one line,
        # naming the file; outputs are written atomically, so nothing is half-written.
        print(f"attq-fpga: error: {_os_error_text(exc)}", file=sys.stderr)
        return 1
    return 0 if status is None else int(status)


if __name__ == "__main__":
    sys.exit(main())

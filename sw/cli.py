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

__all__ = ["main", "COMMAND_MODULES"]

#: Modules that register sub-commands, in the order ``--help`` lists them.
COMMAND_MODULES = (
    "sw.doctor",
    "sw.board_sim",
    "sw.demo",
    "sw.data.command",
    "sw.doppler.commands",
    "sw.experiments.cli",
    "sw.hessian",
    "sw.compiler.command",
    "sw.infer.command",
)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="attq-fpga",
        description="Ternary sparse (aTTQ) neural-network inference on FPGAs.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv=None):
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status = args.func(args)
    except InputError as exc:
        print(f"attq-fpga: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("attq-fpga: interrupted", file=sys.stderr)
        return 130
    return 0 if status is None else int(status)


if __name__ == "__main__":
    sys.exit(main())

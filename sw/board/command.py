"""``attq-fpga board build|sim``: the board's build, and the virtual board.

``board build`` is ``python -m hw.build`` (both work): the same options and the same code,
:mod:`hw.build.cli`. ``board sim`` starts the virtual board and prints its ``socket://``
URL.
"""

__all__ = ["register", "run_build", "run_sim"]


def register(subparsers):
    """Add ``board`` with its actions ``build`` and ``sim``."""
    from hw.build.cli import DESCRIPTION, add_arguments

    group = subparsers.add_parser(
        "board", help="build the board's bitstream (python -m hw.build), or run the virtual "
                      "board",
        description="build: the board top's bitstream or build archive (the same as "
                    "`python -m hw.build`, docs/build.md). sim: the virtual board (the "
                    "device's RTL, verilated) behind a TCP socket (docs/device.md).")
    actions = group.add_subparsers(dest="board_command", required=True, metavar="ACTION")

    build = actions.add_parser(
        "build", help="build the board top: bitstream, or build archive and utilization "
                      "(= python -m hw.build)",
        description=DESCRIPTION + " The same as `python -m hw.build` with these options.")
    add_arguments(build)
    build.set_defaults(func=run_build)

    parser = actions.add_parser(
        "sim",
        help="run the virtual board (the device's RTL, verilated) behind a TCP socket",
        description="Builds (once) and runs the virtual board: the device's RTL verilated, "
                    "its UART bridged to a local TCP socket. Any host program reaches it "
                    "with pyserial's socket:// URL, e.g. `attq-fpga infer REC --device "
                    "socket://127.0.0.1:PORT`. Stop it with Ctrl-C.")
    parser.add_argument("--port", type=int, default=0,
                        help="TCP port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--divisor", type=int, default=None,
                        help="clock cycles per UART bit (default: the virtual board's, "
                             "see docs/virtual-board.md)")
    parser.add_argument("--build-only", action="store_true",
                        help="build the executable and exit")
    parser.set_defaults(func=run_sim)


def run_build(args):
    """``board build``: :func:`hw.build.cli.run`, the code of ``python -m hw.build``."""
    from hw.build.cli import run
    return run(args, prog="attq-fpga board build")


def run_sim(args):
    """``board sim``: run the virtual board until Ctrl-C or SIGTERM."""
    import signal
    import sys

    from hw.virtual.board import DEFAULT_DIVISOR, VirtualBoard, build_virtual_board

    from .errors import InputError

    divisor = args.divisor if args.divisor is not None else DEFAULT_DIVISOR
    if not 2 <= divisor <= 1000:
        raise InputError(f"--divisor {divisor}: expected clock cycles per UART bit in [2, 1000]")
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port {args.port}: expected a TCP port in [0, 65535]")
    if args.build_only:
        print(build_virtual_board(divisor=divisor))
        return 0
    board = VirtualBoard(port=args.port, divisor=divisor)
    print(f"virtual board listening on {board.url} (Ctrl-C to stop)", flush=True)
    try:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        board.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        board.close()
    return 0

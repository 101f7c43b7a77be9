"""``attq-fpga board-sim``: start the virtual board and print its ``socket://`` URL."""

__all__ = ["register", "run"]


def register(subparsers):
    parser = subparsers.add_parser(
        "board-sim",
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
    parser.set_defaults(func=run)


def run(args):
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

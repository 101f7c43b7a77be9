"""``attq-fpga board build|sim|check|calibrate``: the board's build, the virtual board, the
first test of a device, and the calibration of its power sense channels.

``board build`` is ``python -m hw.build`` (both work): the same options and the same code,
:mod:`hw.build.cli`. ``board sim`` starts the virtual board and prints its ``socket://``
URL. ``board check`` runs :func:`sw.board.check.check_device` on a device, prints its
table and writes its JSON record; ``board calibrate`` is :func:`sw.board.calibrate.calibrate`.
"""

from pathlib import Path

__all__ = ["register", "run_build", "run_sim", "run_check", "run_calibrate"]


def register(subparsers):
    """Add ``board`` with its actions ``build``, ``sim``, ``check`` and ``calibrate``."""
    from hw.build.cli import DESCRIPTION, add_arguments

    from ..arguments import positive_float, positive_int

    group = subparsers.add_parser(
        "board", help="build the board's bitstream (python -m hw.build), run the virtual "
                      "board, check a device, calibrate its power sensing",
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

    check = actions.add_parser(
        "check", help="test a device: handshake, memories, programs against the golden "
                      "models, link error rate, XADC",
        description="Runs five checks on a device and prints one table: the handshake "
                    "(HELLO against the board's build), the memories (the activation "
                    "memory written and read back with patterns; the depths of the "
                    "write-only ones), the bundled programs against the golden executor "
                    "and golden device (outputs, cycles, counters), the link's frame error "
                    "rate over many frames, and the XADC (VCCINT and the die temperature "
                    "in range, no stuck channel). Writes DIR/board_check.json; exit "
                    "status 1 on any failure (docs/device.md, 'board check').")
    check.add_argument("--device", default="sim",
                       help="sim (a virtual board, default), golden, "
                            "serial:///dev/ttyUSB1 (the board), socket://HOST:PORT")
    check.add_argument("--baud", type=positive_int, default=None,
                       help="UART baud of a serial:// device (default: its build's)")
    check.add_argument("--model", action="append", default=None, metavar="PROGRAM",
                       help="a compiled program (.attq) to run instead of the bundled ones "
                            "(repeat for several)")
    check.add_argument("--inputs", type=positive_int, default=2,
                       help="seeded inputs per program (default 2)")
    check.add_argument("--frames", type=positive_int, default=200,
                       help="frames of the link test (default 200)")
    check.add_argument("--max-frame-error-rate", type=float, default=0.001,
                       help="largest fraction of link frames that may need resending "
                            "(default 0.001)")
    check.add_argument("--vccint-range", type=float, nargs=2, metavar=("LO", "HI"),
                       default=None, help="plausible VCCINT in volts (default 0.92 1.05)")
    check.add_argument("--temperature-range", type=float, nargs=2, metavar=("LO", "HI"),
                       default=None,
                       help="plausible die temperature in degrees C (default 5 85)")
    check.add_argument("--seed", type=int, default=0, help="seed of patterns and inputs")
    check.add_argument("--link-faults", type=float, nargs=2, metavar=("DROP", "CORRUPT"),
                       default=None,
                       help="fault injection: drop / corrupt these fractions of the link's "
                            "bytes in each direction (seeded by --seed)")
    check.add_argument("--link-timeout", type=float, default=None, metavar="SECONDS",
                       help="a request's time-out (default 0.5 s; 5 s on the virtual board)")
    check.add_argument("--out", default="runs/board-check",
                       help="folder of board_check.json (default runs/board-check)")
    check.set_defaults(func=run_check)

    cal = actions.add_parser(
        "calibrate", help="measure the Arty A7's power sense factors (interactive, "
                          "resumable)",
        description="Walks through docs/power.md's calibration (A: 5 V input voltage, B: "
                    "5 V input current, C: VCCINT current, C3: the cross-check): for each "
                    "point it asks for a condition to be set, reads the XADC, and asks for "
                    "the reference instrument's reading. Fits the factors, refuses "
                    "implausible ones, and writes the calibration file atomically. Every "
                    "answer is kept in the session file: run the same command again to go "
                    "on after an interruption.")
    cal.add_argument("--device", required=True,
                     help="the board: serial:///dev/ttyUSB1 (or socket://HOST:PORT)")
    cal.add_argument("--baud", type=positive_int, default=None,
                     help="UART baud (default: the build's)")
    cal.add_argument("--file", default=None,
                     help="calibration file to update (default calibration/arty_a7_power.json)")
    cal.add_argument("--session", default="runs/calibrate/session.json",
                     help="where answers are kept until the file is written (default "
                          "runs/calibrate/session.json)")
    cal.add_argument("--groups", nargs="+", choices=("A", "B", "C"), default=["A", "B", "C"],
                     help="groups to measure (default A B C; C3 needs A and B)")
    cal.add_argument("--points", type=positive_int, default=3,
                     help="points per group (default 3, at least 2)")
    cal.add_argument("--window", type=positive_float, default=1.0, metavar="SECONDS",
                     help="idle seconds each XADC reading averages (default 1)")
    cal.add_argument("--restart", action="store_true",
                     help="discard the session's answers and start again")
    cal.set_defaults(func=run_calibrate)


def run_build(args):
    """``board build``: :func:`hw.build.cli.run`, the code of ``python -m hw.build``."""
    from hw.build.cli import run
    return run(args, prog="attq-fpga board build")


def run_sim(args):
    """``board sim``: run the virtual board until Ctrl-C or SIGTERM."""
    import signal
    import sys

    from hw.virtual.board import DEFAULT_DIVISOR, VirtualBoard, build_virtual_board

    from ..errors import InputError

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


def _open(args):
    from ..device import open_device
    from ..errors import InputError

    sizes = {"baud": args.baud} if args.baud is not None else {}
    if args.baud is not None and not args.device.startswith("serial://"):
        raise InputError(f"--baud: only for a serial:// device, not {args.device}")
    try:
        return open_device(args.device, timeout=getattr(args, "link_timeout", None), **sizes)
    except NotImplementedError as exc:
        raise OSError(str(exc)) from None


def run_check(args):
    """``board check``: the five checks, the table, ``board_check.json``; 1 on any fail."""
    import datetime
    import sys

    from ..atomic import check_output, write_text
    from ..device import FaultProxy, check_device_string
    from ..errors import InputError
    from ..infer.pipeline import check_run_options
    from ..infer.report import json_text
    from ..program.file import load
    from ..results import machine
    from .check import (BUNDLED_PROGRAMS, TEMPERATURE_RANGE_C, VCCINT_RANGE_V, check_device,
                        table_text)

    check_device_string(args.device)
    if not 0 <= args.max_frame_error_rate <= 1:
        raise InputError(f"--max-frame-error-rate {args.max_frame_error_rate}: expected a "
                         f"fraction in [0, 1]")
    vrange = tuple(args.vccint_range) if args.vccint_range else VCCINT_RANGE_V
    if not 0 < vrange[0] < vrange[1]:
        raise InputError(f"--vccint-range {vrange[0]} {vrange[1]}: expected 0 < LO < HI")
    trange = tuple(args.temperature_range) if args.temperature_range else TEMPERATURE_RANGE_C
    if not -273.15 < trange[0] < trange[1]:
        raise InputError(f"--temperature-range {trange[0]} {trange[1]}: expected degrees "
                         f"Celsius with LO < HI")
    check_run_options(args)
    programs = [Path(p) for p in args.model] if args.model else list(BUNDLED_PROGRAMS)
    for path in programs:
        load(path)                    # a bad program is refused before the device opens
    out = Path(args.out)
    check_output(out, what=f"--out {out}", directory=True)

    driver = _open(args)
    try:
        if args.link_faults is not None:
            driver.port = FaultProxy(driver.port, *args.link_faults, seed=args.seed)

        def show(check):
            print(f"[board check] {check.name}: {check.status.upper()} ({check.seconds:.1f} s)",
                  flush=True)

        checks = check_device(driver, programs=programs, inputs=args.inputs,
                              frames=args.frames, seed=args.seed,
                              max_frame_error_rate=args.max_frame_error_rate,
                              vccint_range=vrange, temperature_range=trange,
                              on_check=show)
    finally:
        driver.close()
    failed = [c.name for c in checks if c.status == "fail"]
    record = {"command": "attq-fpga board check", "argv": sys.argv[1:],
              "machine": machine(),
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "device": args.device, "result": "fail" if failed else "pass",
              "checks": [{"name": c.name, "status": c.status, "detail": c.detail,
                          "seconds": round(c.seconds, 3), "data": c.data} for c in checks]}
    write_text(out / "board_check.json", json_text(record))
    print(table_text(checks), end="")
    print(f"[board check] {'FAILED: ' + ', '.join(failed) if failed else 'all checks passed'}; "
          f"wrote {out / 'board_check.json'}")
    return 1 if failed else 0


def run_calibrate(args):
    """``board calibrate``: the interactive calibration."""
    from ..atomic import check_output
    from ..device import check_device_string
    from ..power.xadc_scale import DEFAULT_CALIBRATION, load_calibration
    from .calibrate import Session, calibrate

    check_device_string(args.device)
    if args.points < 2:
        from ..errors import InputError
        raise InputError(f"--points {args.points}: a line needs at least 2 points")
    path = Path(args.file) if args.file else DEFAULT_CALIBRATION
    load_calibration(path)
    check_output(args.session, what=f"--session {args.session}")
    check_output(path, what=f"--file {path}")
    session = Session.open(args.session, restart=args.restart)
    driver = _open(args)
    try:
        fits = calibrate(driver, calibration_path=path, session=session, points=args.points,
                         window_s=args.window, groups=tuple(dict.fromkeys(args.groups)))
    finally:
        driver.close()
    print(f"[calibrate] wrote {path}: " + ", ".join(
        f"group {k} gain {f['gain']:.5g}" for k, f in fits.items()))
    return 0

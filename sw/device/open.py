"""Open a device from a short string: ``golden``, ``serial:///dev/ttyUSB1``,
``socket://host:port`` or ``sim``."""

from ..errors import InputError
from ..golden.device import GoldenDevice
from ..mapping.boards import board_config
from .driver import Driver

__all__ = ["open_device", "check_device_string", "default_sizes", "DEVICE_FORMS"]

#: The forms ``open_device`` takes, for messages and ``--help``.
DEVICE_FORMS = ("golden", "serial:///dev/ttyUSB1", "socket://HOST:PORT", "sim")


def check_device_string(spec_str):
    """InputError unless ``spec_str`` has one of the :data:`DEVICE_FORMS` (nothing is
    opened: a command checks this before its long work)."""
    if spec_str in ("golden", "sim"):
        return
    for prefix, example in (("serial://", "serial:///dev/ttyUSB1"),
                            ("socket://", "socket://127.0.0.1:7777")):
        if spec_str.startswith(prefix):
            rest = spec_str[len(prefix):]
            if not rest:
                raise InputError(f"--device {spec_str}: nothing after {prefix} (expected "
                                 f"e.g. {example})")
            if prefix == "socket://":
                host, _, port = rest.rpartition(":")
                if not host or not port.isdigit() or not 0 < int(port) < 65536:
                    raise InputError(f"--device {spec_str}: expected HOST:PORT after "
                                     f"socket:// with a port in [1, 65535] (e.g. {example})")
            return
    raise InputError(f"--device {spec_str}: expected one of {', '.join(DEVICE_FORMS)}")


def default_sizes():
    """Engine sizes, clock and baud of the default board (:data:`sw.mapping.boards.DEFAULT_BOARD`)."""
    cfg = board_config()
    return {"lanes": cfg.lanes, "width": cfg.width, "lane_words": cfg.lane_words,
            "act_depth": cfg.act_depth,
            "config_depth": cfg.config_depth, "clk_hz": cfg.clk_hz, "baud": cfg.baud}


#: A request's time-out (s) by default, and on the virtual board, whose simulation runs far
#: slower than the clock its HELLO announces.
DEFAULT_TIMEOUT_S = 0.5
SIM_TIMEOUT_S = 5.0


def open_device(spec_str, *, timeout=None, retries=12, run_margin=2.0, **sizes):
    """A :class:`~sw.device.driver.Driver` for the device ``spec_str`` names.

    Parameters
    ----------
    spec_str : str
        ``"golden"``: a :class:`GoldenDevice` with the Arty A7-35T's sizes (or ``sizes``);
        ``"serial:///dev/ttyUSB1"``: the board's UART at its baud (``sizes["baud"]``
        overrides it); ``"socket://host:port"``: pyserial's socket URL (the virtual board);
        ``"sim"``: a virtual board (``hw.virtual.board.VirtualBoard``, built once),
        started for this driver and stopped by its ``close``.
    timeout : float, optional
        A request's time-out: :data:`DEFAULT_TIMEOUT_S`, on ``"sim"``
        :data:`SIM_TIMEOUT_S`, unless given.
    retries, run_margin : see :class:`Driver`.
    sizes : int
        GoldenDevice parameters (``lanes``, ``lane_words``, ``act_depth``, ...), and
        ``baud`` for a serial port.

    Raises
    ------
    sw.errors.InputError
        For a string of no known form, naming the forms.
    OSError
        From pyserial when the port cannot be opened.
    NotImplementedError
        For ``"sim"`` where the virtual board cannot be imported.
    """
    check_device_string(spec_str)
    board = default_sizes()
    sim_timeout = SIM_TIMEOUT_S if timeout is None else timeout
    timeout = DEFAULT_TIMEOUT_S if timeout is None else timeout
    if spec_str == "golden":
        dev = GoldenDevice(**{**board, **sizes})
        return Driver(dev, timeout=timeout, retries=retries, baud=dev.baud, clk_hz=dev.clk_hz,
                      run_margin=run_margin)
    if spec_str == "sim":
        import serial
        try:
            from hw.virtual.board import VirtualBoard
        except ImportError as exc:
            raise NotImplementedError(
                f"--device sim: the virtual board is not available here ({exc}); start one "
                f"with `attq-fpga board sim` and use --device socket://127.0.0.1:PORT") from None
        vboard = VirtualBoard()
        try:
            port = serial.serial_for_url(vboard.url, timeout=0.005)
        except BaseException:
            vboard.close()
            raise
        # A simulation runs far slower than the clock its HELLO announces: give every
        # RUN a generous margin (a RUN of the HITS model is ~150,000 cycles).
        drv = Driver(port, timeout=sim_timeout, retries=retries, baud=board["baud"],
                     clk_hz=board["clk_hz"], run_margin=max(run_margin, 1000.0))
        drv.on_close.append(vboard.close)
        return drv
    if spec_str.startswith("serial://"):
        import serial
        path = spec_str[len("serial://"):]
        baud = int(sizes.get("baud", board["baud"]))
        port = serial.Serial(path, baudrate=baud, timeout=0.005)
        return Driver(port, timeout=timeout, retries=retries, baud=baud,
                      clk_hz=board["clk_hz"], run_margin=run_margin)
    if spec_str.startswith("socket://"):
        import serial
        port = serial.serial_for_url(spec_str, timeout=0.005)
        return Driver(port, timeout=timeout, retries=retries, baud=board["baud"],
                      clk_hz=board["clk_hz"], run_margin=run_margin)
    raise AssertionError(spec_str)      # check_device_string knows every form

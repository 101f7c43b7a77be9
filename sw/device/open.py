"""Open a device from a short string: ``golden``, ``serial:///dev/ttyUSB1``,
``socket://host:port`` or ``sim``."""

from ..errors import InputError
from ..golden.device import GoldenDevice
from ..mapping.boards import board_config
from .driver import Driver

__all__ = ["open_device", "default_sizes", "DEVICE_FORMS"]

#: The forms ``open_device`` takes, for messages and ``--help``.
DEVICE_FORMS = ("golden", "serial:///dev/ttyUSB1", "socket://HOST:PORT", "sim")


def default_sizes():
    """Engine sizes, clock and baud of the default board (:data:`sw.mapping.boards.DEFAULT_BOARD`)."""
    cfg = board_config()
    return {"lanes": cfg.lanes, "width": cfg.width, "lane_words": cfg.lane_words,
            "act_depth": cfg.act_depth,
            "config_depth": cfg.config_depth, "clk_hz": cfg.clk_hz, "baud": cfg.baud}


def open_device(spec_str, *, timeout=0.5, retries=12, run_margin=2.0, **sizes):
    """A :class:`~sw.device.driver.Driver` for the device ``spec_str`` names.

    Parameters
    ----------
    spec_str : str
        ``"golden"``: a :class:`GoldenDevice` with the Arty A7-35T's sizes (or ``sizes``);
        ``"serial:///dev/ttyUSB1"``: the board's UART at its baud (``sizes["baud"]``
        overrides it); ``"socket://host:port"``: pyserial's socket URL (the virtual board);
        ``"sim"``: a virtual board (``hw.virtual.board.VirtualBoard``, built once),
        started for this driver and stopped by its ``close``.
    timeout, retries, run_margin : see :class:`Driver`.
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
    board = default_sizes()
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
        # request a generous margin (a RUN of the HITS model is ~150,000 cycles).
        drv = Driver(port, timeout=max(timeout, 5.0), retries=retries, baud=board["baud"],
                     clk_hz=board["clk_hz"], run_margin=max(run_margin, 1000.0))
        drv.on_close.append(vboard.close)
        return drv
    if spec_str.startswith("serial://"):
        import serial
        path = spec_str[len("serial://"):]
        if not path:
            raise InputError(f"device {spec_str!r}: no port after serial:// (expected e.g. "
                             f"serial:///dev/ttyUSB1)")
        baud = int(sizes.get("baud", board["baud"]))
        port = serial.Serial(path, baudrate=baud, timeout=0.005)
        return Driver(port, timeout=timeout, retries=retries, baud=baud,
                      clk_hz=board["clk_hz"], run_margin=run_margin)
    if spec_str.startswith("socket://"):
        import serial
        port = serial.serial_for_url(spec_str, timeout=0.005)
        return Driver(port, timeout=timeout, retries=retries, baud=board["baud"],
                      clk_hz=board["clk_hz"], run_margin=run_margin)
    raise InputError(f"device {spec_str!r}: expected one of {', '.join(DEVICE_FORMS)}")

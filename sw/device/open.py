"""Open a device from a short string: ``golden``, ``serial:///dev/ttyUSB1``,
``socket://host:port`` or ``sim``."""

from ..errors import InputError
from .driver import Driver
from .golden_device import GoldenDevice

__all__ = ["open_device", "arty_a7_35t_sizes", "DEVICE_FORMS"]

#: The forms ``open_device`` takes, for messages and ``--help``.
DEVICE_FORMS = ("golden", "serial:///dev/ttyUSB1", "socket://HOST:PORT", "sim")


def arty_a7_35t_sizes():
    """Engine sizes, clock and baud of the Arty A7-35T build."""
    try:
        from hw.board.configs import board_config
        cfg = board_config("arty_a7_35t")
        return {"lanes": cfg.lanes, "lane_words": cfg.lane_words, "act_depth": cfg.act_depth,
                "config_depth": cfg.config_depth, "clk_hz": cfg.clk_hz, "baud": cfg.baud}
    except ImportError:
        # The engine's own sizes; the board's clock and its exact UART rate (100 MHz / 25).
        from hw.engine.layer_engine import ARTY_A7_35T
        return {**ARTY_A7_35T, "config_depth": 1024, "clk_hz": 100_000_000,
                "baud": 4_000_000}


def open_device(spec_str, *, timeout=0.5, retries=12, **sizes):
    """A :class:`~sw.device.driver.Driver` for the device ``spec_str`` names.

    Parameters
    ----------
    spec_str : str
        ``"golden"``: a :class:`GoldenDevice` with the Arty A7-35T's sizes (or ``sizes``);
        ``"serial:///dev/ttyUSB1"``: the board's UART at its baud (``sizes["baud"]``
        overrides it); ``"socket://host:port"``: pyserial's socket URL (the virtual board);
        ``"sim"``: the virtual board started by ``attq-fpga board-sim``.
    timeout, retries : see :class:`Driver`.
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
        For ``"sim"`` until the virtual board is wired in.
    """
    board = arty_a7_35t_sizes()
    if spec_str == "golden":
        dev = GoldenDevice(**{**board, **sizes})
        return Driver(dev, timeout=timeout, retries=retries, baud=dev.baud, clk_hz=dev.clk_hz)
    if spec_str == "sim":
        raise NotImplementedError(
            "--device sim: the virtual board (attq-fpga board-sim) is not wired into "
            "open_device yet; start it and use --device socket://127.0.0.1:PORT")
    if spec_str.startswith("serial://"):
        import serial
        path = spec_str[len("serial://"):]
        if not path:
            raise InputError(f"device {spec_str!r}: no port after serial:// (expected e.g. "
                             f"serial:///dev/ttyUSB1)")
        baud = int(sizes.get("baud", board["baud"]))
        port = serial.Serial(path, baudrate=baud, timeout=0.005)
        return Driver(port, timeout=timeout, retries=retries, baud=baud,
                      clk_hz=board["clk_hz"])
    if spec_str.startswith("socket://"):
        import serial
        port = serial.serial_for_url(spec_str, timeout=0.005)
        return Driver(port, timeout=timeout, retries=retries, baud=board["baud"],
                      clk_hz=board["clk_hz"])
    raise InputError(f"device {spec_str!r}: expected one of {', '.join(DEVICE_FORMS)}")

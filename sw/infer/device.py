"""Opening the device ``attq-fpga infer`` runs on, through the host driver (:mod:`sw.device`).

``open_device(spec)`` gives a driver for the board (``serial:///dev/ttyUSB1``), the virtual
board (``sim``, or its ``socket://host:port``) or the golden protocol device (``golden``);
``check_compatible`` refuses a device the program does not fit, saying what differs, and
returns the plan (the steps of one inference, host operations on the host), which is then
loaded.
"""

from .. import spec
from ..errors import InputError

__all__ = ["open_for_inference", "DeviceUnavailable", "POWER_MEASURED", "POWER_MODELLED"]

#: HELLO caps bits that say how POWER answers.
POWER_MEASURED = int(spec.Capability.POWER)
POWER_MODELLED = int(spec.Capability.POWER_MODEL)


class DeviceUnavailable(RuntimeError):
    """The device cannot be opened (no such port, no virtual board here)."""


def open_for_inference(spec_str, program, model_path, *, faults=None, fault_seed=0,
                       timeout=None):
    """Open ``spec_str``, handshake, check the program fits it, load it.

    ``faults`` = ``(drop, corrupt)``: after loading, put the link behind
    :class:`sw.device.FaultProxy`, which drops / corrupts that fraction of the bytes in
    each direction (seeded by ``fault_seed``). ``timeout``: a request's time-out
    (:func:`sw.device.open_device`'s default when None).

    Returns
    -------
    driver, plan, hello
        ``driver.infer(plan, x)`` classifies one input.

    Raises
    ------
    InputError
        For a device string of no known form, or a device the program does not fit (the
        message says what differs).
    DeviceUnavailable
        For a device that cannot be opened.
    """
    from .. import device as mod

    try:
        driver = mod.open_device(spec_str, timeout=timeout)
    except NotImplementedError as exc:
        raise DeviceUnavailable(str(exc)) from None
    except (ValueError, OSError) as exc:
        if isinstance(exc, InputError):
            raise
        raise DeviceUnavailable(f"--device {spec_str}: cannot be opened ({exc})") from None
    try:
        hello = driver.hello()
        plan = driver.check_compatible(hello, program)
        driver.load(plan)
        if faults is not None:
            # Damage the link only once the program is loaded: the inferences are what
            # the fault injection is about.
            drop, corrupt = faults
            driver.port = mod.FaultProxy(driver.port, drop, corrupt, seed=fault_seed)
    except InputError:
        driver.close()
        raise
    except ValueError as exc:
        driver.close()
        raise InputError(f"{model_path}: does not fit the device {spec_str}: {exc}") from None
    except BaseException:
        driver.close()
        raise
    return driver, plan, hello


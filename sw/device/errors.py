"""Errors of the host driver: a device that misbehaves, and one that does not fit."""

from ..errors import InputError

__all__ = ["DeviceError", "IncompatibleDevice"]


class DeviceError(RuntimeError):
    """A request that did not get a valid answer.

    Parameters
    ----------
    op : str
        The request (``"RUN"``, ``"WRITE WEIGHT lane 3 @ 1020"``...).
    status : sw.spec.Status or None
        The status the device answered (None: no valid answer at all).
    tries : int
        How many times the request was sent.
    detail : str
        What went wrong (time-outs, CRC errors, NAKs, the device's refusal).
    """

    def __init__(self, op, status, tries, detail):
        self.op, self.status, self.tries, self.detail = op, status, tries, detail
        answer = f"answered {status.name}" if status is not None else "no valid answer"
        super().__init__(f"device request {op}: {answer} after {tries} "
                         f"{'try' if tries == 1 else 'tries'}: {detail}")


class IncompatibleDevice(InputError):
    """The device's HELLO does not fit the program (versions, capabilities, memories).

    ``differences`` lists each problem; the message names them all.
    """

    def __init__(self, differences, device="the device"):
        self.differences = list(differences)
        super().__init__(f"{device} does not fit the program: " + "; ".join(self.differences))

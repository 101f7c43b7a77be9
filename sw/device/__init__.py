"""The host side of the protocol: the driver (:mod:`.driver`), its errors, the fault
proxy, opening a device from a string (:mod:`.open`) and the request payloads
(:mod:`.requests`); docs/driver.md. The device plan is :mod:`sw.mapping.plan`, the golden
protocol device :mod:`sw.golden.device`."""

from .driver import Driver, InferenceResult, required_caps
from .errors import DeviceError, IncompatibleDevice
from .fault_proxy import FaultProxy
from .open import check_device_string, open_device

__all__ = ["Driver", "InferenceResult", "required_caps", "DeviceError", "IncompatibleDevice",
           "FaultProxy", "check_device_string", "open_device"]

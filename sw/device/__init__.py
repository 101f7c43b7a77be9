"""The host driver, the device plan and the golden protocol device (docs/driver.md)."""

from .driver import Driver, InferenceResult, required_caps
from .errors import DeviceError, IncompatibleDevice
from .fault_proxy import FaultProxy
from ..golden.device import GoldenDevice
from .open import open_device
from ..mapping.plan import BandStep, DevicePlan, HostStep, RunStep

__all__ = ["Driver", "InferenceResult", "required_caps", "DeviceError", "IncompatibleDevice",
           "FaultProxy", "GoldenDevice", "open_device", "DevicePlan", "HostStep", "RunStep",
           "BandStep"]

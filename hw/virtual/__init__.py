"""The virtual board: the device's System verilated, its UART bridged to a TCP socket."""

from .board import VirtualBoard, build_virtual_board

__all__ = ["VirtualBoard", "build_virtual_board"]

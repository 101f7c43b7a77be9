"""The UART link: UART receiver and transmitter, frame receiver and transmitter.

See :mod:`sw.spec` ("The link") for the frame and :mod:`sw.link` for the host side.
"""

from hw.link.echo import LinkEcho
from hw.link.frame_receiver import FrameReceiver
from hw.link.frame_transmitter import FrameTransmitter
from hw.link.layouts import frame_header_layout, frame_info_layout
from hw.link.uart_rx import UARTReceiver
from hw.link.uart_tx import UARTTransmitter

__all__ = ["FrameReceiver", "FrameTransmitter", "LinkEcho", "UARTReceiver", "UARTTransmitter",
           "frame_header_layout", "frame_info_layout"]

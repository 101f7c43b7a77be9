"""Payload layouts of the link's frame streams."""

from amaranth.lib import data

__all__ = ["frame_header_layout", "frame_info_layout"]

#: What :class:`~hw.link.frame_transmitter.FrameTransmitter` takes to start a frame.
frame_header_layout = data.StructLayout({"seq": 8, "code": 8, "length": 16})

#: What :class:`~hw.link.frame_receiver.FrameReceiver` presents for a received frame.
frame_info_layout = data.StructLayout({"seq": 8, "code": 8, "length": 16, "crc_ok": 1})

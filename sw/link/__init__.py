"""Host side of the UART link: frame encoder and parser (see :mod:`sw.link.frame`)."""

from sw.link.frame import Frame, FrameParser, encode_frame, frame_crc

__all__ = ["Frame", "FrameParser", "encode_frame", "frame_crc"]

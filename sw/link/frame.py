"""Host side of the link's frames: the encoder and a byte-stream parser.

The frame (:mod:`sw.spec`, "The link")::

    SYNC | length (2, LE) | seq (1) | code (1) | payload (length bytes) | CRC-32 (4, LE)

The CRC is CRC-32/ISO-HDLC (:func:`zlib.crc32`) over length, seq, code and payload. This is
written apart from the hardware (``hw/link``) and follows the same rules, so the tests use
it as the reference the hardware is checked against.
"""

import zlib
from dataclasses import dataclass

from sw import spec

__all__ = ["Frame", "FrameParser", "encode_frame", "frame_crc"]


@dataclass(frozen=True)
class Frame:
    """One frame as received.

    Attributes
    ----------
    seq : int
        Sequence number, as received (also when the CRC failed).
    code : int
        :class:`~sw.spec.Op` of a request, :class:`~sw.spec.Status` of a response.
    payload : bytes
        The payload bytes.
    crc_ok : bool
        Whether the received CRC matched the bytes.
    """

    seq: int
    code: int
    payload: bytes
    crc_ok: bool


def frame_crc(body):
    """CRC-32/ISO-HDLC of a frame's ``body`` (length, seq, code and payload bytes)."""
    return zlib.crc32(bytes(body)) & 0xFFFFFFFF


def encode_frame(seq, code, payload=b"", *, max_payload=spec.LINK_MAX_PAYLOAD):
    """The bytes of one frame.

    Parameters
    ----------
    seq, code : int
        One byte each.
    payload : bytes-like
        At most ``max_payload`` bytes.
    max_payload : int
        Largest payload the receiver takes (:data:`~sw.spec.LINK_MAX_PAYLOAD`).

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        If ``seq`` or ``code`` is not a byte or the payload is too long.
    """
    spec.check_int("seq", seq, 0, 255)
    spec.check_int("code", code, 0, 255)
    payload = bytes(payload)
    if len(payload) > max_payload:
        raise ValueError(f"payload is {len(payload)} bytes, at most {max_payload} allowed")
    body = len(payload).to_bytes(2, "little") + bytes([seq, code]) + payload
    return bytes([spec.LINK_SYNC]) + body + frame_crc(body).to_bytes(4, "little")


class FrameParser:
    """Incremental frame parser: feed it bytes as they arrive, get the frames they complete.

    It hunts for SYNC (any other byte there is skipped), reads the length and drops a frame
    whose length exceeds ``max_payload`` (hunting again from the next byte), then reads seq,
    code, the payload and the CRC. A frame with a bad CRC is still returned, with
    ``crc_ok=False``. A partial frame is kept across calls; :meth:`reset` drops it (the
    caller's time-out: the device drops one after :data:`~sw.spec.LINK_TIMEOUT_BYTES` byte
    times of silence).

    Parameters
    ----------
    max_payload : int
        Largest payload accepted.
    """

    def __init__(self, max_payload=spec.LINK_MAX_PAYLOAD):
        spec.check_int("max_payload", max_payload, 0, 0xFFFF)
        self.max_payload = max_payload
        self.reset()

    def reset(self):
        """Drop a partial frame and hunt for SYNC again."""
        self._buf = bytearray()

    @property
    def in_frame(self):
        """Whether a partial frame is held."""
        return bool(self._buf)

    def feed(self, data):
        """Take ``data`` (bytes-like) and return the list of frames it completes."""
        frames = []
        for byte in bytes(data):
            frame = self._step(byte)
            if frame is not None:
                frames.append(frame)
        return frames

    def _step(self, byte):
        buf = self._buf
        if not buf:
            if byte == spec.LINK_SYNC:
                buf.append(byte)
            return None
        buf.append(byte)
        if len(buf) == 3:
            if int.from_bytes(buf[1:3], "little") > self.max_payload:
                self.reset()
            return None
        if len(buf) < spec.LINK_HEADER_BYTES:
            return None
        length = int.from_bytes(buf[1:3], "little")
        total = spec.LINK_HEADER_BYTES + length + spec.LINK_CRC_BYTES
        if len(buf) < total:
            return None
        body = bytes(buf[1:spec.LINK_HEADER_BYTES + length])
        received = int.from_bytes(buf[total - spec.LINK_CRC_BYTES:total], "little")
        frame = Frame(seq=buf[3], code=buf[4], payload=bytes(buf[spec.LINK_HEADER_BYTES:
                                                                 spec.LINK_HEADER_BYTES + length]),
                      crc_ok=received == frame_crc(body))
        self.reset()
        return frame

"""Host frame codec (sw.link.frame) against hand-computed frames."""

import zlib

import pytest

from sw import spec
from sw.link import Frame, FrameParser, encode_frame, frame_crc


def test_crc_is_crc32_iso_hdlc():
    # The CRC catalogue's check value of CRC-32/ISO-HDLC.
    assert zlib.crc32(b"123456789") == 0xCBF43926
    assert frame_crc(b"123456789") == 0xCBF43926


def test_encode_by_hand():
    # SYNC, length 3 LE, seq, code, payload, then the CRC of 03 00 07 02 'a' 'b' 'c' LE.
    body = bytes([0x03, 0x00, 0x07, 0x02]) + b"abc"
    crc = zlib.crc32(body)
    want = bytes([0xA5]) + body + bytes([crc & 0xFF, crc >> 8 & 0xFF, crc >> 16 & 0xFF,
                                         crc >> 24])
    assert encode_frame(7, 2, b"abc") == want
    assert len(encode_frame(0, 0)) == spec.LINK_HEADER_BYTES + spec.LINK_CRC_BYTES


def test_encode_empty_frame_crc_value():
    # CRC-32 of 00 00 00 00 is 0x2144DF1C (a published value for four zero bytes).
    assert encode_frame(0, 0) == bytes([0xA5, 0, 0, 0, 0, 0x1C, 0xDF, 0x44, 0x21])


@pytest.mark.parametrize("args", [(256, 0, b""), (0, -1, b""), (0, 0, bytes(1025)),
                                  (1.5, 0, b"")])
def test_encode_rejects_bad_fields(args):
    with pytest.raises(ValueError):
        encode_frame(*args)


def test_parse_round_trip_in_pieces():
    frames = [encode_frame(k, k ^ 0x55, bytes(range(k))) for k in range(20)]
    stream = b"".join(frames)
    parser = FrameParser()
    got = []
    for k in range(0, len(stream), 7):     # arbitrary chunking
        got += parser.feed(stream[k:k + 7])
    assert got == [Frame(k, k ^ 0x55, bytes(range(k)), True) for k in range(20)]
    assert not parser.in_frame


def test_parse_skips_garbage_and_reports_bad_crc():
    good = encode_frame(1, 2, b"hello")
    bad = bytearray(encode_frame(3, 4, b"world"))
    bad[7] ^= 0x01          # payload byte 2: "r" (0x72) becomes "s" (0x73)
    got = FrameParser().feed(b"\x00\x13\xff" + good + b"\x42" + bytes(bad) + good)
    assert got == [Frame(1, 2, b"hello", True), Frame(3, 4, b"wosld", False),
                   Frame(1, 2, b"hello", True)]


def test_parse_drops_over_long_length_and_hunts_from_the_next_byte():
    # Length 9 > max 8: dropped after the two length bytes; the SYNC that follows starts
    # the next frame.
    good = encode_frame(5, 6, b"12345678", max_payload=8)
    got = FrameParser(max_payload=8).feed(bytes([0xA5, 9, 0]) + good)
    assert got == [Frame(5, 6, b"12345678", True)]


def test_parse_false_sync_in_garbage_swallows_what_follows():
    # A SYNC in garbage starts a frame of length 0x0001; the real frame's bytes fill it.
    good = encode_frame(1, 1, b"")
    parser = FrameParser()
    got = parser.feed(bytes([0xA5, 0x01, 0x00]) + good)
    assert len(got) == 1 and not got[0].crc_ok
    assert got[0].seq == 0xA5 and got[0].code == 0x00 and got[0].payload == b"\x00"


def test_parse_reset_drops_a_partial_frame():
    frame = encode_frame(9, 9, b"abc")
    parser = FrameParser()
    assert parser.feed(frame[:6]) == []
    assert parser.in_frame
    parser.reset()
    assert parser.feed(frame) == [Frame(9, 9, b"abc", True)]

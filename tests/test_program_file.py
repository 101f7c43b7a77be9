"""The program file: round trip, content hash, and refusal of damaged files."""

import hashlib
import struct

import numpy as np
import pytest

from sw.program.file import content_hash

from sw import spec
from sw.errors import InputError
from sw.golden.executor import execute
from sw.program import HostOp, Program, from_bytes, load, save, to_bytes
from testsupport.networks import file_layers


def small_program():
    l1, l2 = file_layers(np.random.default_rng(11))
    return Program(input_shape=(2, 5, 5), classes=list("abcd"), meta={"source": "test"},
                   ops=[HostOp("quantize", dict(scale=0.02, map_shape=[2, 5, 5], pad=[1, 1])),
                        l1, l2, HostOp("dequantize", dict(scale=0.25)),
                        HostOp("log_softmax")])


def test_round_trip_same_hash_and_outputs(tmp_path):
    prog = small_program()
    path = tmp_path / "p.attq"
    digest = save(prog, path)
    data = path.read_bytes()
    # The header's hash is the sha256 of everything after the 52-byte prefix.
    assert digest == hashlib.sha256(data[52:]).hexdigest() == content_hash(prog)
    back = load(path)
    assert content_hash(back) == digest
    assert to_bytes(back) == data
    x = np.random.default_rng(0).uniform(-2, 2, size=(5, 2, 5, 5))
    a, b = execute(prog, x), execute(back, x)
    np.testing.assert_array_equal(a.int_output, b.int_output)
    np.testing.assert_array_equal(a.output, b.output)
    for la, lb in zip(prog.engine_layers, back.engine_layers):
        np.testing.assert_array_equal(la.weights(), lb.weights())
        assert la.epilogue.act == lb.epilogue.act and la.epilogue.slope == lb.epilogue.slope
    assert back.classes == list("abcd") and back.meta == {"source": "test"}


def test_prefix_layout():
    data = to_bytes(small_program())
    magic, version, length = struct.unpack_from("<8sIQ", data)
    assert magic == b"ATTQPRG\x00" and version == spec.PROGRAM_FILE_VERSION == 2
    assert length == len(data) - 52


def test_different_programs_different_hashes():
    a = small_program()
    b = small_program()
    b.engine_layers[0].epilogue.bias[0] += 1  # one bias LSB
    assert content_hash(a) != content_hash(b)


def _refused(data, tmp_path, match):
    path = tmp_path / "bad.attq"
    path.write_bytes(data)
    with pytest.raises(InputError, match=match) as info:
        load(path)
    assert str(path) in str(info.value)


def test_truncated_refused(tmp_path):
    data = to_bytes(small_program())
    for cut in (len(data) - 1, len(data) // 2, 60, 30, 10):
        _refused(data[:cut], tmp_path, "truncated")


def test_corrupted_refused(tmp_path):
    data = bytearray(to_bytes(small_program()))
    for pos in (60, len(data) // 2, len(data) - 1):
        bad = bytearray(data)
        bad[pos] ^= 0x10
        _refused(bytes(bad), tmp_path, "corrupted.*hash")
    _refused(bytes(data) + b"\0", tmp_path, "corrupted.*after")


def test_wrong_version_refused(tmp_path):
    data = bytearray(to_bytes(small_program()))
    struct.pack_into("<I", data, 8, spec.PROGRAM_FILE_VERSION + 1)
    _refused(bytes(data), tmp_path, f"wrong format version {spec.PROGRAM_FILE_VERSION + 1}")


def test_older_version_refused_saying_to_recompile(tmp_path):
    """A version 1 file (before programs recorded their input transform): the message names
    the file, its version, the version read, and the command that makes a new one."""
    data = bytearray(to_bytes(small_program()))
    struct.pack_into("<I", data, 8, 1)
    path = tmp_path / "old.attq"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as info:
        load(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: wrong format version 1: ")
    assert f"program files of version {spec.PROGRAM_FILE_VERSION}" in msg
    assert "input transform" in msg
    assert f"`attq-fpga compile MODEL.pt -o {path}`" in msg


def test_program_file_version_is_not_the_device_format_version(monkeypatch):
    """The file's version (2: the input transform) and the integer contract the device
    reports in HELLO (2: the engine's width V) are two numbers that move apart: a file's
    header carries the file version whatever the contract's is, and reads back."""
    assert spec.PROGRAM_FILE_VERSION == 2 and spec.FORMAT_VERSION == 2
    assert dict(spec.HELLO_FIELDS)["format_version"] == 1     # one byte in HELLO
    monkeypatch.setattr(spec, "FORMAT_VERSION", 77)
    data = to_bytes(small_program())
    assert struct.unpack_from("<I", data, 8)[0] == spec.PROGRAM_FILE_VERSION == 2
    assert content_hash(from_bytes(data)) == content_hash(small_program())


def test_input_transform_round_trips(tmp_path):
    from sw.program.transform import TFR, InputTransform, MinMax
    transform = InputTransform((MinMax(), TFR(n_fft=16, hop=8, iq=False, clip=False)))
    prog = small_program()
    assert prog.input_transform is None
    prog = Program(input_shape=prog.input_shape, ops=prog.ops, classes=prog.classes,
                   meta={"source": "test", "input_transform": transform.to_dict()})
    path = tmp_path / "p.attq"
    save(prog, path)
    back = load(path)
    assert back.input_transform == transform
    assert back.meta["input_transform"] == transform.to_dict()


def test_bad_input_transform_refused(tmp_path):
    """A transform that does not parse is refused when the file is read, naming the field."""
    prog = small_program()
    prog.meta["input_transform"] = {"steps": [{"kind": "tfr", "n_fft": 32, "hop": 0,
                                               "iq": True, "clip": True}]}
    data = to_bytes(prog)   # the writer does not parse meta: a damaged writer's file
    path = tmp_path / "bad.attq"
    path.write_bytes(data)
    with pytest.raises(InputError) as info:
        load(path)
    assert str(info.value) == (f"{path}: field 'meta.input_transform'.steps[0].hop: "
                               f"expected an integer >= 1, got 0")


def test_engine_target_round_trips_and_bad_ones_are_refused(tmp_path):
    """``meta.engine`` (``compile --lanes P --width V``) reads back as ``engine_target``;
    one that is not two positive integers is refused when the file is read."""
    prog = small_program()
    assert prog.engine_target is None
    prog.meta["engine"] = {"lanes": 8, "width": 4}
    save(prog, tmp_path / "p.attq")
    assert load(tmp_path / "p.attq").engine_target == (8, 4)
    for bad in ({"lanes": 8}, {"lanes": 0, "width": 4}, {"lanes": 8, "width": "4"}, [8, 4]):
        prog.meta["engine"] = bad
        path = tmp_path / "bad.attq"
        path.write_bytes(to_bytes(prog))
        with pytest.raises(InputError, match=r"bad.attq: field 'meta.engine'"):
            load(path)


def test_wrong_magic_refused(tmp_path):
    data = to_bytes(small_program())
    _refused(b"XXXX" + data[4:], tmp_path, "wrong magic")
    # Content that another kind of file starts with is named as that kind, with the next
    # step (every kind: tests/test_file_kinds.py).
    _refused(b"PK\x03\x04" + data[4:], tmp_path,
             r"not a program file \(\.attq\): this is a zip archive")
    _refused(b"", tmp_path, r"not a program file \(\.attq\): this is an empty file")


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such program file"):
        load(tmp_path / "nope.attq")


def test_bad_content_with_valid_hash_refused(tmp_path):
    """A writer bug (valid hash, inconsistent content) is still refused, naming the op."""
    import json
    data = to_bytes(small_program())
    payload = data[52:]
    jlen = struct.unpack_from("<I", payload)[0]
    header = json.loads(payload[4:4 + jlen])
    header["ops"][1]["kernel"] = [9, 9]
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    head = struct.pack("<I", len(text)) + text
    head += b"\0" * (-len(head) % 8)
    start = 4 + jlen + (-(4 + jlen) % 8)
    new_payload = head + payload[start:]
    bad = struct.pack("<8sIQ32s", b"ATTQPRG\x00", spec.PROGRAM_FILE_VERSION,
                      len(new_payload), hashlib.sha256(new_payload).digest()) + new_payload
    _refused(bad, tmp_path, "op 1.*kernel")
    with pytest.raises(InputError):
        from_bytes(bad)


def test_save_is_atomic(tmp_path):
    path = tmp_path / "p.attq"
    path.write_bytes(b"old")
    prog = small_program()
    prog.meta = {"bad": float("nan")}  # JSON refuses NaN: the write fails
    with pytest.raises(ValueError):
        save(prog, path)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["p.attq"]

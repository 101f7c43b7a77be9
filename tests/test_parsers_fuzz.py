"""Every file parser fuzzed: a result or the project's clear error, never another exception.

Each parser is given random bytes and valid files (made by the project's own writers)
with bytes flipped, overwritten, inserted, deleted or cut off; the structured formats
(the program's JSON header and arrays, the saved model's record, the dataset description)
are also fuzzed field by field and written back whole, so that the checks behind the
framing (hash, zip, JSON syntax) are reached. The parser must return or raise
:class:`sw.errors.InputError` naming the file; any other exception fails the test.

The runs are reproducible (``derandomize=True``, no example database) and sized to take
well under a minute together; ``ATTQ_FUZZ_SCALE=20`` multiplies every example count for a
deeper run.
"""

import copy
import csv
import hashlib
import io
import json
import os
import re
import struct
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sw.errors import InputError

SCALE = int(os.environ.get("ATTQ_FUZZ_SCALE", "1"))


def fuzz(examples):
    """Hypothesis settings of a fuzz test: ``examples`` cases (times the scale), the same
    ones on every run, no deadline (file writes vary with the machine's load)."""
    return settings(max_examples=examples * SCALE, deadline=None, derandomize=True,
                    database=None, suppress_health_check=[HealthCheck.too_slow,
                                                          HealthCheck.data_too_large])


# Field values a header is likely to get wrong: zero, one, sign and size boundaries.
_WORDS = [0, 1, 2, 3, 4, 8, 16, 24, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF,
          0x80000000, 0xFFFFFFFF]


@st.composite
def mutated(draw, valid, hot=64):
    """``valid`` with one to four edits.

    Two edits in three land in the first or last ``hot`` bytes, where the headers (and a
    zip's central directory) are.
    """
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 4))):
        n = len(data)
        if n == 0:
            data += draw(st.binary(min_size=1, max_size=8))
            continue
        pos = draw(st.integers(0, min(n, hot) - 1) | st.integers(max(0, n - hot), n - 1)
                   | st.integers(0, n - 1))
        op = draw(st.sampled_from(("flip", "byte", "word", "half", "insert", "delete",
                                   "cut")))
        if op == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte":
            data[pos] = draw(st.integers(0, 255))
        elif op == "word":
            value = draw(st.sampled_from(_WORDS) | st.integers(0, 0xFFFFFFFF))
            data[pos:pos + 4] = struct.pack("<I", value)
        elif op == "half":
            value = draw(st.sampled_from(_WORDS) | st.integers(0, 0xFFFF)) & 0xFFFF
            data[pos:pos + 2] = struct.pack("<H", value)
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 16))]
        else:
            del data[pos:]
    return bytes(data)


def _json_paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _json_paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _json_paths(value, prefix + (i,))


_SCALARS = (st.none() | st.booleans() | st.integers(-3, 40) | st.sampled_from(_WORDS)
            | st.integers(-2**70, 2**70) | st.floats(allow_nan=False, allow_infinity=False)
            | st.text(max_size=6))
JSON_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=4),
                           max_leaves=6)


@st.composite
def json_mutated(draw, doc, values=JSON_VALUES):
    """A deep copy of the JSON-like ``doc`` with one to three nodes replaced or removed."""
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _json_paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        elif draw(st.booleans()) and isinstance(parent[path[-1]], list) and parent[path[-1]]:
            del parent[path[-1]][-1]          # a list one element short
        else:
            parent[path[-1]] = draw(values)
    return doc


def check(parse, path):
    """``parse()``'s result, or None when it raised an InputError naming ``path``.

    Each outcome is counted (``pytest --hypothesis-show-statistics`` lists them), which
    shows how deep into each format the cases reach.
    """
    try:
        result = parse()
    except InputError as exc:
        text = str(exc)
        assert str(path) in text, f"the message does not name the file: {exc}"
        # What the message names first (after the file name), without its numbers.
        after = text[text.index(str(path)) + len(str(path)):].lstrip(": /")
        words = re.sub(r"\d+", "N", after.split(":")[0]).split()
        event(f"refused: {' '.join(words[:2])}")
        return None
    event("read")
    return result


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


# --------------------------------------------------------------------------- recordings


def _valid_recordings():
    from sw.doppler.recording import write_npz, write_wav

    import tempfile
    from pathlib import Path

    t = np.arange(300) / 4400
    z = 0.5 * np.exp(2j * np.pi * 300 * t)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, fmt in (("pcm16", "pcm16"), ("float32", "float32")):
            write_wav(Path(tmp) / "r.wav", z, 4400, sample_format=fmt)
            out[name] = (Path(tmp) / "r.wav").read_bytes()
        write_npz(Path(tmp) / "r.npz", z, 4400)
        out["npz"] = (Path(tmp) / "r.npz").read_bytes()
        # The project writes no 64-bit float WAV; scipy does.
        from scipy.io import wavfile
        wavfile.write(Path(tmp) / "r.wav", 4400, np.stack([z.real, z.imag], 1))
        out["float64"] = (Path(tmp) / "r.wav").read_bytes()
    # 24-bit PCM in a WAVE_FORMAT_EXTENSIBLE header, as most 24-bit recorders write it
    # (the project writes 16-bit and float only).
    samples = np.round(np.stack([z.real, z.imag], 1) * 2**23).astype(np.int64).clip(
        -2**23, 2**23 - 1)
    data = b"".join(struct.pack("<i", int(v))[:3] for v in samples.ravel())
    guid = struct.pack("<IHH", 1, 0, 0x10) + bytes.fromhex("800000aa00389b71")
    fmt = struct.pack("<HHIIHHHHI", 0xFFFE, 2, 4400, 4400 * 6, 6, 24, 22, 24, 3) + guid
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + \
        struct.pack("<I", len(data)) + data
    out["pcm24"] = b"RIFF" + struct.pack("<I", len(body)) + body
    return out


VALID_RECORDINGS = _valid_recordings()


def _read_recording_or_error(path, accept_truncated):
    from sw.doppler.recording import read_recording

    with warnings.catch_warnings():
        # Nothing may reach the user but the InputError: no scipy or numpy warning.
        warnings.simplefilter("error")
        rec = check(lambda: read_recording(path, accept_truncated=accept_truncated), path)
    if rec is not None:
        assert rec.iq.dtype == np.complex64 and len(rec.iq) > 0
        assert np.all(np.isfinite(rec.iq))
        assert rec.frames_read <= rec.frames_declared
    return rec


@fuzz(1200)
@given(data=st.sampled_from(["pcm16", "float32", "float64", "pcm24"]).flatmap(
           lambda k: mutated(VALID_RECORDINGS[k])),
       accept_truncated=st.booleans())
def test_wav_reader_mutated(work, data, accept_truncated):
    path = work / "mutated.wav"
    path.write_bytes(data)
    _read_recording_or_error(path, accept_truncated)


@fuzz(300)
@given(data=st.binary(max_size=200) | st.binary(max_size=120).map(
           lambda b: b"RIFF" + struct.pack("<I", len(b) + 4) + b"WAVEfmt " + b),
       accept_truncated=st.booleans())
def test_wav_reader_random_bytes(work, data, accept_truncated):
    path = work / "random.wav"
    path.write_bytes(data)
    _read_recording_or_error(path, accept_truncated)


@fuzz(500)
@given(data=mutated(VALID_RECORDINGS["npz"]) | st.binary(max_size=200)
       | st.binary(max_size=200).map(lambda b: b"PK\x03\x04" + b))
def test_npz_reader(work, data):
    path = work / "fuzzed.npz"
    path.write_bytes(data)
    _read_recording_or_error(path, False)


def test_npz_array_larger_than_memory(work):
    # Found by reading numpy's loader, not by the fuzzer (which seldom writes digits into
    # the array header): a member declaring 10^13 samples fails with MemoryError.
    header = "{'descr': '<c8', 'fortran_order': False, 'shape': (10000000000000,), }"
    header += " " * (63 - len(header) % 64) + "\n"
    rate = io.BytesIO()
    np.save(rate, np.int64(4400))
    path = work / "huge.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("iq.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header))
                         + header.encode() + bytes(80))
        archive.writestr("sample_rate_hz.npy", rate.getvalue())
    from sw.doppler.recording import read_recording
    with pytest.raises(InputError, match=r"huge.npz: cannot be read as .npz \(Unable to "
                                         r"allocate"):
        read_recording(path)


# --------------------------------------------------------------------------- CSV files


def _truth_text():
    from sw.doppler.recording import TruthEvent, truth_csv_text
    return truth_csv_text([TruthEvent(0.5, 0.6, "artefact", 20.0),
                           TruthEvent(1.25, 0.03, "solid", 7.5, 612.0, 12.0),
                           TruthEvent(2.0, 0.02, "gaseous", 25.0, 800.0, 500.0)]).encode()


TRUTH_CSV = _truth_text()
CSV_TOKENS = st.sampled_from(["onset_s", "duration_s", "class", "ebr_db", "solid", "gaseous",
                              "1.5", "-1", "0", "1e308", "nan", "inf", "", " ", ",", "\n",
                              "\r\n", '"', "\x00", "\ufeff", "é", "x" * 40])


@fuzz(600)
@given(data=mutated(TRUTH_CSV) | st.binary(max_size=200)
       | st.lists(CSV_TOKENS, max_size=30).map(lambda t: "".join(t).encode()),
       duration=st.none() | st.floats(0, 10))
def test_truth_csv_reader(work, data, duration):
    from sw.doppler.recording import read_truth_csv
    path = work / "truth.csv"
    path.write_bytes(data)
    events = check(lambda: read_truth_csv(path, duration_s=duration), path)
    for ev in events or ():
        assert ev.onset_s >= 0 and ev.duration_s > 0


def _esr_bytes():
    import tempfile
    from pathlib import Path

    from sw.data.esr_synthetic import write_synthetic_esr
    with tempfile.TemporaryDirectory() as tmp:
        return write_synthetic_esr(Path(tmp) / "esr.csv", n_rows=5, seed=1).read_bytes()


ESR_CSV = _esr_bytes()


@fuzz(400)
@given(data=mutated(ESR_CSV, hot=400) | st.binary(max_size=300)
       | st.lists(CSV_TOKENS, max_size=30).map(lambda t: "".join(t).encode()))
def test_esr_csv_reader(work, data):
    from sw.data.esr import read_esr_csv
    path = work / "esr.csv"
    path.write_bytes(data)
    result = check(lambda: read_esr_csv(path), path)
    if result is not None:
        ids, signals, y = result
        assert signals.shape == (len(ids), 178) and set(y) <= {1, 2, 3, 4, 5}


# ------------------------------------------------------------- labelled segment data set


@pytest.fixture(scope="module")
def hits_dataset(tmp_path_factory):
    """A small data set by ``make_hits_dataset``, and its files' bytes."""
    from sw.doppler.dataset import make_hits_dataset
    root = tmp_path_factory.mktemp("hits") / "set"
    make_hits_dataset(root, counts={"artefact": 2, "gaseous": 2, "solid": 2},
                      n_subjects=2, seed=0, progress=False)
    labels = (root / "labels.csv").read_bytes()
    first = next(csv.DictReader(io.StringIO(labels.decode())))["file"]
    return root, {"labels.csv": labels, "dataset.json": (root / "dataset.json").read_bytes(),
                  first: (root / first).read_bytes()}


def _read_dataset(root, name, data, originals):
    from sw.data.hits import read_hits_dataset
    try:
        (root / name).write_bytes(data)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            check(lambda: read_hits_dataset(root), root)
    finally:
        (root / name).write_bytes(originals[name])


@fuzz(400)
@given(st.data())
def test_hits_labels_and_description(hits_dataset, data):
    root, originals = hits_dataset
    name = data.draw(st.sampled_from(["labels.csv", "dataset.json"]))
    raw = data.draw(mutated(originals[name], hot=200) | st.binary(max_size=100))
    _read_dataset(root, name, raw, originals)


@fuzz(300)
@given(st.data())
def test_hits_description_fields(hits_dataset, data):
    root, originals = hits_dataset
    doc = json.loads(originals["dataset.json"])
    raw = json.dumps(data.draw(json_mutated(doc))).encode()
    _read_dataset(root, "dataset.json", raw, originals)


@fuzz(300)
@given(st.data())
def test_hits_segment_wav(hits_dataset, data):
    root, originals = hits_dataset
    name = next(n for n in originals if n.endswith(".wav"))
    _read_dataset(root, name, data.draw(mutated(originals[name])), originals)


# --------------------------------------------------------------------------- program file


def _small_program():
    from sw.program import HostOp, Program
    from sw.program.transform import InputTransform, MinMax
    from testsupport.networks import file_layers

    rng = np.random.default_rng(11)
    l1, l2 = file_layers(rng)
    return Program(
        input_shape=(2, 5, 5), classes=list("abc"),
        meta={"source": "fuzz", "engine": {"lanes": 2, "width": 4},
              "input_transform": InputTransform((MinMax(),)).to_dict()},
        ops=[HostOp("quantize", dict(scale=0.02, map_shape=[2, 5, 5], pad=[1, 1])),
             l1, l2, HostOp("dequantize", dict(scale=0.25)),
             HostOp("linear_float", {}, "head", {"weight": rng.normal(size=(3, 4)),
                                                 "bias": rng.normal(size=3)}),
             HostOp("log_softmax")])


def _program_parts():
    from sw.program.file import HEADER_SIZE, to_bytes
    data = to_bytes(_small_program())
    payload = data[HEADER_SIZE:]
    (jlen,) = struct.unpack_from("<I", payload)
    header = json.loads(payload[4:4 + jlen])
    start = 4 + jlen + (-(4 + jlen) % 8)
    return data, header, payload[start:]


PROGRAM, PROGRAM_HEADER, PROGRAM_BLOB = _program_parts()


def program_file(header, blob):
    """The file of a (damaged) header and array blob, framed and hashed as the writer
    does, so that the reader gets past the content hash to the fields."""
    from sw import spec
    from sw.program.file import MAGIC
    hj = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    payload = struct.pack("<I", len(hj)) + hj
    payload += b"\0" * (-len(payload) % 8) + blob
    return (MAGIC + struct.pack("<IQ", spec.PROGRAM_FILE_VERSION, len(payload))
            + hashlib.sha256(payload).digest() + payload)


def _load_program(path, data):
    from sw.program.file import load
    path.write_bytes(data)
    program = check(lambda: load(path), path)
    if program is not None:
        assert isinstance(program.ops, list)


def test_program_fixture_is_valid(work):
    # The framing helper rebuilds the writer's bytes exactly.
    assert program_file(PROGRAM_HEADER, PROGRAM_BLOB) == PROGRAM
    from sw.program.file import load
    (work / "p.attq").write_bytes(PROGRAM)
    assert load(work / "p.attq").classes == list("abc")


@fuzz(300)
@given(data=mutated(PROGRAM) | st.binary(max_size=100)
       | st.binary(max_size=100).map(lambda b: b"ATTQPRG\0" + b))
def test_program_reader_bytes(work, data):
    _load_program(work / "bytes.attq", data)


@fuzz(1000)
@given(header=json_mutated(PROGRAM_HEADER))
def test_program_reader_header_fields(work, header):
    _load_program(work / "fields.attq", program_file(header, PROGRAM_BLOB))


@fuzz(400)
@given(blob=mutated(PROGRAM_BLOB, hot=len(PROGRAM_BLOB)))
def test_program_reader_arrays(work, blob):
    header = copy.deepcopy(PROGRAM_HEADER)
    header["blob_size"] = len(blob)
    _load_program(work / "arrays.attq", program_file(header, blob))


# --------------------------------------------------------------------------- model file


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A small quantized model saved by ``save_model``, and its record."""
    import torch

    from sw.models import build_preset, read_record, save_model
    from sw.quant import QuantConfig, quantize_model
    torch.manual_seed(0)
    model = build_preset("mnist_cnn")
    quant = QuantConfig(method="attq", layers=list(model.default_quantized), t_min=-1,
                        t_max=0.5)
    path = tmp_path_factory.mktemp("model") / "m.pt"
    save_model(path, quantize_model(model, quant), arch="mnist_cnn", preset="mnist_cnn",
               quant=quant, data={"dataset": "mnist"})
    return path.read_bytes(), read_record(path)


def _load_model(path, trainable):
    from sw.models import load_model
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = check(lambda: load_model(path, trainable=trainable), path)
    if result is not None:
        model, record = result
        assert record["format"] == "attq-fpga-model"


@fuzz(300)
@given(st.data())
def test_model_reader_bytes(work, model_file, data):
    raw = data.draw(mutated(model_file[0], hot=256) | st.binary(max_size=100))
    path = work / "bytes.pt"
    path.write_bytes(raw)
    _load_model(path, data.draw(st.booleans()))


MODEL_VALUES = st.one_of(JSON_VALUES, st.integers(-1, 64), st.just("mnist_cnn"),
                         st.sampled_from(["conv1.weight", "fc1.bias"]))


@fuzz(500)
@given(st.data())
def test_model_reader_record_fields(work, model_file, data):
    import torch

    record = copy.copy(model_file[1])
    # The tensors stay as they are (or are replaced by a tensor of another shape): the
    # fields around them are what is fuzzed.
    key = data.draw(st.sampled_from(sorted(record)))
    choice = data.draw(st.sampled_from(("value", "delete", "state", "nested")))
    if choice == "delete":
        del record[key]
    elif choice == "value":
        record[key] = data.draw(MODEL_VALUES)
    elif choice == "state":
        which = data.draw(st.sampled_from(["state_dict", "train_state_dict"]))
        state = dict(record[which])
        name = data.draw(st.sampled_from(sorted(state)))
        what = data.draw(st.sampled_from(("drop", "shape", "rename", "dtype")))
        if what == "drop":
            del state[name]
        elif what == "shape":
            state[name] = torch.zeros(data.draw(st.lists(st.integers(0, 4), max_size=3)))
        elif what == "rename":
            state[name + "x"] = state.pop(name)
        else:
            state[name] = state[name].to(torch.int64)
        record[which] = state
    elif isinstance(record[key], dict) and record[key]:
        record[key] = dict(data.draw(json_mutated(
            {k: v for k, v in record[key].items() if not isinstance(v, torch.Tensor)},
            MODEL_VALUES)), **{k: v for k, v in record[key].items()
                               if isinstance(v, torch.Tensor)})
    path = work / "fields.pt"
    torch.save(record, path)
    _load_model(path, data.draw(st.booleans()))

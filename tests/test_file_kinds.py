"""A file of the wrong kind, given where another is wanted, is named by what it is (told by
its content, whatever its name) with the next step; and the handshake's refusal reads once.

Issue 15: ``infer --model`` given the trained ``.pt`` said "wrong magic b'PK\\x03\\x04'";
a device too small said "does not fit the program: the program does not fit the device".
"""

import gzip
import pickle
import zipfile

import numpy as np
import pytest
import torch
from scipy.io import wavfile

from sw.cli import main
from sw.errors import InputError
from sw.file_kinds import KINDS, identify, wrong_kind_message
from sw.models import read_record
from sw.program.file import load
from testsupport.bundled import MODELS

RECORDING = MODELS["hits"][0].parent.parent / "data" / "example" / "tcd-example.wav"


def _make(kind, path):
    """Write a file of ``kind`` with the library that makes such files, not this project."""
    if kind == "pytorch":
        torch.save({"weights": torch.zeros(3)}, path)
    elif kind == "pickle":
        path.write_bytes(pickle.dumps({"a": 1}, protocol=4))
    elif kind in ("npz", "npy"):
        # Through a file object: given a name, NumPy would add its own suffix to it.
        with open(path, "wb") as f:
            (np.savez if kind == "npz" else np.save)(f, np.zeros(3))
    elif kind == "zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("notes.txt", "hello")
    elif kind == "wav":
        wavfile.write(path, 4400, np.zeros((100, 2), np.int16))
    elif kind == "png":
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig = plt.figure(figsize=(1, 1))
        fig.savefig(path, format="png")
        plt.close(fig)
    elif kind == "gzip":
        path.write_bytes(gzip.compress(b"x" * 100))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("time,value\n0,1.5\n1,Доплер 血流\n", encoding="utf-8")
    elif kind == "program":
        path.write_bytes(MODELS["mnist"][1].read_bytes())
    else:
        raise AssertionError(kind)
    return path


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_is_told_by_its_content_whatever_its_name(kind, tmp_path):
    # The misleading name is the point: the content decides.
    path = _make(kind, tmp_path / "misnamed.attq")
    assert identify(path.read_bytes()) == kind


def test_unknown_content_is_not_guessed():
    assert identify(bytes(range(256)) * 4) is None
    assert identify(b"\x01\x02\x03\xff\xfe") is None


def test_only_the_first_bytes_tell_zip_but_not_what_is_inside(tmp_path):
    path = _make("pytorch", tmp_path / "m.pt")
    assert identify(path.read_bytes()[:64], whole=False) == "zip"
    assert identify(path.read_bytes()) == "pytorch"


# -- the program reader (infer --model) -----------------------------------------------------
def test_a_trained_model_given_as_the_program_says_compile_it_first(tmp_path):
    pt = _make("pytorch", tmp_path / "trained.pt")
    with pytest.raises(InputError) as info:
        load(pt)
    assert str(info.value).startswith(
        f"{pt}: not a program file (.attq): this is a trained model (PyTorch); compile it "
        f"first: attq-fpga compile {pt} -o {tmp_path / 'trained.attq'}")
    assert "wrong magic" not in str(info.value)


def test_the_program_beside_a_trained_model_is_pointed_to(tmp_path):
    pt = _make("pytorch", tmp_path / "trained.pt")
    _make("program", tmp_path / "trained.attq")
    with pytest.raises(InputError, match=r"already beside it: --model .*trained\.attq$"):
        load(pt)


@pytest.mark.parametrize("kind, words", [
    ("wav", "this is a WAV recording; give it as the recording: attq-fpga infer"),
    ("npz", "this is a NumPy archive (.npz)"),
    ("text", "this is a text file"),
    ("empty", "this is an empty file"),
])
def test_other_kinds_given_as_the_program_are_named(kind, words, tmp_path):
    path = _make(kind, tmp_path / "input.attq")
    with pytest.raises(InputError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: not a program file (.attq): ")
    assert words in str(info.value)


def test_unknown_content_still_gets_the_magic(tmp_path):
    path = tmp_path / "noise.attq"
    path.write_bytes(bytes(range(1, 200)))
    with pytest.raises(InputError, match=r"noise.attq: wrong magic b'\\x01\\x02"):
        load(path)


def test_infer_given_the_trained_model_exits_2_with_the_next_step(tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["infer", str(RECORDING), "--model", str(MODELS["hits"][0]),
                   "--device", "golden", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2, err
    assert "this is a trained model (PyTorch); compile it first: attq-fpga compile " in err
    # The committed program is beside the committed model.
    assert f"--model {MODELS['hits'][1]}" in err
    assert not out.exists()


# -- the model reader (compile MODEL) -------------------------------------------------------
def test_a_program_given_as_the_model_says_it_is_already_compiled(tmp_path):
    path = _make("program", tmp_path / "looks_like_a_model.pt")
    with pytest.raises(InputError) as info:
        read_record(path)
    assert str(info.value).startswith(
        f"{path}: not a saved attq-fpga model (.pt): this is a compiled program (.attq); "
        f"it is already compiled")


@pytest.mark.parametrize("kind, words", [
    ("wav", "this is a WAV recording; a recording is data, not a model"),
    ("png", "this is a PNG image"),
    ("empty", "this is an empty file"),
])
def test_other_kinds_given_as_the_model_are_named(kind, words, tmp_path):
    path = _make(kind, tmp_path / "model.pt")
    with pytest.raises(InputError) as info:
        read_record(path)
    assert str(info.value).startswith(f"{path}: not a saved attq-fpga model (.pt): {words}")


def test_a_pytorch_file_of_another_format_is_left_to_the_format_check(tmp_path):
    path = _make("pytorch", tmp_path / "state.pt")
    with pytest.raises(InputError, match=r"state.pt: field 'format': expected "
                                         r"'attq-fpga-model'"):
        read_record(path)


def test_wrong_kind_message_is_none_for_the_kind_wanted(tmp_path):
    assert wrong_kind_message("p.attq", _make("program", tmp_path / "p").read_bytes(),
                              "program") is None
    assert wrong_kind_message("m.pt", _make("pytorch", tmp_path / "m").read_bytes(),
                              "model") is None
    with pytest.raises(ValueError, match="wanted"):
        wrong_kind_message("x", b"", "recording")


# -- the handshake's refusal ------------------------------------------------------------------
def test_a_device_too_small_is_refused_in_one_sentence():
    from sw.device import Driver, IncompatibleDevice
    from sw.golden.device import GoldenDevice

    program = load(MODELS["mnist"][1])
    device = GoldenDevice(lane_words=16)
    driver = Driver(device)
    with pytest.raises(IncompatibleDevice) as info:
        driver.check_compatible(device.hello(), program)
    text = str(info.value)
    assert text.count("does not fit") == 1, text
    assert text.startswith("the device (GOLDEN) does not fit the program: ")
    assert "weight memory" in text and "the device has 16 a lane" in text

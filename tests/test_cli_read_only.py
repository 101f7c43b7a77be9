"""Every command that writes, pointed at a read-only file system: one line naming the
option and the folder, exit status 2, before any work, never a traceback.

The file system's refusal is made where every writer meets it: ``tempfile.mkstemp``
(the probe of :func:`sw.atomic.check_output` and the temporary file of each atomic
write) raises ``EROFS``, as on a read-only mount."""

import errno
import tempfile

import pytest

from sw.cli import main
from testsupport.bundled import MODELS
from testsupport.runner import ROOT

RECORDING = ROOT / "data" / "example" / "tcd-example.wav"


@pytest.fixture
def read_only(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")
    monkeypatch.setattr(tempfile, "mkstemp", refuse)


@pytest.fixture
def no_work(monkeypatch):
    """The long work of each command fails the test: the refusal must come first."""
    import sw.board.command as board
    import sw.compiler.compiler as compiler
    import sw.doppler.dataset as dataset
    import sw.doppler.detector as detector
    import sw.doppler.simulator as simulator
    import sw.infer.inputs as inputs

    def work(*args, **kwargs):
        raise AssertionError("the work started before the output was checked")
    for mod, name in ((simulator, "simulate_recording"), (dataset, "make_hits_dataset"),
                      (detector, "detect"), (compiler, "compile_saved"),
                      (inputs, "recording_inputs"), (board, "_open")):
        monkeypatch.setattr(mod, name, work)


@pytest.mark.parametrize("argv, option", [
    (["recordings", "simulate", "--minutes", "1", "--out", "{d}/rec.wav"], "--out"),
    (["recordings", "detect", str(RECORDING), "--out", "{d}/det"], "--out"),
    (["data", "make", "hits", "--out", "{d}/set"], "--out"),
    (["data", "make", "esr-synthetic", "{d}/esr.csv"], "out"),
    (["compile", str(MODELS["mnist"][0]), "-o", "{d}/m.attq"], "-o"),
    (["infer", str(RECORDING), "--device", "golden", "--out", "{d}/inf"], "--out"),
    (["train", "mnist", "--out", "{d}/m.pt"], "--out"),
    (["board", "check", "--device", "golden", "--out", "{d}/check"], "--out"),
    (["board", "calibrate", "--device", "serial:///dev/ttyUSB1", "--file",
      str(ROOT / "calibration" / "arty_a7_power.json"), "--session", "{d}/s.json"],
     "--session"),
], ids=["simulate", "detect", "data-make-hits", "data-make-esr", "compile", "infer",
        "train", "board-check", "board-calibrate"])
def test_a_read_only_output_is_one_line_before_any_work(argv, option, tmp_path, capsys,
                                                        read_only, no_work):
    argv = [a.replace("{d}", str(tmp_path / "ro")) for a in argv]
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert f"{option} {tmp_path / 'ro'}" in err and "Read-only file system" in err
    assert not (tmp_path / "ro").exists()

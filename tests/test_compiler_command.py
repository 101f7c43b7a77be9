"""``attq-fpga compile`` refuses, before calibrating, what the user got wrong: a
full-precision model (unless ``--allow-fp``), a file that is not a model, an ``-o`` that
cannot be written or that is the model itself. Each refusal exits 2 and writes nothing."""

import pytest

from sw.cli import main
from sw.program.file import load
from testsupport.bundled import MODELS

FP_MODEL = MODELS["mnist"][0].parent / "mnist_fp.pt"


@pytest.fixture
def no_calibration(monkeypatch):
    """Compiling would fail the test: every refusal here must come before it."""
    from sw.compiler import compiler

    def compile_saved(*args, **kwargs):
        raise AssertionError("compiled before the refusal")
    monkeypatch.setattr(compiler, "compile_saved", compile_saved)


def _refused(argv, capsys):
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2, err
    return err


def test_a_full_precision_model_is_refused_naming_the_option(tmp_path, capsys,
                                                             no_calibration):
    out = tmp_path / "fp.attq"
    err = _refused(["compile", str(FP_MODEL), "-o", str(out)], capsys)
    assert f"{FP_MODEL}: no layer of this model is quantized" in err
    assert "field 'quant.method' = 'fp'" in err
    assert "pass --allow-fp" in err and "nothing written" in err
    assert not out.exists()


def test_allow_fp_compiles_it_to_an_all_int8_program(tmp_path, capsys):
    out = tmp_path / "fp.attq"
    assert main(["compile", str(FP_MODEL), "-o", str(out), "--allow-fp",
                 "--calibration-samples", "16"]) == 0
    modes = [op.mode for op in load(out).engine_layers]
    # The MNIST CNN: two convolutions and two dense layers, none ternary.
    assert modes == ["dense"] * 4


def test_a_program_given_as_the_model_is_named_so(tmp_path, capsys, no_calibration):
    out = tmp_path / "x.attq"
    err = _refused(["compile", str(MODELS["mnist"][1]), "-o", str(out)], capsys)
    assert "this is a compiled program (.attq); it is already compiled" in err
    assert not out.exists()


def test_a_recording_given_as_the_model_is_named_so(tmp_path, capsys, no_calibration):
    wav = MODELS["hits"][0].parent.parent / "data" / "example" / "tcd-example.wav"
    err = _refused(["compile", str(wav), "-o", str(tmp_path / "x.attq")], capsys)
    assert f"{wav}: not a saved attq-fpga model (.pt): this is a WAV recording" in err


def test_an_output_that_cannot_be_written_is_refused_first(tmp_path, capsys,
                                                           no_calibration):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    out = blocker / "x.attq"
    # The wording is sw.atomic.check_output's (tests/test_atomic.py); here: the option
    # and what is in the way are named, before any compiling.
    err = _refused(["compile", str(MODELS["mnist"][0]), "-o", str(out)], capsys)
    assert f"-o {out}: cannot create" in err and f"{blocker} is not a" in err
    folder = tmp_path / "folder"
    folder.mkdir()
    err = _refused(["compile", str(MODELS["mnist"][0]), "-o", str(folder)], capsys)
    assert f"-o {folder}: {folder} is a" in err


def test_an_output_that_is_the_model_is_refused(tmp_path, capsys, no_calibration):
    model = tmp_path / "m.pt"
    model.write_bytes(MODELS["mnist"][0].read_bytes())
    err = _refused(["compile", str(model), "-o", str(tmp_path / "." / "m.pt")], capsys)
    assert "is the model file itself" in err
    assert model.read_bytes() == MODELS["mnist"][0].read_bytes()
